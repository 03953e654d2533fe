"""The evidence behind a run: skill against naive baselines with intervals, PAI, calibration."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path

from pulsetwin.api.deps import AnyUser, BackendDep
from pulsetwin.api.schemas.responses import ErrorOut, EvidenceOut
from pulsetwin.api.services import evidence, forecasts

router = APIRouter(prefix="/evidence", tags=["evidence"])
RunId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")]


@router.get("/{run_id}", responses={401: {"model": ErrorOut}, 404: {"model": ErrorOut}})
def get_evidence(
    run_id: RunId, backend: BackendDep, user: AnyUser, accept_language: Annotated[str | None, Header()] = None
) -> EvidenceOut:
    """Backtest scores per model, skill with its interval, PAI by area fraction, calibration and the run's
    skill and release status (sentences in the Accept-Language language) of a run."""
    lang = forecasts.preferred_language(accept_language)
    return EvidenceOut.model_validate(evidence.run_evidence(backend, run_id, lang))
