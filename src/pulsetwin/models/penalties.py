"""Held-out choice of the count models' penalties: the baseline's ridge and the half-life of the area levels.

Each is chosen by forward validation on the last periods of the history (fitted on the periods before them),
never on anything at or after the origin.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from pulsetwin.features.lags import shrunk_log_ratio
from pulsetwin.models.common import SEASON
from pulsetwin.models.design import Baseline, area_totals, eb_level, fit_baseline
from pulsetwin.schema.periods import Freq

BASELINE_RIDGE_GRID = 10.0 ** np.arange(5)
"""Baseline ridge strengths tried, as multiples of the model's ``ridge``; held-out area levels pick one."""
LEVEL_VALID_PERIODS: dict[str, int] = {"W": 26, "M": 6}
"""Last periods held out to choose the baseline ridge (long enough for area levels to show)."""


def baseline_ridge_losses(
    counts: np.ndarray, area_x: np.ndarray, period_x: np.ndarray, *, ridge: float, valid: int
) -> np.ndarray | None:
    """Held-out loss of each baseline ridge in ``ridge * BASELINE_RIDGE_GRID``: the Poisson loss of the
    empirical-Bayes area forecasts for the last ``valid`` periods of ``counts`` (areas, periods), fitted on the
    periods before; None when the history is shorter than twice ``valid``; zeros (no preference) when no count
    is known before the held-out periods (nothing to fit the baseline on).

    Why: with many covariates and few areas the pooled baseline overfits the areas it was fitted on, the EB
    prior size then shrinks too hard toward it, and area levels (the largest part of the forecast error) suffer.
    The penalty is judged by what it is for: forecasting each area's level in periods it has not seen.

    Notes
    -----
    Forward validation of a penalty (Hastie, Tibshirani & Friedman 2009, 7.10); EB levels after Clayton &
    Kaldor (1987).
    """
    n_t = counts.shape[1]
    split = n_t - valid
    if split < valid:
        return None
    train, test = counts[:, :split], counts[:, split:]
    if np.isnan(train).all():
        return np.zeros(BASELINE_RIDGE_GRID.size)
    observed = ~np.isnan(test)
    y_test = np.where(observed, test, 0.0)
    loss = np.empty(BASELINE_RIDGE_GRID.size)
    for i, strength in enumerate(ridge * BASELINE_RIDGE_GRID):
        base = fit_baseline(train, area_x, period_x[:n_t], ridge=float(strength))
        total_y, total_e = area_totals(train, base.expected[:, :split])
        theta = np.exp(shrunk_log_ratio(total_y, total_e, base.alpha))
        mu = np.where(observed, base.expected[:, split:] * theta[:, None], 0.0)
        loss[i] = float(np.sum(mu - y_test * np.log(np.maximum(mu, 1e-300))))
    return loss


SELECT_AREAS = 2000
"""Areas (evenly spaced) whose held-out losses choose a penalty; one penalty needs no more (keeps national fits
fast)."""


def selection_subset(n_areas: int) -> np.ndarray:
    """Indices of at most :data:`SELECT_AREAS` evenly spaced areas, on which penalties are chosen."""
    return np.unique(np.linspace(0, n_areas - 1, min(n_areas, SELECT_AREAS)).astype(np.int64))


def choose_baseline_ridge(
    counts: np.ndarray, area_x: np.ndarray, period_x: np.ndarray, *, ridge: float, freq: Freq
) -> float:
    """One baseline ridge for every category of ``counts`` (areas, categories, periods): the held-out losses of
    :func:`baseline_ridge_losses` summed over categories (one choice from all of them is far less noisy than
    one per category); ``ridge`` when the history is too short to hold periods out.

    Beyond :data:`SELECT_AREAS` areas the choice is made on an evenly spaced subset and scaled by the number of
    areas, so the penalty keeps its weight relative to the likelihood.
    """
    n_a = counts.shape[0]
    subset = selection_subset(n_a)
    losses = [
        baseline_ridge_losses(
            counts[subset, c, :], area_x[subset], period_x, ridge=ridge, valid=LEVEL_VALID_PERIODS[freq]
        )
        for c in range(counts.shape[1])
    ]
    known = [loss for loss in losses if loss is not None]
    if len(known) < len(losses):
        return float(ridge)
    best = BASELINE_RIDGE_GRID[int(np.argmin(np.sum(known, axis=0)))]
    return float(ridge * best * n_a / subset.size)


HALFLIFE_GRID_YEARS = (1.0, 2.0, 4.0, math.inf)
"""Half-lives (years) of the area levels' history tried; ``inf`` weighs every year alike."""


def halflife_losses(counts: np.ndarray, bases: Sequence[Baseline], *, freq: Freq) -> np.ndarray | None:
    """Held-out loss of each half-life in :data:`HALFLIFE_GRID_YEARS` per area and category, shape (half-lives,
    areas * categories): the Poisson loss over the last :data:`LEVEL_VALID_PERIODS` periods of ``counts``
    (areas, categories, periods) of the forecast baseline x empirical-Bayes level, the level from the counts
    before those periods discounted with that half-life; None when the history is shorter than twice the
    held-out periods."""
    n_t = counts.shape[-1]
    valid = LEVEL_VALID_PERIODS[freq]
    split = n_t - valid
    if split < valid:
        return None
    loss = np.zeros((len(HALFLIFE_GRID_YEARS), counts.shape[0], len(bases)))
    for c, base in enumerate(bases):
        y, e = counts[:, c, :], base.expected[:, :n_t]
        observed = ~np.isnan(y[:, split:])
        y_test = np.where(observed, y[:, split:], 0.0)
        for i, years in enumerate(HALFLIFE_GRID_YEARS):
            level = eb_level(y[:, :split], e[:, :split], np.array([split]), base.alpha, years * SEASON[freq])[
                2
            ]
            mu = np.where(observed, e[:, split:] * np.exp(level), 0.0)
            loss[i, :, c] = np.sum(mu - y_test * np.log(np.maximum(mu, 1e-300)), axis=1)
    return loss.reshape(len(HALFLIFE_GRID_YEARS), -1)


def choose_level_halflife(
    years: float | None, counts: np.ndarray, bases: Sequence[Baseline], *, freq: Freq
) -> float:
    """The half-life of the area levels in periods of ``freq``: ``years`` when given; else the one of
    :data:`HALFLIFE_GRID_YEARS` with the lowest :func:`halflife_losses` when it beats weighing every year alike
    (``inf``) by more than one standard error of the summed per-(area, category) loss differences, and ``inf``
    otherwise, or when the history is too short to hold periods out.

    Why: a lasting shift in an area (a trend break) makes a level that weighs every year alike lag behind, while
    on a stable city discounting only adds noise; the held-out periods tell which the data is, and the
    one-standard-error rule keeps a stable city's level undiscounted when the evidence is noise.

    Notes
    -----
    Forward validation of a discount factor with the one-standard-error rule (Hastie, Tibshirani & Friedman
    2009, 7.10; West & Harrison 1997, ch. 10 on discounting in dynamic count models).
    """
    if years is not None:
        return float(years) * SEASON[freq]
    losses = halflife_losses(counts, bases, freq=freq)
    if losses is None:
        return math.inf
    plain = HALFLIFE_GRID_YEARS.index(math.inf)
    best = int(np.argmin(losses.sum(axis=1)))
    gain = losses[plain] - losses[best]
    if best == plain or gain.sum() <= np.std(gain, ddof=1) * np.sqrt(gain.size):
        return math.inf
    return HALFLIFE_GRID_YEARS[best] * SEASON[freq]
