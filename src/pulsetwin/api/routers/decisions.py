"""Human decisions on flagged areas: list (everyone) and record (analysts and admins; reason required)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from pulsetwin.api.deps import Analyst, AnyUser, BackendDep
from pulsetwin.api.schemas.requests import DecisionFilter, DecisionIn
from pulsetwin.api.schemas.responses import DecisionOut, ErrorOut, Page
from pulsetwin.api.services import decisions

router = APIRouter(prefix="/decisions", tags=["decisions"])
ERRORS: dict[int | str, dict[str, object]] = {401: {"model": ErrorOut}, 404: {"model": ErrorOut}}


@router.get("", responses=ERRORS)
def list_decisions(
    query: Annotated[DecisionFilter, Query()], backend: BackendDep, user: AnyUser
) -> Page[DecisionOut]:
    """Decisions, newest first."""
    items, total = decisions.list_decisions(backend, query.run_id, query.area_code, query.limit, query.offset)
    return Page[DecisionOut](
        items=[DecisionOut.model_validate(i) for i in items],
        total=total,
        limit=query.limit,
        offset=query.offset,
    )


@router.post("", status_code=201, responses={**ERRORS, 403: {"model": ErrorOut}})
def create_decision(body: DecisionIn, backend: BackendDep, user: Analyst) -> DecisionOut:
    """Record accept / reject / annotate on an area of a run, with its reason; written to the log."""
    return DecisionOut.model_validate(
        decisions.record_decision(
            backend, user.username, body.run_id, body.area_code, body.action, body.reason
        )
    )
