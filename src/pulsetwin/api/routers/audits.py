"""Audit results (fairness, proxies, privacy): aggregates only; per-area protected values stay in /areas."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from pulsetwin.api.deps import AnyUser, BackendDep, SettingsDep
from pulsetwin.api.routers.results import one_result, result_page
from pulsetwin.api.schemas.requests import Paging
from pulsetwin.api.schemas.responses import ErrorOut, Page, ResultOut

router = APIRouter(prefix="/audits", tags=["audits"])
ResultId = Annotated[str, Path(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9_.:\-/]+$")]
ERRORS: dict[int | str, dict[str, object]] = {401: {"model": ErrorOut}, 404: {"model": ErrorOut}}


@router.get("", responses=ERRORS)
def list_audits(
    query: Annotated[Paging, Query()], backend: BackendDep, settings: SettingsDep, user: AnyUser
) -> Page[ResultOut]:
    """Audit results, newest runs first, then audit documents."""
    return result_page(backend, settings, "audits", query.limit, query.offset)


@router.get("/{result_id:path}", responses=ERRORS)
def get_audit(result_id: ResultId, backend: BackendDep, settings: SettingsDep, user: AnyUser) -> ResultOut:
    """One audit result."""
    return one_result(backend, settings, "audits", result_id)
