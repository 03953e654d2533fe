"""The oracle: on twin data it knows the true expected recorded count, the best any forecaster could do.

It exists to measure how much of the gap between the best naive baseline and perfect knowledge a model closes.
It reads the future by design, so it lives in evaluation only and is never offered for a forecast run.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from pulsetwin.exceptions import SchemaError, bad_parameter
from pulsetwin.models.base import History, Model, check_horizon, future_periods
from pulsetwin.schema.tables import FORECASTS

ORACLE_NAME = "oracle"


class Oracle(Model):
    """Forecast ``truth.intensity`` as the mean with Poisson quantiles (recorded counts are Poisson given it).

    Parameters
    ----------
    truth
        The twin's canonical truth table (``area_code, category, period_start, intensity[, freq, ...]``).

    Notes
    -----
    The Bayes-optimal forecaster under a Poisson observation model: Gneiting & Raftery (2007), JASA 102(477).
    """

    name: ClassVar[str] = ORACLE_NAME

    def __init__(self, *, truth: pd.DataFrame) -> None:
        self.truth = truth

    def fit(self, history: History) -> Oracle:
        """Remember the origin, freq and the (area, category) pairs of the history."""
        missing = {"area_code", "category", "period_start", "intensity"} - set(self.truth.columns)
        if missing:
            raise SchemaError(
                f"the truth table lacks column(s) {sorted(missing)}",
                fix="pass the canonical truth table of a twin",
            )
        self.origin_ = history.origin
        self.freq_ = history.freq
        self.pairs_ = history_pairs(history.incidents)
        return self

    def predict(self, horizon: int, *, run_id: str = "adhoc") -> pd.DataFrame:
        """Truth rows of the fitted pairs over the ``horizon`` periods from the origin."""
        self._check_fitted()
        check_horizon(horizon, "Oracle.predict")
        periods = future_periods(self.origin_, self.freq_, horizon)
        keep = self.truth["period_start"].isin(periods)
        if "freq" in self.truth.columns:
            keep &= self.truth["freq"] == self.freq_
        truth = self.truth[keep]
        out = self.pairs_.merge(truth[["area_code", "category", "period_start", "intensity"]], how="inner")
        expected = len(self.pairs_) * horizon
        if len(out) != expected:
            raise bad_parameter(
                "truth",
                "Oracle",
                f"an intensity for every (area, category) of the history in each of the {horizon} periods "
                f"from {self.origin_.date()} (freq {self.freq_}): {expected} rows",
                f"{len(out)} rows",
            )
        return poisson_rows(out, run_id=run_id, model=self.name)


def history_pairs(incidents: pd.DataFrame) -> pd.DataFrame:
    """The distinct ``area_code, category`` pairs of incidents, as text (categorical columns decoded)."""
    pairs = incidents[["area_code", "category"]].drop_duplicates()
    return pairs.astype(
        {k: pairs[k].cat.categories.dtype for k in pairs if isinstance(pairs[k].dtype, pd.CategoricalDtype)}
    )


def poisson_rows(frame: pd.DataFrame, *, run_id: str, model: str) -> pd.DataFrame:
    """Forecast rows whose mean is the frame's ``intensity`` and whose quantiles are Poisson: the oracles'
    predictive distribution (the true expected count, with only Poisson noise left)."""
    mean = frame["intensity"].to_numpy(dtype=np.float64)
    out = frame.assign(
        run_id=run_id,
        model=model,
        mean=mean,
        q05=stats.poisson.ppf(0.05, mean),
        q50=stats.poisson.ppf(0.5, mean),
        q95=stats.poisson.ppf(0.95, mean),
    )
    return out[list(FORECASTS.column_names)].reset_index(drop=True)
