"""What a forecast run keeps for its audit: the chosen model's forecasts at the last backtest fold.

A forecast of the future cannot be compared with outcomes yet, so the release gate judges the run on its last
backtest fold: the same model (same class and parameters), the same categories and horizon, fitted on the
data before that fold's origin. Making those forecasts here, when the run is made and the model is at hand,
lets the audit read them from the store (:mod:`pulsetwin.store.fold_forecasts`) instead of rebuilding the
model from its recorded parameters and refitting it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from pulsetwin.evaluation.backtest import BacktestResult
from pulsetwin.exceptions import StoreError
from pulsetwin.models.base import History, Model
from pulsetwin.store.fold_forecasts import COLUMNS


def last_fold_forecasts(
    model: Model,
    frames: Mapping[str, pd.DataFrame],
    result: BacktestResult,
    *,
    categories: Sequence[str] | None,
    run_id: str,
) -> pd.DataFrame:
    """A fresh copy of ``model`` fitted at ``result``'s last fold origin, forecasting ``result.horizon``
    periods: rows of :data:`pulsetwin.store.fold_forecasts.COLUMNS` for ``run_id``.

    ``frames`` are the run's frames (incidents before the forecast origin); the fold's history is cut from
    them at the fold origin, as in the backtest.

    Raises
    ------
    StoreError
        When the backtest has no folds (the run would have nothing the audit could judge it on).
    """
    if not result.folds:
        raise StoreError(f"run '{run_id}' has no backtest folds to keep forecasts of")
    origin = result.folds[-1].origin
    history = History.from_frames(frames, origin=origin, freq=result.freq, categories=categories)
    fresh = type(model)(**model.get_params())
    forecast = fresh.fit(history).predict(result.horizon, run_id=f"audit-{run_id}")
    return forecast.assign(run_id=run_id, origin=origin)[list(COLUMNS)]
