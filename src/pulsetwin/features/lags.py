"""Own lags and rolling windows computed only from periods strictly before a cutoff.

Every function takes values with time on the last axis and integer ``cutoffs``: the feature for cutoff ``c``
reads indices ``< c`` only, so truncating the data at ``c`` cannot change it (the leakage property the tests
check). Missing values (NaN, withheld counts) are skipped and counted out of the denominators.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import lfilter

from pulsetwin.exceptions import bad_parameter

BLOCK = 1 << 20
"""Values per block of prefix sums: bounds their temporary arrays on national panels (~10 M cells)."""


def _prefix_at(values: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sums of the observed values and numbers of observed values over ``[0, p)`` for each point ``p``, shape
    ``(*values.shape[:-1], len(points))``.

    Prefix sums are taken over blocks of rows, so no temporary as large as ``values`` is made; each row's
    cumulative sum (and so every result) is the same as over the whole array.
    """
    n = values.shape[-1]
    rows = values.reshape(int(np.prod(values.shape[:-1], dtype=np.int64)), n)
    sums, counts = np.zeros((rows.shape[0], points.size)), np.zeros((rows.shape[0], points.size))
    inside, last = points > 0, np.maximum(points - 1, 0)
    if n == 0 or not inside.any():
        return sums.reshape(*values.shape[:-1], -1), counts.reshape(*values.shape[:-1], -1)
    step = max(1, BLOCK // n)
    for lo in range(0, rows.shape[0], step):
        block = rows[lo : lo + step]
        observed = ~np.isnan(block)
        sums[lo : lo + step, inside] = np.cumsum(np.where(observed, block, 0.0), axis=-1)[:, last[inside]]
        counts[lo : lo + step, inside] = np.cumsum(observed, axis=-1, dtype=np.float64)[:, last[inside]]
    return sums.reshape(*values.shape[:-1], -1), counts.reshape(*values.shape[:-1], -1)


def _check_cutoffs(cutoffs: np.ndarray, n_periods: int) -> np.ndarray:
    cut = np.asarray(cutoffs, dtype=np.int64)
    if cut.size and (cut.min() < 0 or cut.max() > n_periods):
        raise bad_parameter("cutoffs", "window_sums", f"integers in [0, {n_periods}]", cut)
    return cut


def window_sums(values: np.ndarray, cutoffs: np.ndarray, window: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Sums and numbers of observed values over ``[c - window, c)`` for each cutoff ``c`` (``None``: all of
    ``[0, c)``).

    Returns two arrays of shape ``(*values.shape[:-1], len(cutoffs))``.
    """
    if window is not None and (isinstance(window, bool) or window < 1):
        raise bad_parameter("window", "window_sums", "an integer >= 1 or None", window)
    cut = _check_cutoffs(cutoffs, values.shape[-1])
    if window is None:
        return _prefix_at(values, cut)
    points, where = np.unique(np.concatenate([cut, np.maximum(cut - window, 0)]), return_inverse=True)
    sums, counts = _prefix_at(values, points)
    at_cut, at_start = where[: cut.size], where[cut.size :]
    return sums[..., at_cut] - sums[..., at_start], counts[..., at_cut] - counts[..., at_start]


def discounted_sums(
    values: np.ndarray, cutoffs: np.ndarray, halflife: float
) -> tuple[np.ndarray, np.ndarray]:
    """Exponentially discounted sums and numbers of observed values over ``[0, c)`` for each cutoff ``c``: the
    value at index ``t`` weighs ``0.5 ** ((c - 1 - t) / halflife)`` (1 for the last period before ``c``);
    ``halflife = inf`` gives :func:`window_sums` over all of ``[0, c)``.

    Why: a long-run level that weighs every year alike lags behind a lasting shift (a trend break); halving the
    weight of older periods lets the level follow it while a long half-life keeps its noise low.

    Returns two arrays of shape ``(*values.shape[:-1], len(cutoffs))``.

    Notes
    -----
    Exponential smoothing of a level (Brown 1959; Hyndman & Athanasopoulos, *Forecasting: Principles and
    Practice*, 3rd ed., 8.1), here as a discounted Poisson-Gamma total (West & Harrison 1997, 10.8, discount
    factors for count models).
    """
    if isinstance(halflife, bool) or not isinstance(halflife, int | float) or not halflife > 0:
        raise bad_parameter("halflife", "discounted_sums", "a number > 0 (inf: no discount)", halflife)
    if math.isinf(halflife):
        return window_sums(values, cutoffs, None)
    cut = _check_cutoffs(cutoffs, values.shape[-1])
    shape = (*values.shape[:-1], cut.size)
    if values.shape[-1] == 0:
        return np.zeros(shape), np.zeros(shape)
    factor = 0.5 ** (1.0 / float(halflife))
    rows = values.reshape(-1, values.shape[-1])
    sums, counts = np.zeros((rows.shape[0], cut.size)), np.zeros((rows.shape[0], cut.size))
    inside, last = cut > 0, np.maximum(cut - 1, 0)
    step = max(1, BLOCK // values.shape[-1])
    for lo in range(0, rows.shape[0], step):
        block = rows[lo : lo + step]
        observed = ~np.isnan(block)
        # s[t] = x[t] + factor * s[t - 1]: the discounted total up to and including period t
        smooth_y = lfilter([1.0], [1.0, -factor], np.where(observed, block, 0.0), axis=-1)
        smooth_n = lfilter([1.0], [1.0, -factor], observed.astype(np.float64), axis=-1)
        sums[lo : lo + step, inside] = smooth_y[:, last[inside]]
        counts[lo : lo + step, inside] = smooth_n[:, last[inside]]
    return sums.reshape(shape), counts.reshape(shape)


def rolling_means(values: np.ndarray, cutoffs: np.ndarray, window: int | None) -> np.ndarray:
    """Mean of the observed values in ``[c - window, c)``; NaN when none is observed."""
    sums, counts = window_sums(values, cutoffs, window)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1.0), np.nan)


def lag_values(values: np.ndarray, cutoffs: np.ndarray, lag: int) -> np.ndarray:
    """The value at index ``c - lag`` (``lag >= 1``); NaN before the start."""
    if isinstance(lag, bool) or lag < 1:
        raise bad_parameter("lag", "lag_values", "an integer >= 1", lag)
    cut = _check_cutoffs(cutoffs, values.shape[-1])
    return _at(values, cut - lag)


def _at(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``values[..., index]`` with NaN where ``index < 0`` (without a padded copy of ``values``)."""
    out = values[..., np.maximum(index, 0)].astype(np.float64, copy=False)
    out[..., index < 0] = np.nan
    return out


def last_observed(values: np.ndarray, cutoffs: np.ndarray) -> np.ndarray:
    """The most recent observed value before each cutoff; NaN when nothing is observed."""
    cut = _check_cutoffs(cutoffs, values.shape[-1])
    position = np.where(np.isnan(values), -1, np.arange(values.shape[-1], dtype=np.int32))
    np.maximum.accumulate(position, axis=-1, out=position)
    index = np.where(cut > 0, position[..., np.maximum(cut - 1, 0)], -1)
    out = np.take_along_axis(values, np.maximum(index, 0), axis=-1).astype(np.float64, copy=False)
    out[index < 0] = np.nan
    return out


def shrunk_log_ratio(observed: np.ndarray, expected: np.ndarray, prior: float) -> np.ndarray:
    """Empirical-Bayes log rate ratio ``log((prior + observed) / (prior + expected))``.

    Notes
    -----
    The posterior mean of a Gamma(prior, prior) relative risk under Poisson counts (Clayton & Kaldor 1987):
    small areas and short windows are pulled toward ratio 1 (log 0).
    """
    return np.log((prior + observed) / (prior + expected))
