"""Admin: users, and the kill switch that withdraws a run's forecasts (logged both ways)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from pulsetwin.api.deps import Admin, BackendDep
from pulsetwin.api.schemas.requests import KillSwitchIn, LiftIn
from pulsetwin.api.schemas.responses import ErrorOut, KillSwitchOut, UserOut
from pulsetwin.api.services import runs, users

router = APIRouter(prefix="/admin", tags=["admin"])
ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}
}  # fmt: skip
RunId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")]


@router.get("/users", responses=ERRORS)
def list_users(backend: BackendDep, user: Admin) -> list[UserOut]:
    """Every user and role."""
    return [
        UserOut(username=u.username, role=u.role.value, created_at=u.created_at)
        for u in users.list_users(backend)
    ]


@router.get("/kill-switches", responses=ERRORS)
def list_kill_switches(backend: BackendDep, user: Admin) -> list[KillSwitchOut]:
    """Every withdrawn run."""
    return [KillSwitchOut.model_validate(k) for k in runs.list_kill_switches(backend)]


@router.post("/kill-switches", status_code=201, responses={**ERRORS, 409: {"model": ErrorOut}})
def create_kill_switch(body: KillSwitchIn, backend: BackendDep, user: Admin) -> KillSwitchOut:
    """Stop serving a run's forecasts (answers 451 until lifted)."""
    return KillSwitchOut.model_validate(runs.withdraw(backend, body.run_id, body.reason, user.username))


@router.post("/kill-switches/{run_id}/lift", status_code=204, responses=ERRORS)
def lift_kill_switch(run_id: RunId, body: LiftIn, backend: BackendDep, user: Admin) -> Response:
    """Serve a withdrawn run's forecasts again."""
    runs.lift(backend, run_id, body.reason, user.username)
    return Response(status_code=204)
