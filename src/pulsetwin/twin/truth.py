"""Ground truth: the expected offence count per buurt, category and period given the realised history.

For a period ``[a, b)`` the truth is ``E[N(a, b) | H_a]``: the expected number of offences in the period
given every offence (recorded or not) before ``a``. With an exponential kernel of branching ``n`` and mean
delay ``tau`` the expected intensity ``m = mu + e`` obeys ``de/dt = -k e + (n / tau) mu`` with
``k = (1 - n) / tau``, so, exactly,

``E[N(a, b) | H_a] = int_a^b mu ds``
``+ (n / tau) int_a^b mu(s) (1 - exp(-k (b - s))) / k ds + E_a (1 - exp(-k L)) / k``

where ``E_a = sum_{t_j < a} (n / tau) exp(-(a - t_j) / tau)`` is the realised excitation at ``a`` and
``L = b - a``. The first two terms are the background and the cascades it starts inside the period (all
generations), the last the offspring of earlier offences. ``mu`` is constant within each hour, so the
integrals are exact sums. The expected recorded count multiplies this by the buurt's recording probability.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pulsetwin.twin.parameters import CategoryParams
from pulsetwin.twin.process import Offences, Timeline


@dataclass(frozen=True)
class Periods:
    """Complete periods of one frequency inside the recorded window (day offsets from the timeline origin)."""

    freq: str
    starts: pd.DatetimeIndex
    start_day: np.ndarray
    end_day: np.ndarray

    def index_of(self, t: np.ndarray) -> np.ndarray:
        """Period position of each time ``t`` (days), -1 outside every period."""
        pos = np.searchsorted(self.start_day, t, side="right") - 1
        inside = (pos >= 0) & (t < self.end_day[np.maximum(pos, 0)])
        return np.where(inside, pos, -1)


def build_periods(timeline: Timeline, freq: str) -> Periods:
    """Whole weeks (Monday starts) or months (1st) between ``timeline.start`` and ``timeline.end``."""
    if freq == "W":
        starts = pd.date_range(timeline.start, timeline.end, freq="W-MON")
        starts = starts[starts + pd.Timedelta(days=7) <= timeline.end]
        ends = starts + pd.Timedelta(days=7)
    else:
        starts = pd.date_range(timeline.start, timeline.end, freq="MS", inclusive="left")
        ends = starts + pd.offsets.MonthBegin(1)
    day = np.asarray((starts - timeline.origin).days, dtype=np.int64)
    end_day = np.asarray((ends - timeline.origin).days, dtype=np.int64)
    return Periods(freq, pd.DatetimeIndex(starts.astype("datetime64[ns]")), day, end_day)


def expected_offences(
    offences: Offences,
    cats: tuple[CategoryParams, ...],
    rates: np.ndarray,
    profiles: list[np.ndarray],
    periods: Periods,
) -> np.ndarray:
    """Expected offence counts, shape (periods, categories, buurten), as in the module docstring."""
    n_p, n_c, n_a = periods.start_day.size, len(cats), rates.shape[1]
    out = np.empty((n_p, n_c, n_a))
    length = (periods.end_day - periods.start_day).astype(np.float64)
    excitation = _excitation(offences, cats, n_a, periods)
    for c, cat in enumerate(cats):
        n, tau = cat.branching, cat.decay_days
        k = (1.0 - n) / tau
        bin_start = np.arange(profiles[c].size) / 24.0
        period = periods.index_of(bin_start)
        inside = period >= 0
        p, g, s0 = period[inside], profiles[c][inside] / 24.0, bin_start[inside]
        b = periods.end_day[p].astype(np.float64)
        dt = 1.0 / 24.0
        cascade = g / k * (1.0 - (np.exp(-k * (b - s0 - dt)) - np.exp(-k * (b - s0))) / (k * dt))
        background = np.bincount(p, g, minlength=n_p)
        within = np.bincount(p, cascade, minlength=n_p)
        from_past = (1.0 - np.exp(-k * length)) / k
        out[:, c, :] = (
            rates[c][None, :] * (background + n / tau * within)[:, None]
            + excitation[:, c, :] * from_past[:, None]
        )
    return out


def _excitation(
    offences: Offences, cats: tuple[CategoryParams, ...], n_areas: int, periods: Periods
) -> np.ndarray:
    """Realised excitation ``E_a`` at every period start, shape (periods, categories, buurten).

    Each offence adds ``(n / tau) exp(-(a - t) / tau)`` to the first period start after it; between starts the
    excitation decays by ``exp(-gap / tau)``.
    """
    n_p, n_c = periods.start_day.size, len(cats)
    branching = np.array([c.branching for c in cats])
    tau = np.array([c.decay_days for c in cats])
    starts = periods.start_day.astype(np.float64)
    nxt = np.searchsorted(starts, offences.t, side="right")
    keep = nxt < n_p
    c, nxt = offences.category[keep], nxt[keep]
    weight = branching[c] / tau[c] * np.exp(-(starts[nxt] - offences.t[keep]) / tau[c])
    flat = (nxt * n_c + c) * n_areas + offences.area[keep]
    jumps = np.bincount(flat, weight, minlength=n_p * n_c * n_areas).reshape(n_p, n_c, n_areas)
    decay = np.exp(-np.diff(starts)[:, None] / tau[None, :])  # (periods - 1, categories)
    for j in range(1, n_p):  # a short loop over period starts, vectorised over categories and buurten
        jumps[j] += jumps[j - 1] * decay[j - 1][:, None]
    return jumps
