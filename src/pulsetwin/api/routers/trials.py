"""Registered field trials and their analyses, as the log holds them: analysts, auditors and admins read them
(viewers do not); every read is logged."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from pulsetwin.api.deps import BackendDep, Reader
from pulsetwin.api.schemas.responses import ErrorOut, TrialOut, TrialSummaryOut
from pulsetwin.api.services import trials

router = APIRouter(prefix="/trials", tags=["trials"])
# The rule of pulsetwin.trials.design.NAME, spelled out: importing the trials package here would load its
# statistics stack at server start (the test checks the two agree).
TrialId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
ERRORS: dict[int | str, dict[str, object]] = {401: {"model": ErrorOut}, 403: {"model": ErrorOut}}


@router.get("", responses=ERRORS)
def list_trials(backend: BackendDep, user: Reader) -> list[TrialSummaryOut]:
    """Every registered trial: its latest version, design, units, power and whether it was analysed."""
    return [TrialSummaryOut.model_validate(t) for t in trials.list_trials(backend, user.username)]


@router.get("/{trial_id}", responses={**ERRORS, 404: {"model": ErrorOut}})
def get_trial(trial_id: TrialId, backend: BackendDep, user: Reader) -> TrialOut:
    """The pre-registration summary, the allocation counts and the latest analysis of the registered version
    (rate ratio with its interval, randomisation p-value, WDQ, every deviation)."""
    return TrialOut.model_validate(trials.trial_detail(backend, trial_id, user.username))
