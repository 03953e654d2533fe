"""Naive baselines every forecast must beat: last value, seasonal naive, moving mean, the mean of the last year,
historical mean.

Each rule is a function of the counts strictly before a cutoff. Where a rule is undefined for a pair (nothing
observed in its window, e.g. withheld counts or a short history) the forecast is the pair's historical mean,
then the category's mean over all areas, then 0: a documented rule, the same in backcasts and forecasts.
Intervals are NB2 with a size per category and step fitted on backcasts of the last year (rows whose backcast
is 0 carry no spread and are left out of that fit).
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar, Final

import numpy as np

from pulsetwin.features.lags import lag_values, last_observed, rolling_means, window_sums
from pulsetwin.features.panel import Panel
from pulsetwin.models.base import History
from pulsetwin.models.common import SEASON, STEPS, PanelModel
from pulsetwin.models.intervals import MAX_SIZE, fit_nb_size
from pulsetwin.schema.params import Integer, NoneOr, Rules
from pulsetwin.schema.periods import Freq

DEFAULT_K: Final[dict[str, int]] = {"W": 4, "M": 3}


def _fill(point: np.ndarray, counts: np.ndarray, cutoffs: np.ndarray) -> np.ndarray:
    """Replace undefined forecasts by the pair's historical mean, then the category mean, then 0."""
    sums, seen = window_sums(counts, cutoffs, None)
    hist = np.where(seen > 0, sums / np.maximum(seen, 1.0), np.nan)
    total, cells = sums.sum(axis=0, keepdims=True), seen.sum(axis=0, keepdims=True)
    pooled = np.where(cells > 0, total / np.maximum(cells, 1.0), 0.0)
    return np.where(np.isnan(point), np.where(np.isnan(hist), pooled, hist), point)


class NaiveModel(PanelModel):
    """A rule applied at the origin; ``_rule(counts, cutoffs, step, freq)`` forecasts target ``cutoff + step
    - 1``."""

    step_free = True
    """The rule does not depend on the step (one backcast serves every step)."""

    @abstractmethod
    def _rule(self, counts: np.ndarray, cutoffs: np.ndarray, step: int, freq: Freq) -> np.ndarray:
        """Forecasts (areas, categories, cutoffs) from counts before each cutoff; NaN where undefined."""

    def _fit_panel(self, panel: Panel, history: History) -> None:
        counts = panel.counts
        n_t = counts.shape[-1]
        steps = STEPS[history.freq]
        low = max(1, n_t - SEASON[history.freq] - steps + 1)
        cutoffs = np.arange(low, n_t)
        size = np.full((counts.shape[1], steps), MAX_SIZE)
        point = None
        for step in range(1, steps + 1):
            if point is None or not self.step_free:
                point = _fill(self._rule(counts, cutoffs, step, history.freq), counts, cutoffs)
            targets = cutoffs + step - 1
            usable = targets < n_t
            observed = counts[..., targets[usable]]
            predicted = point[..., usable]
            size[:, step - 1] = [fit_nb_size(observed[:, c], predicted[:, c]) for c in range(counts.shape[1])]
        self.size_ = size

    def _predict_mean(self, horizon: int) -> np.ndarray:
        counts = self.panel_.counts
        cutoff = np.array([counts.shape[-1]])
        steps = [
            _fill(self._rule(counts, cutoff, h, self.freq_), counts, cutoff) for h in range(1, horizon + 1)
        ]
        return np.concatenate(steps, axis=-1)


class LastValue(NaiveModel):
    """The last observed count of each pair, for every step."""

    name = "naive_last"

    def _rule(self, counts: np.ndarray, cutoffs: np.ndarray, step: int, freq: Freq) -> np.ndarray:
        return last_observed(counts, cutoffs)


class SeasonalNaive(NaiveModel):
    """The count of the same period one year earlier (52 weeks / 12 months), else earlier years.

    Notes
    -----
    Seasonal naive method (Hyndman & Athanasopoulos, *Forecasting: Principles and Practice*, 3rd ed., 5.2).
    """

    name = "naive_seasonal"
    step_free = False

    def _rule(self, counts: np.ndarray, cutoffs: np.ndarray, step: int, freq: Freq) -> np.ndarray:
        season = SEASON[freq]
        point = np.full((*counts.shape[:-1], len(cutoffs)), np.nan)
        years = -(-step // season)
        while years * season - step + 1 <= counts.shape[-1]:
            value = lag_values(counts, cutoffs, years * season - step + 1)
            point = np.where(np.isnan(point), value, point)
            years += 1
        return point


class MovingMean(NaiveModel):
    """The mean of the last ``k`` periods (observed ones only); ``k`` defaults to 4 weeks or 3 months."""

    name = "naive_mean_k"

    parameter_rules: ClassVar[Rules] = {"k": NoneOr(Integer(low=1))}

    def __init__(self, *, k: int | None = None) -> None:
        self.k = k

    def _rule(self, counts: np.ndarray, cutoffs: np.ndarray, step: int, freq: Freq) -> np.ndarray:
        return rolling_means(counts, cutoffs, self.k if self.k is not None else DEFAULT_K[freq])


class YearMean(NaiveModel):
    """The mean of the last year of periods (52 weeks / 12 months; observed ones only).

    Why: on real monthly crime counts with a drifting level, a year's mean is often the strongest naive rule
    (every season once, yet recent); a forecast must beat it, not only the shorter and the all-history means.
    """

    name = "naive_mean_year"

    def _rule(self, counts: np.ndarray, cutoffs: np.ndarray, step: int, freq: Freq) -> np.ndarray:
        return rolling_means(counts, cutoffs, SEASON[freq])


class HistoricalMean(NaiveModel):
    """The mean of all observed periods of each pair."""

    name = "naive_hist"

    def _rule(self, counts: np.ndarray, cutoffs: np.ndarray, step: int, freq: Freq) -> np.ndarray:
        return rolling_means(counts, cutoffs, None)
