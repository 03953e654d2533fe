"""Calibration checks of count forecasts that do not mistake discreteness for miscalibration.

For a count forecast a quantile is a whole number, so "y <= q05" holds far more often than 5 % even when the
forecast is right (most weekly counts are 0 and so is q05). Two fair checks replace it:

* the band ``P(y < q) <= p <= P(y <= q)``: a calibrated forecast's quantile at level ``p`` has the level
  between the shares of observations strictly below and at-or-below it (``below_q*_strict`` next to the
  existing ``below_q*``); it needs only the quantiles, so it holds for any model;
* the non-randomised mean PIT histogram, flat when the predictive distribution is calibrated. It needs the
  predictive CDF, which a forecasts frame does not carry; every model of this project issues NB2 quantiles
  with one size per category and horizon step (:mod:`pulsetwin.models.intervals`), so that size is recovered
  per (category, period) from the means and the three quantiles, and ``pit_match`` reports the share of
  cells whose quantiles the recovered NB reproduces (near 1: the histogram judges the model's own
  distribution; well below 1: the model is not of that form and the histogram is not to be trusted).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special

from pulsetwin.exceptions import ParameterError
from pulsetwin.models.intervals import MAX_SIZE
from pulsetwin.schema.params import Integer, check_param

Array = NDArray[np.float64]

LEVELS: Final = (0.05, 0.5, 0.95)
QUANTILE_COLUMNS: Final = ("q05", "q50", "q95")
PIT_BINS: Final = 10
STRICT_COLUMNS: Final = tuple(f"below_{q}_strict" for q in QUANTILE_COLUMNS)
PIT_COLUMNS: Final = tuple(f"pit_{i:02d}" for i in range(1, PIT_BINS + 1))
"""Share of the PIT mass in each tenth of [0, 1]; each is 0.1 for a calibrated forecast."""
CALIBRATION_COLUMNS: Final = (*STRICT_COLUMNS, "pit_match", *PIT_COLUMNS)
SIZE_GRID: Final = np.exp(np.linspace(np.log(1e-3), np.log(MAX_SIZE), 61))
"""Candidate NB sizes (log-spaced, about 26 % apart); the last candidate beyond them is Poisson."""
MAX_ROWS: Final = 500
"""Cells used to recover a group's size: one parameter needs few, spread over the range of means."""
GROUP: Final = ("category", "period_start")
POINT_WIDTH: Final = 1e-12
"""A PIT interval narrower than this is a point (a count the forecast gave probability of about 0)."""


def below_quantile_strict(y: ArrayLike, quantile: ArrayLike) -> Array:
    """1.0 where y < quantile; with ``y <= quantile`` it brackets the level of a calibrated count quantile."""
    obs = np.asarray(y, dtype=np.float64)
    q = np.asarray(quantile, dtype=np.float64)
    if obs.shape != q.shape:
        raise ParameterError(
            f"y and quantile must have the same shape. Got {obs.shape} and {q.shape} instead."
        )
    return (obs < q).astype(np.float64)


def nb_cdf(k: ArrayLike, mean: ArrayLike, size: ArrayLike) -> Array:
    """P(Y <= k) for Y ~ NB2(mean, size), broadcast; size ``inf`` is Poisson, k < 0 gives 0, mean 0 gives 1.

    NB: ``I_p(size, k + 1)`` with ``p = size / (size + mean)``; Poisson: ``Q(k + 1, mean)`` (regularised
    incomplete beta and upper gamma functions).
    """
    kk, mu, r = np.broadcast_arrays(
        np.floor(np.asarray(k, dtype=np.float64)),
        np.maximum(np.asarray(mean, dtype=np.float64), 0.0),
        np.asarray(size, dtype=np.float64),
    )
    out = np.zeros(kk.shape)
    infinite = np.isinf(r)
    zero = kk == 0  # P(Y = 0) in closed form: most weekly counts are 0, and it is far cheaper
    out[zero & infinite] = np.exp(-mu[zero & infinite])
    nb0 = zero & ~infinite
    out[nb0] = np.exp(r[nb0] * (np.log(r[nb0]) - np.log(r[nb0] + mu[nb0])))
    poisson = (kk > 0) & infinite
    nb = (kk > 0) & ~infinite
    out[poisson] = special.gammaincc(kk[poisson] + 1.0, mu[poisson])
    out[nb] = special.betainc(r[nb], kk[nb] + 1.0, r[nb] / (r[nb] + mu[nb]))
    out[(kk >= 0) & (mu == 0.0)] = 1.0
    return out


