"""The shared design of the count models: a pooled baseline GLM, empirical-Bayes area levels and leakage-safe
history features (the Newton solvers are in :mod:`pulsetwin.models.poisson`, the held-out choice of the
penalties in :mod:`pulsetwin.models.penalties`).

Per category, in two stages:

1. *Baseline*: ``log e[a, t] = b0 + z_a . beta + f_t . gamma`` (covariates, annual Fourier terms, trend), a
   pooled Poisson GLM over all areas and periods. Its design is separable (area part + period part), so the Newton
   step is assembled from (areas x periods) arrays without ever building a (areas * periods) design matrix.
2. *History features* at a cutoff ``c`` (counts strictly before ``c`` only): the empirical-Bayes area level
   ``log theta = log((alpha + sum y) / (alpha + sum e))`` (sums discounted with a half-life, older periods
   weighing less) with ``alpha`` the Gamma prior size fitted by
   marginal (negative-binomial) likelihood over area totals, recent own and neighbouring counts relative to
   what the area level expects, and the neighbours' long-run level.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
from scipy import sparse

from pulsetwin.exceptions import Location, ParameterError, SchemaError, bad_parameter
from pulsetwin.features.calendar import fourier_terms, trend
from pulsetwin.features.covariates import covariate_matrix
from pulsetwin.features.lags import discounted_sums, shrunk_log_ratio, window_sums
from pulsetwin.features.panel import Panel
from pulsetwin.features.spatial import has_geometry, neighbour_matrix, spatial_lag
from pulsetwin.models.base import History
from pulsetwin.models.common import SEASON
from pulsetwin.models.intervals import fit_nb_size
from pulsetwin.models.poisson import ETA_LIMIT, fit_separable_poisson
from pulsetwin.schema.params import Boolean, Integer, NoneOr, Number, Rules, TupleOf
from pulsetwin.schema.periods import Freq
from pulsetwin.schema.tables import DRIVER_GROUPS


@dataclass(frozen=True)
class HistoryFeatures:
    """Features at each cutoff: ``values`` (areas, cutoffs, features) named by ``names``; ``level`` is the
    empirical-Bayes log area level (also the first feature)."""

    names: tuple[str, ...]
    values: np.ndarray

    @property
    def level(self) -> np.ndarray:
        """log theta, shape (areas, cutoffs)."""
        return self.values[..., 0]


def history_features(
    counts: np.ndarray,
    expected: np.ndarray,
    cutoffs: np.ndarray,
    *,
    alpha: float,
    windows: Sequence[int],
    neighbours: sparse.csr_matrix | None,
    neighbour_windows: Sequence[int],
    others: AreaRecent | None = None,
    halflife: float = math.inf,
) -> HistoryFeatures:
    """History features of one category from ``counts`` and baseline ``expected`` (both areas x periods) before
    each cutoff: ``level``, ``recent_<k>`` per window, with ``others`` (:func:`area_recent` over the same
    windows) ``area_recent_<k>`` (the other categories' recent excess in the area), and with neighbours
    ``nb_level`` and ``nb_recent_<k>``. The levels weigh older periods less with ``halflife`` (periods,
    :func:`eb_level`).

    Notes
    -----
    Area levels are Poisson-Gamma empirical-Bayes relative risks (Clayton & Kaldor 1987); recent ratios measure
    short-lived excess such as near-repeat victimisation (Bowers, Johnson & Pease 2004) in the area and around
    it; an area's shift shared by its crime types shows first in the other types' recent counts.
    """
    expected_obs = np.where(np.isnan(counts), np.nan, expected)
    total_y, total_e, level = eb_level(counts, expected, cutoffs, alpha, halflife)
    theta = np.exp(level)
    names, columns = ["level"], [level]
    own = {}
    for k in windows:
        own[k] = area_recent_parts(counts, expected, level, cutoffs, k)
        names.append(f"recent_{k}")
        columns.append(shrunk_log_ratio(*own[k], 1.0))
    if others is not None:
        if others.windows != tuple(windows):
            must = f"area_recent sums over the windows {tuple(windows)}"
            raise bad_parameter("others", "history_features", must, others.windows)
        for k, all_y, all_e in zip(others.windows, others.observed, others.expected, strict=True):
            own_y, own_e = own[k]
            names.append(f"area_recent_{k}")
            columns.append(shrunk_log_ratio(all_y - own_y, np.maximum(all_e - own_e, 0.0), 1.0))
    if neighbours is not None:
        names.append("nb_level")
        columns.append(
            shrunk_log_ratio(spatial_lag(neighbours, total_y), spatial_lag(neighbours, total_e), alpha)
        )
        for k in neighbour_windows:
            recent_y, _ = window_sums(counts, cutoffs, k)
            recent_e, _ = window_sums(expected_obs, cutoffs, k)
            names.append(f"nb_recent_{k}")
            columns.append(
                shrunk_log_ratio(
                    spatial_lag(neighbours, recent_y), spatial_lag(neighbours, theta * recent_e), 1.0
                )
            )
    return HistoryFeatures(tuple(names), np.stack(columns, axis=-1))


def eb_level(
    counts: np.ndarray, expected: np.ndarray, cutoffs: np.ndarray, alpha: float, halflife: float = math.inf
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observed and expected totals before each cutoff, discounted with ``halflife`` periods
    (:func:`pulsetwin.features.lags.discounted_sums`; ``inf``: every period alike), and the empirical-Bayes log
    area level from them."""
    total_y, _ = discounted_sums(counts, cutoffs, halflife)
    total_e, _ = discounted_sums(np.where(np.isnan(counts), np.nan, expected), cutoffs, halflife)
    return total_y, total_e, shrunk_log_ratio(total_y, total_e, alpha)


@dataclass(frozen=True)
class AreaRecent:
    """Recent counts and level-adjusted baseline expectations per window, summed over every category, each
    (areas, cutoffs)."""

    windows: tuple[int, ...]
    observed: tuple[np.ndarray, ...]
    expected: tuple[np.ndarray, ...]


def area_recent_parts(
    counts: np.ndarray, expected: np.ndarray, level: np.ndarray, cutoffs: np.ndarray, window: int
) -> tuple[np.ndarray, np.ndarray]:
    """One category's recent counts and its level-adjusted expectation over ``window`` before each cutoff."""
    recent_y, _ = window_sums(counts, cutoffs, window)
    recent_e, _ = window_sums(np.where(np.isnan(counts), np.nan, expected), cutoffs, window)
    return recent_y, np.exp(level) * recent_e


def area_recent(
    counts: np.ndarray,
    bases: Sequence[Baseline],
    cutoffs: np.ndarray,
    windows: Sequence[int],
    halflife: float = math.inf,
) -> AreaRecent:
    """:class:`AreaRecent` of ``counts`` (areas, categories, periods) and each category's baseline (levels
    discounted with ``halflife``, as in :func:`history_features`)."""
    observed = [np.zeros((counts.shape[0], cutoffs.size)) for _ in windows]
    expected = [np.zeros((counts.shape[0], cutoffs.size)) for _ in windows]
    for c, base in enumerate(bases):
        y = counts[:, c, :]
        mu = base.expected[:, : y.shape[1]]
        level = eb_level(y, mu, cutoffs, base.alpha, halflife)[2]
        for i, k in enumerate(windows):
            part_y, part_e = area_recent_parts(y, mu, level, cutoffs, k)
            observed[i] += part_y
            expected[i] += part_e
    return AreaRecent(tuple(windows), tuple(observed), tuple(expected))


GROUPS = ("usual", *DRIVER_GROUPS)
"""Driver groups of a forecast on the log scale; ``usual`` is the area's own long-run level."""


def feature_group(name: str) -> str:
    """The driver group of a history feature or covariate name."""
    if name.startswith(("recent_", "area_recent_")):
        return "recent"
    if name.startswith("nb_recent_"):
        return "neighbours"
    if name.startswith("season_"):
        return "season"
    if name == "trend":
        return "trend"
    return "usual"


@dataclass(frozen=True)
class Baseline:
    """Stage 1 of one category: coefficients, expected counts over history and future periods, EB prior
    size."""

    area_coef: np.ndarray
    period_coef: np.ndarray
    expected: np.ndarray
    alpha: float


def fit_baseline(counts: np.ndarray, area_x: np.ndarray, period_x: np.ndarray, *, ridge: float) -> Baseline:
    """Fit the pooled baseline GLM on the history part of ``period_x`` (its first ``counts.shape[1]`` rows) and
    the EB prior size of the area levels; ``expected`` covers every row of ``period_x``."""
    n_t = counts.shape[1]
    beta, gamma = fit_separable_poisson(counts, area_x, period_x[:n_t], ridge=ridge)
    expected = np.exp(np.clip((area_x @ beta)[:, None] + (period_x @ gamma)[None, :], -ETA_LIMIT, ETA_LIMIT))
    has_data = (~np.isnan(counts)).any(axis=1)
    totals_y, totals_e = area_totals(counts, expected[:, :n_t])
    return Baseline(beta, gamma, expected, fit_nb_size(totals_y[has_data], totals_e[has_data]))


def area_totals(counts: np.ndarray, expected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Observed and baseline-expected totals per area over the periods whose count is known."""
    observed = ~np.isnan(counts)
    return np.where(observed, counts, 0.0).sum(axis=1), np.where(observed, expected, 0.0).sum(axis=1)


@dataclass(frozen=True)
class CountDesign:
    """What every category shares: area design (intercept + covariates), period terms, neighbour matrix."""

    area_x: np.ndarray
    covariate_names: tuple[str, ...]
    fourier_order: int
    use_trend: bool
    freq: Freq
    origin: pd.Timestamp
    neighbours: sparse.csr_matrix | None

    @property
    def period_names(self) -> tuple[str, ...]:
        """Names of the period terms: ``season_sin_k``, ``season_cos_k`` and ``trend``."""
        k = range(1, self.fourier_order + 1)
        names = [f"season_sin_{i}" for i in k] + [f"season_cos_{i}" for i in k]
        return (*names, "trend") if self.use_trend else tuple(names)

    def period_x(self, periods: pd.DatetimeIndex) -> np.ndarray:
        """Period terms for ``periods`` (rows) in :attr:`period_names` order."""
        parts = [fourier_terms(periods, self.freq, self.fourier_order)]
        if self.use_trend:
            parts.append(trend(periods, self.origin)[:, None])
        return np.concatenate(parts, axis=1)


def build_design(
    panel: Panel,
    history: History,
    origin: pd.Timestamp,
    *,
    fourier_order: int,
    use_trend: bool,
    spatial: bool,
    island_k: int,
) -> CountDesign:
    """Assemble the shared design. Seasonal terms need a history of at least one year (``fourier_order`` drops
    to 0 otherwise: a cycle cannot be estimated from part of it); ``spatial`` needs ``history.areas``
    and is left out when they carry no geometry."""
    covariates = covariate_matrix(history.covariates, list(panel.areas), origin)
    area_x = np.column_stack([np.ones(len(panel.areas)), covariates.values])
    order = fourier_order if len(panel.periods) >= SEASON[history.freq] else 0
    neighbours = None
    if spatial and has_geometry(history.areas, list(panel.areas)):  # names-only areas: no spatial features
        if history.areas is None:
            raise ParameterError(
                "spatial features need history.areas (geometry as WKT in EPSG:28992). Got no areas. "
                "Fix: pass the areas table in the History, or build the model with spatial=False."
            )
        neighbours = neighbour_matrix(history.areas, list(panel.areas), island_k=island_k)
    return CountDesign(area_x, covariates.names, order, use_trend, history.freq, origin, neighbours)


def require_observed(panel: Panel, owner: str) -> None:
    """Refuse categories without a single observed count: nothing can be learned about them."""
    empty = ~panel.observed.any(axis=(0, 2))
    if empty.any():
        names = ", ".join(str(c) for c in panel.categories[np.flatnonzero(empty)][:5])
        raise SchemaError(
            f"{owner} needs at least one known count per category; all counts of {names} are withheld",
            where=Location(file="history.incidents", column="count"),
            fix="drop these categories from the history or supply their counts",
        )


COUNT_RULES: Final[Rules] = {
    "fourier_order": Integer(low=0),
    "trend": Boolean(),
    "windows": NoneOr(TupleOf(Integer(low=1))),
    "neighbour_windows": NoneOr(TupleOf(Integer(low=1))),
    "spatial": Boolean(),
    "ridge": Number(low=0, closed="neither"),
    "train_periods": NoneOr(Integer(low=1)),
    "island_k": Integer(low=1),
    "level_halflife": NoneOr(Number(low=0, closed="neither", say="a number of years > 0 (inf: no discount)")),
}
"""Parameter rules shared by the GLM and boosting models (the baseline and its features)."""


WINDOWS: dict[str, tuple[int, ...]] = {"W": (1, 4, 13), "M": (1, 3, 6)}
"""Default own-count windows (periods before the cutoff)."""
NEIGHBOUR_WINDOWS: dict[str, tuple[int, ...]] = {"W": (1, 4), "M": (1, 3)}
"""Default neighbour-count windows."""


def training_cutoffs(n_periods: int, steps: int, train_periods: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """All cutoffs needed (``c_min .. n_periods``) and, per step ``h``, the training targets
    ``s in [max(h, n - train_periods), n)`` whose features sit at cutoff ``s - h + 1``."""
    targets = [np.arange(max(h, n_periods - train_periods), n_periods) for h in range(1, steps + 1)]
    low = min((int(t[0]) - h + 1 for h, t in enumerate(targets, start=1) if t.size), default=n_periods)
    return np.arange(low, n_periods + 1), targets
