"""Predictive quantiles from a negative-binomial whose size is estimated on out-of-sample predictions.

The NB2 distribution has mean ``mu`` and variance ``mu + mu**2 / size``. ``fit_nb_size`` finds the size by
maximum likelihood on pairs (observed count, prediction made without that count), so the spread includes the
error of the mean forecast and the intervals are calibrated rather than in-sample optimistic.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, special, stats

from pulsetwin.exceptions import bad_parameter

QUANTILES = (0.05, 0.5, 0.95)
MAX_SIZE = 1e6
"""Sizes above this are Poisson for every practical purpose; the cap keeps the optimiser on a finite range."""


def nb_loglik(y: np.ndarray, mu: np.ndarray, size: float) -> float:
    """Total NB2 log-likelihood of counts ``y`` with means ``mu`` (> 0) and ``size``."""
    r = float(size)
    return float(
        np.sum(
            special.gammaln(y + r)
            - special.gammaln(r)
            - special.gammaln(y + 1.0)
            + r * np.log(r / (r + mu))
            + y * np.log(mu / (r + mu))
        )
    )


def fit_nb_size(y: np.ndarray, mu: np.ndarray, *, max_rows: int = 20_000) -> float:
    """Maximum-likelihood NB2 size for counts ``y`` given out-of-sample means ``mu``.

    Rows with ``mu <= 0`` or NaN are ignored; beyond ``max_rows`` an evenly spaced subsample is used (one
    parameter needs no more).
    Returns :data:`MAX_SIZE` when there are no usable rows or no overdispersion.

    Notes
    -----
    NB2 regression dispersion (Cameron & Trivedi 2013, *Regression Analysis of Count Data*, ch. 3) profiled
    over fixed means.
    """
    y = np.asarray(y, dtype=float).ravel()
    mu = np.asarray(mu, dtype=float).ravel()
    use = ~np.isnan(y) & ~np.isnan(mu) & (mu > 0)
    if use.sum() < 2:
        return MAX_SIZE
    y, mu = y[use], mu[use]
    if y.size > max_rows:
        keep = np.linspace(0, y.size - 1, max_rows).astype(np.int64)
        y, mu = y[keep], mu[keep]
    result = optimize.minimize_scalar(
        lambda log_r: -nb_loglik(y, mu, float(np.exp(log_r))),
        bounds=(np.log(1e-3), np.log(MAX_SIZE)),
        method="bounded",
        options={"xatol": 1e-4},
    )
    return float(min(np.exp(result.x), MAX_SIZE))


RECURSION_LIMIT = 200.0
"""Means up to this use the exact pmf recursion below; larger ones use scipy's (slower) inverse CDF."""
MAX_STEPS = 20_000
"""Cells whose quantile lies beyond this many recursion steps (extreme tails) are finished by scipy."""


def _quantiles_by_recursion(mu: np.ndarray, r: np.ndarray, quantiles: tuple[float, ...]) -> np.ndarray:
    """Exact NB2 quantiles by walking the CDF with ``p(k+1) = p(k) (k + r) / (k + 1) * mu / (r + mu)``; all
    cells advance together, each leaving the loop once its largest quantile is reached."""
    out = np.zeros((len(quantiles), mu.size))
    ratio = mu / (r + mu)
    pmf = np.exp(r * np.log(r / (r + mu)))
    cdf = pmf.copy()
    active = np.arange(mu.size)
    k = 0
    while active.size and k < MAX_STEPS:
        for i, q in enumerate(quantiles):
            out[i, active] = np.where(cdf < q, k + 1, out[i, active])
        still = cdf < quantiles[-1]
        active, pmf, cdf = active[still], pmf[still], cdf[still]
        pmf = pmf * (k + r[active]) / (k + 1) * ratio[active]
        cdf = cdf + pmf
        k += 1
    for i, q in enumerate(quantiles):
        left = active[out[i, active] >= k]
        out[i, left] = stats.nbinom.ppf(q, r[left], r[left] / (r[left] + mu[left]))
    return out


def nb_quantiles(
    mu: np.ndarray, size: np.ndarray | float, quantiles: tuple[float, ...] = QUANTILES
) -> np.ndarray:
    """Quantiles of NB2(mean ``mu``, ``size``), shape ``(len(quantiles), *mu.shape)``; a mean of 0 gives 0.

    ``quantiles`` must increase. Sizes of :data:`MAX_SIZE` are treated as Poisson (the NB limit).
    """
    if any(not 0 < q < 1 for q in quantiles) or list(quantiles) != sorted(quantiles):
        raise bad_parameter(
            "quantiles", "nb_quantiles", "increasing probabilities strictly between 0 and 1", quantiles
        )
    mu = np.maximum(np.asarray(mu, dtype=float), 0.0)
    r = np.broadcast_to(np.asarray(size, dtype=float), mu.shape).ravel()
    flat = mu.ravel()
    out = np.zeros((len(quantiles), flat.size))
    small = (flat > 0) & (flat <= RECURSION_LIMIT)
    out[:, small] = _quantiles_by_recursion(flat[small], np.minimum(r[small], MAX_SIZE), quantiles)
    large = flat > RECURSION_LIMIT
    if large.any():
        rl, ml = r[large], flat[large]
        for i, q in enumerate(quantiles):
            out[i, large] = np.where(
                rl >= MAX_SIZE, stats.poisson.ppf(q, ml), stats.nbinom.ppf(q, rl, rl / (rl + ml))
            )
    return out.reshape(len(quantiles), *mu.shape)
