"""Shared machinery of the area count models: fit on a dense panel, predict NB quantiles, emit canonical
rows."""

from __future__ import annotations

from abc import abstractmethod
from typing import Final

import numpy as np
import pandas as pd

from pulsetwin.exceptions import ParameterTypeError, bad_parameter
from pulsetwin.features.panel import Panel, build_panel
from pulsetwin.models.base import History, Model, check_horizon, future_periods
from pulsetwin.models.intervals import nb_quantiles
from pulsetwin.schema.params import Rule, Text, check_param
from pulsetwin.schema.periods import Freq
from pulsetwin.schema.tables import FORECASTS

SEASON: Final[dict[str, int]] = {freq: freq.periods_per_year for freq in Freq}
"""Periods per year (:attr:`~pulsetwin.schema.periods.Freq.periods_per_year`)."""
STEPS: Final[dict[str, int]] = {"W": 4, "M": 3}
"""Forecast steps that get their own coefficients and dispersion; later steps reuse the last one."""
RUN_ID: Final[Rule] = Text(say="a non-empty string")
"""What ``predict(run_id=...)`` takes."""


def check_history(history: History, owner: str) -> pd.Timestamp:
    """Refuse a history whose type, freq or origin is unusable; return the origin as a Timestamp."""
    if not isinstance(history, History):
        raise ParameterTypeError(
            f"The 'history' parameter of {owner}.fit must be a pulsetwin.models.base.History. "
            f"Got {type(history).__name__} instead."
        )
    if history.freq not in SEASON:
        raise bad_parameter("history.freq", owner, "'W' or 'M'", history.freq)
    origin = pd.Timestamp(history.origin)
    aligned = origin.day_of_week == 0 if history.freq == "W" else origin.day == 1
    if not aligned or origin != origin.normalize():
        must = "a Monday" if history.freq == "W" else "the 1st of a month"
        raise bad_parameter("history.origin", owner, f"{must} at midnight for freq '{history.freq}'", origin)
    return origin


def forecast_frame(
    panel: Panel,
    periods: pd.DatetimeIndex,
    mean: np.ndarray,
    quantiles: np.ndarray,
    *,
    run_id: str,
    model: str,
) -> pd.DataFrame:
    """Canonical forecasts for every seen (area, category) pair and period; ``mean`` is (areas, categories,
    h),
    ``quantiles`` (3, areas, categories, h) for q05, q50, q95."""
    ai, ci = np.nonzero(panel.seen)
    h = len(periods)
    n = ai.size * h
    frame = pd.DataFrame(
        {
            "run_id": np.full(n, run_id, dtype=object),
            "model": np.full(n, model, dtype=object),
            "area_code": np.repeat(panel.areas.to_numpy(dtype=object)[ai], h),
            "category": np.repeat(panel.categories.to_numpy(dtype=object)[ci], h),
            "period_start": np.tile(periods.to_numpy(dtype="datetime64[ns]"), ai.size),
            "mean": mean[ai, ci, :].ravel().astype(float),
            "q05": quantiles[0][ai, ci, :].ravel().astype(float),
            "q50": quantiles[1][ai, ci, :].ravel().astype(float),
            "q95": quantiles[2][ai, ci, :].ravel().astype(float),
        }
    )
    return frame[list(FORECASTS.column_names)]


class PanelModel(Model):
    """A model fitted on a :class:`~pulsetwin.features.panel.Panel`; predictive distribution NB2 per category
    and step, with the size learned in ``_fit_panel``."""

    size_: np.ndarray

    @abstractmethod
    def _fit_panel(self, panel: Panel, history: History) -> None:
        """Learn state (attributes ending in ``_``), including ``size_`` of shape (categories, steps)."""

    @abstractmethod
    def _predict_mean(self, horizon: int) -> np.ndarray:
        """Mean forecasts of shape (areas, categories, horizon)."""

    def fit(self, history: History) -> PanelModel:
        """Build the panel of ``history`` and learn from it; returns ``self``."""
        self._check_params()
        origin = check_history(history, type(self).__name__)
        panel = build_panel(history.incidents, history.freq, origin)
        self._fit_panel(panel, history)
        self.panel_ = panel
        self.freq_: Freq = history.freq
        self.origin_ = origin
        return self

    def predict(self, horizon: int, *, run_id: str = "adhoc") -> pd.DataFrame:
        """Mean and NB quantiles for every seen (area, category) and the ``horizon`` periods from the
        origin."""
        self._check_fitted()
        check_horizon(horizon, type(self).__name__)
        check_param("run_id", type(self).__name__, RUN_ID, run_id)
        mean = self._predict_mean(horizon)
        steps = np.minimum(np.arange(horizon), self.size_.shape[1] - 1)
        quantiles = nb_quantiles(mean, self.size_[None, :, steps])
        periods = future_periods(self.origin_, self.freq_, horizon)
        return forecast_frame(self.panel_, periods, mean, quantiles, run_id=run_id, model=self.name)
