"""Own lags and rolling windows computed only from periods strictly before a cutoff.

Every function takes values with time on the last axis and integer ``cutoffs``: the feature for cutoff ``c``
reads indices ``< c`` only, so truncating the data at ``c`` cannot change it (the leakage property the tests
check). Missing values (NaN, withheld counts) are skipped and counted out of the denominators.
"""

from __future__ import annotations

import numpy as np

from pulsetwin.exceptions import bad_parameter


def _prefix(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Prefix sums of values and of observed flags, with a leading zero: ``cum[..., c] = sum(values[...,
    :c])``."""
    observed = ~np.isnan(values)
    zeros = np.zeros((*values.shape[:-1], 1))
    sums = np.concatenate([zeros, np.cumsum(np.where(observed, values, 0.0), axis=-1)], axis=-1)
    counts = np.concatenate([zeros, np.cumsum(observed, axis=-1, dtype=np.float64)], axis=-1)
    return sums, counts


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
    sums, counts = _prefix(values)
    start = np.zeros_like(cut) if window is None else np.maximum(cut - window, 0)
    return sums[..., cut] - sums[..., start], counts[..., cut] - counts[..., start]


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
    index = cut - lag
    padded = np.concatenate([values, np.full((*values.shape[:-1], 1), np.nan)], axis=-1)
    return padded[..., np.where(index >= 0, index, values.shape[-1])]


def last_observed(values: np.ndarray, cutoffs: np.ndarray) -> np.ndarray:
    """The most recent observed value before each cutoff; NaN when nothing is observed."""
    cut = _check_cutoffs(cutoffs, values.shape[-1])
    observed = ~np.isnan(values)
    position = np.where(observed, np.arange(values.shape[-1]), -1)
    latest = np.concatenate(
        [np.full((*values.shape[:-1], 1), -1), np.maximum.accumulate(position, axis=-1)], axis=-1
    )
    index = latest[..., cut]
    padded = np.concatenate([values, np.full((*values.shape[:-1], 1), np.nan)], axis=-1)
    return np.take_along_axis(padded, np.where(index >= 0, index, values.shape[-1]), axis=-1)


def shrunk_log_ratio(observed: np.ndarray, expected: np.ndarray, prior: float) -> np.ndarray:
    """Empirical-Bayes log rate ratio ``log((prior + observed) / (prior + expected))``.

    Notes
    -----
    The posterior mean of a Gamma(prior, prior) relative risk under Poisson counts (Clayton & Kaldor 1987):
    small areas and short windows are pulled toward ratio 1 (log 0).
    """
    return np.log((prior + observed) / (prior + expected))
