"""Audit results (fairness, proxies, privacy): aggregates only; per-area protected values stay in /areas."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query

from pulsetwin.api.deps import AnyUser, BackendDep, SettingsDep
from pulsetwin.api.routers.results import one_result, result_page
from pulsetwin.api.schemas.requests import Paging
from pulsetwin.api.schemas.responses import AuditSummaryOut, ErrorOut, Page, ResultOut
from pulsetwin.api.services.forecasts import preferred_language
from pulsetwin.api.services.statuses import audit_summary

router = APIRouter(prefix="/audits", tags=["audits"])
ResultId = Annotated[str, Path(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9_.:\-/]+$")]
ERRORS: dict[int | str, dict[str, object]] = {401: {"model": ErrorOut}, 404: {"model": ErrorOut}}


@router.get("", responses=ERRORS)
def list_audits(
    query: Annotated[Paging, Query()], backend: BackendDep, settings: SettingsDep, user: AnyUser
) -> Page[ResultOut]:
    """Audit results, newest runs first, then audit documents."""
    return result_page(backend, settings, "audits", query.limit, query.offset)


@router.get("/summary/{run_id}", responses=ERRORS)
def get_audit_summary(
    run_id: Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")],
    backend: BackendDep,
    user: AnyUser,
    accept_language: Annotated[str | None, Header()] = None,
) -> AuditSummaryOut:
    """The latest audit of forecast run ``run_id`` in plain words (Accept-Language: nl or en, Dutch by default):
    the finding first, then disparity, proxies, measurement bias and mitigations, and exposure per group."""
    lang = preferred_language(accept_language)
    return AuditSummaryOut.model_validate(audit_summary(backend, run_id, lang))


@router.get("/{result_id:path}", responses=ERRORS)
def get_audit(result_id: ResultId, backend: BackendDep, settings: SettingsDep, user: AnyUser) -> ResultOut:
    """One audit result."""
    return one_result(backend, settings, "audits", result_id)