def pit_bin_masses(lower: ArrayLike, upper: ArrayLike, bins: int = PIT_BINS) -> Array:
    """Per cell, the mass of its non-randomised PIT in each of ``bins`` equal bins of [0, 1], shape (n, bins).

    ``lower = F(y - 1)`` and ``upper = F(y)``; the cell's PIT is uniform on [lower, upper] (a point when they
    are equal). The mean over cells is the mean PIT histogram: flat (1 / bins each) when calibrated, U-shaped
    when the forecast is too narrow, hump-shaped when too wide.

    Notes
    -----
    Czado, Gneiting & Held (2009), "Predictive model assessment for count data", Biometrics 65(4), eq. 2.
    """
    check_param("bins", "pit_bin_masses", Integer(low=1), bins)
    lo = np.asarray(lower, dtype=np.float64).ravel()[:, None]
    hi = np.asarray(upper, dtype=np.float64).ravel()[:, None]
    edges = np.linspace(0.0, 1.0, bins + 1)[None, :]
    spread = (hi - lo) > POINT_WIDTH
    uniform = np.clip((edges - lo) / np.where(spread, hi - lo, 1.0), 0.0, 1.0)
    cdf = np.where(spread, uniform, (edges >= hi).astype(np.float64))
    cdf[:, 0], cdf[:, -1] = 0.0, 1.0  # a point at 0 falls into the first bin, one at 1 into the last
    return np.diff(cdf, axis=1)


def quantiles_reproduced(mean: ArrayLike, size: ArrayLike, quantiles: ArrayLike) -> NDArray[np.bool_]:
    """Whether NB2(mean, size) has exactly the given 5, 50 and 95 % quantiles; ``quantiles`` is (3, ...).

    The p-quantile is the least k with ``F(k) >= p``, so it is reproduced when ``F(k - 1) < p <= F(k)``.
    """
    q = np.asarray(quantiles, dtype=np.float64)
    match = np.ones(np.broadcast_shapes(np.shape(mean), np.shape(size), q.shape[1:]), dtype=bool)
    for level, k in zip(LEVELS, q, strict=True):
        match &= (nb_cdf(k, mean, size) >= level) & (nb_cdf(k - 1.0, mean, size) < level)
    return match


def quantile_misfit(mean: ArrayLike, size: ArrayLike, quantiles: ArrayLike) -> Array:
    """How far NB2(mean, size) is from having the given 5, 50 and 95 % quantiles, summed over the levels.

    Level ``p`` with quantile ``k`` misses by ``max(F(k - 1) - p, 0) + max(p - F(k), 0)``: zero when the
    quantile is reproduced, growing continuously as the size moves away, so a size can be fitted to it.
    """
    q = np.asarray(quantiles, dtype=np.float64)
    total = np.zeros(np.broadcast_shapes(np.shape(mean), np.shape(size), q.shape[1:]))
    for level, k in zip(LEVELS, q, strict=True):
        total += np.maximum(nb_cdf(k - 1.0, mean, size) - level, 0.0)
        total += np.maximum(level - nb_cdf(k, mean, size), 0.0)
    return total


