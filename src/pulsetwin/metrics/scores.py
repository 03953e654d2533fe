"""Point and probabilistic scores of count forecasts, element-wise over numpy arrays (lower is better).

Every function takes observed counts ``y`` and forecast summaries of the same shape and returns one score per
element, so a backtest averages them over any grouping it likes.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

from pulsetwin.exceptions import ParameterError

MEAN_FLOOR: Final = 1e-6
"""Forecast means below this are raised to it before deviance and log score, so a zero forecast of an observed
count costs a large but finite penalty (about 2 * y * 13.8 deviance units) instead of infinity."""
ALPHA: Final = 0.1
"""The [q05, q95] interval is the central 90 % interval."""
QUANTILE_LEVELS: Final = (0.05, 0.5, 0.95)

Array = NDArray[np.float64]


def _arrays(*values: ArrayLike) -> list[Array]:
    """Convert to float arrays of one shape."""
    out = [np.asarray(v, dtype=np.float64) for v in values]
    shape = out[0].shape
    if any(a.shape != shape for a in out):
        raise ParameterError(
            f"All score inputs must have the same shape. Got shapes {[a.shape for a in out]} instead."
        )
    return out


def absolute_error(y: ArrayLike, mean: ArrayLike) -> Array:
    """|y - mean|."""
    obs, mu = _arrays(y, mean)
    return np.abs(obs - mu)


def squared_error(y: ArrayLike, mean: ArrayLike) -> Array:
    """(y - mean)^2; the root of its average is the RMSE."""
    obs, mu = _arrays(y, mean)
    return (obs - mu) ** 2


def poisson_deviance(y: ArrayLike, mean: ArrayLike) -> Array:
    """Unit Poisson deviance 2 (y log(y / mu) - (y - mu)), with 0 log 0 = 0 and mu floored at MEAN_FLOOR.

    Notes
    -----
    McCullagh & Nelder (1989), Generalized Linear Models, 2nd ed., section 2.3; a consistent scoring function
    for the mean of counts (Gneiting 2011, JASA 106(494)).
    """
    obs, mu = _arrays(y, mean)
    mu = np.maximum(mu, MEAN_FLOOR)
    ratio_term = np.where(obs > 0, obs * np.log(np.where(obs > 0, obs, 1.0) / mu), 0.0)
    return 2.0 * (ratio_term - (obs - mu))


def interval_score(y: ArrayLike, lower: ArrayLike, upper: ArrayLike, alpha: float = ALPHA) -> Array:
    """Interval score of the central (1 - alpha) interval: width plus 2/alpha times the miss distance.

    Notes
    -----
    Gneiting & Raftery (2007), "Strictly proper scoring rules, prediction, and estimation",
    JASA 102(477), eq. 43.
    """
    obs, lo, hi = _arrays(y, lower, upper)
    return (hi - lo) + (2.0 / alpha) * np.maximum(lo - obs, 0.0) + (2.0 / alpha) * np.maximum(obs - hi, 0.0)


def weighted_interval_score(y: ArrayLike, q05: ArrayLike, q50: ArrayLike, q95: ArrayLike) -> Array:
    """Weighted interval score from the median and the central 90 % interval.

    WIS = (1/2 |y - m| + alpha/2 IS_alpha) / (K + 1/2) with K = 1 interval, alpha = 0.1.

    Notes
    -----
    Bracher, Ray, Gneiting & Reich (2021), "Evaluating epidemic forecasts in an interval format",
    PLoS Comput Biol 17(2), eq. 2.
    """
    obs, lo, med, hi = _arrays(y, q05, q50, q95)
    return (0.5 * np.abs(obs - med) + (ALPHA / 2.0) * interval_score(obs, lo, hi, ALPHA)) / 1.5


def interval_covered(y: ArrayLike, q05: ArrayLike, q95: ArrayLike) -> Array:
    """1.0 where q05 <= y <= q95, else 0.0; its mean is the observed coverage of the nominal 90 % interval."""
    obs, lo, hi = _arrays(y, q05, q95)
    return ((obs >= lo) & (obs <= hi)).astype(np.float64)


def below_quantile(y: ArrayLike, quantile: ArrayLike) -> Array:
    """1.0 where y <= quantile; its mean against the nominal level gives a reliability diagram."""
    obs, q = _arrays(y, quantile)
    return (obs <= q).astype(np.float64)


def nb_size_from_q95(mean: ArrayLike, q95: ArrayLike, iterations: int = 16) -> Array:
    """Negative-binomial size r matched to a mean and a 95 % quantile (``inf`` where Poisson already fits).

    The least dispersed NB (largest r) whose 95 % quantile reaches ``ceil(q95)`` is found by a grid scan
    and bisection on log r, vectorised over the elements that need it; r is kept within [1e-3, 1e8].
    """
    mu, hi = _arrays(mean, q95)
    mu = np.maximum(mu, MEAN_FLOOR)
    below = np.ceil(hi) - 1.0
    # P(X <= k) for Poisson is the regularised upper incomplete gamma Q(k + 1, mu); k < 0 has probability 0.
    poisson_cdf = np.where(below >= 0, special.gammaincc(np.maximum(below, 0.0) + 1.0, mu), 0.0)
    size = np.full(mu.shape, np.inf)
    todo = np.flatnonzero(poisson_cdf >= 0.95)
    if todo.size:
        # Solve once per distinct (mean to 3 significant digits, quantile) pair: r only sets the dispersion.
        keys = np.stack([_round_significant(mu[todo], 3), below[todo]], axis=1)
        unique, inverse = np.unique(keys, axis=0, return_inverse=True)
        m, k = unique[:, 0], unique[:, 1]
        # The NB cdf at k is not monotone in r (tiny r piles mass on 0), so scan a grid for the largest r that
        # reaches, then bisect between it and the next grid value.
        grid = np.linspace(np.log(1e-3), np.log(1e8), 45)
        size_grid = np.exp(grid)[None, :]
        cdf = special.betainc(size_grid, k[:, None] + 1.0, size_grid / (size_grid + m[:, None]))
        reaches = cdf < 0.95
        top = grid.size - 1 - np.argmax(reaches[:, ::-1], axis=1)
        last = np.where(reaches.any(axis=1), top, np.argmin(cdf, axis=1))
        lo_log = grid[last]
        hi_log = grid[np.minimum(last + 1, grid.size - 1)]
        for _ in range(iterations):
            mid = 0.5 * (lo_log + hi_log)
            r = np.exp(mid)
            # NB P(X <= k) = I_p(r, k + 1) with p = r / (r + mu).
            ok = special.betainc(r, k + 1.0, r / (r + m)) < 0.95
            lo_log = np.where(ok, mid, lo_log)
            hi_log = np.where(ok, hi_log, mid)
        size[todo] = np.exp(lo_log)[inverse.ravel()]
    return size


def _round_significant(values: Array, digits: int) -> Array:
    """Round positive values to ``digits`` significant digits."""
    scale = 10.0 ** (digits - 1 - np.floor(np.log10(values)))
    return np.round(values * scale) / scale


def nb_log_score(y: ArrayLike, mean: ArrayLike, q95: ArrayLike) -> Array:
    """Negative log predictive probability of y under a negative binomial matched to mean and q95.

    Notes
    -----
    The logarithmic score (Good 1952; Gneiting & Raftery 2007, section 4.1) of the NB from
    :func:`nb_size_from_q95`; Poisson where the interval is no wider than Poisson's.
    """
    obs, mu, hi = _arrays(y, mean, q95)
    mu = np.maximum(mu, MEAN_FLOOR)
    size = nb_size_from_q95(mu, hi)
    finite = np.isfinite(size)
    safe = np.where(finite, size, 1.0)
    nb = stats.nbinom.logpmf(obs, safe, safe / (safe + mu))
    return -np.where(finite, nb, stats.poisson.logpmf(obs, mu))
