"""Feedback-loop and scenario results: runs of those kinds and scenario documents."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from pulsetwin.api.deps import AnyUser, BackendDep, SettingsDep
from pulsetwin.api.routers.results import one_result, result_page
from pulsetwin.api.schemas.requests import Paging
from pulsetwin.api.schemas.responses import ErrorOut, Page, ResultOut

router = APIRouter(prefix="/scenarios", tags=["scenarios"])
ResultId = Annotated[str, Path(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9_.:\-/]+$")]
ERRORS: dict[int | str, dict[str, object]] = {401: {"model": ErrorOut}, 404: {"model": ErrorOut}}


@router.get("", responses=ERRORS)
def list_scenarios(
    query: Annotated[Paging, Query()], backend: BackendDep, settings: SettingsDep, user: AnyUser
) -> Page[ResultOut]:
    """Feedback-loop and scenario results, newest runs first, then scenario documents."""
    return result_page(backend, settings, "scenarios", query.limit, query.offset)


@router.get("/{result_id:path}", responses=ERRORS)
def get_scenario(result_id: ResultId, backend: BackendDep, settings: SettingsDep, user: AnyUser) -> ResultOut:
    """One feedback-loop or scenario result."""
    return one_result(backend, settings, "scenarios", result_id)