def recover_nb_size(mean: ArrayLike, quantiles: ArrayLike, *, max_rows: int = MAX_ROWS) -> float:
    """The one NB2 size (``inf``: Poisson) whose quantiles fit the cells' 5, 50 and 95 % quantiles best.

    The total :func:`quantile_misfit` is scanned over :data:`SIZE_GRID` and Poisson; when several candidates
    fit every cell, the middle one (in log size) is taken, otherwise the best is refined between its grid
    neighbours. Beyond ``max_rows`` cells an evenly spaced subsample by forecast mean is used. Cells with a
    mean of 0 say nothing about the size and are skipped; with none left the size is ``inf``.
    """
    mu = np.asarray(mean, dtype=np.float64).ravel()
    q = np.asarray(quantiles, dtype=np.float64).reshape(len(LEVELS), -1)
    use = np.flatnonzero(mu > 0)
    if use.size == 0:
        return float("inf")
    use = use[np.argsort(mu[use], kind="stable")]
    if use.size > max_rows:
        use = use[np.linspace(0, use.size - 1, max_rows).astype(np.int64)]
    mu, q = mu[use], q[:, use]
    candidates = np.append(SIZE_GRID, np.inf)
    misfit = quantile_misfit(mu[None, :], candidates[:, None], q[:, None, :]).sum(axis=1)
    best = np.flatnonzero(misfit <= misfit.min())
    pick = int(best[(best.size - 1) // 2])
    if misfit[pick] == 0.0 or pick == candidates.size - 1:
        return float(candidates[pick])
    lo = np.log(candidates[max(pick - 1, 0)])
    hi = np.log(candidates[min(pick + 1, SIZE_GRID.size - 1)])
    result = optimize.minimize_scalar(
        lambda log_r: float(quantile_misfit(mu, np.exp(log_r), q).sum()),
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-6},
    )
    return float(np.exp(result.x)) if result.fun < misfit[pick] else float(candidates[pick])


def calibration_scores(cells: pd.DataFrame) -> pd.DataFrame:
    """Per (category, period_start) of scored cells: the means of :data:`CALIBRATION_COLUMNS`.

    ``cells`` holds ``category, period_start, count, mean, q05, q50, q95`` (one forecast each). The size of
    the NB behind each group's PIT is recovered with :func:`recover_nb_size`; every column is a mean over the
    group's cells, so cell-weighted means of groups pool them exactly.

    Notes
    -----
    Mean PIT histogram of Czado, Gneiting & Held (2009), Biometrics 65(4); the strict/non-strict quantile
    band is its interval-level counterpart.
    """
    missing = [c for c in (*GROUP, "count", "mean", *QUANTILE_COLUMNS) if c not in cells.columns]
    if missing:
        raise ParameterError(
            f"The 'cells' parameter of calibration_scores must have the columns {', '.join(GROUP)}, count, "
            f"mean, {', '.join(QUANTILE_COLUMNS)}. Columns {missing} are missing. Fix: pass the scored cells "
            "(targets joined with the forecast)."
        )
    y = cells["count"].to_numpy(dtype=np.float64)
    mu = cells["mean"].to_numpy(dtype=np.float64)
    q = cells[list(QUANTILE_COLUMNS)].to_numpy(dtype=np.float64).T
    grouped = cells.groupby(list(GROUP), sort=True)
    codes = grouped.ngroup().to_numpy()
    keys = grouped.size().reset_index()[list(GROUP)]
    order = np.argsort(codes, kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(codes, minlength=len(keys)))]
    rows = np.zeros((len(keys), len(CALIBRATION_COLUMNS)))
    for g in range(len(keys)):
        at = order[bounds[g] : bounds[g + 1]]
        size = recover_nb_size(mu[at], q[:, at])
        strict = [below_quantile_strict(y[at], q[i, at]).mean() for i in range(len(LEVELS))]
        match = quantiles_reproduced(mu[at], size, q[:, at]).mean()
        pit = pit_bin_masses(nb_cdf(y[at] - 1.0, mu[at], size), nb_cdf(y[at], mu[at], size)).mean(axis=0)
        rows[g] = [*strict, match, *pit]
    out = pd.DataFrame(rows, columns=list(CALIBRATION_COLUMNS))
    return pd.concat([keys, out], axis=1)
