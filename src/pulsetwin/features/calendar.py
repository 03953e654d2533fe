"""Calendar features: annual seasonality as Fourier terms and a linear trend (no holidays).

Both depend on the period dates alone, so they cannot leak: the date of a future period is known at the
origin.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pulsetwin.schema.params import Integer, check_param
from pulsetwin.schema.periods import Freq

DAYS_PER_YEAR = 365.2425


def _midpoints(periods: pd.DatetimeIndex, freq: Freq) -> pd.DatetimeIndex:
    """The middle of each period: seasonality is a property of the whole week or month, not its first day."""
    if freq == "W":
        return periods + pd.Timedelta(hours=84)
    ends = periods + pd.offsets.MonthBegin(1)
    return periods + (ends - periods) / 2


def fourier_terms(periods: pd.DatetimeIndex, freq: Freq, order: int) -> np.ndarray:
    """Annual Fourier terms ``sin(2 pi k u), cos(2 pi k u)`` for ``k = 1..order``, ``u`` the fraction of the
    year.

    Returns an array of shape ``(len(periods), 2 * order)``: sines first, then cosines, both by increasing
    ``k``.

    Notes
    -----
    Harmonic regression for smooth annual cycles (Hyndman & Athanasopoulos, *Forecasting: Principles and
    Practice*, 3rd ed., section 7.4).
    """
    check_param("order", "fourier_terms", Integer(low=0), order)
    mid = _midpoints(periods, freq)
    fraction = np.asarray(mid.day_of_year, dtype=float) - 1.0 + np.asarray(mid.hour, dtype=float) / 24.0
    angle = 2.0 * np.pi * fraction[:, None] / DAYS_PER_YEAR * np.arange(1, order + 1)[None, :]
    return np.concatenate([np.sin(angle), np.cos(angle)], axis=1)


def trend(periods: pd.DatetimeIndex, origin: pd.Timestamp) -> np.ndarray:
    """Years from ``origin`` to each period start (negative in the past), the scale a linear trend is fitted
    on."""
    return np.asarray((periods - origin) / pd.Timedelta(days=DAYS_PER_YEAR), dtype=float)
