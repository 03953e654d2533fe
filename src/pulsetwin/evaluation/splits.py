"""Rolling-origin splits: each fold forecasts ``horizon`` periods from an origin, trained strictly before it.

Notes
-----
Rolling-origin evaluation as in Tashman (2000), "Out-of-sample tests of forecasting accuracy", IJF 16(4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from pulsetwin.exceptions import bad_parameter
from pulsetwin.models.base import future_periods
from pulsetwin.schema.periods import Freq

SEASON: dict[str, int] = {"W": 52, "M": 12}
"""Periods per year: the default minimum training length, so a seasonal naive baseline has one season."""


@dataclass(frozen=True)
class Fold:
    """One backtest fold: train on every period strictly before ``origin``, test on ``test_periods``."""

    index: int
    origin: pd.Timestamp
    test_periods: pd.DatetimeIndex
    n_train: int

    @property
    def horizon(self) -> int:
        """Number of test periods."""
        return len(self.test_periods)


def period_grid(
    periods: Sequence[pd.Timestamp] | pd.DatetimeIndex | pd.Series, freq: Freq
) -> pd.DatetimeIndex:
    """The regular grid of period starts from the first to the last observed period (gaps filled in).

    Raises ParameterError when a period does not start on a Monday (W) or the 1st of a month (M).
    """
    index = pd.DatetimeIndex(pd.unique(pd.to_datetime(pd.Series(periods)))).sort_values()
    if freq not in SEASON:
        raise bad_parameter("freq", "period_grid", "'W' or 'M'", freq)
    if len(index) == 0:
        raise bad_parameter("periods", "period_grid", "at least one observed period", "no periods")
    bad = index[index.day_of_week != 0] if freq == "W" else index[index.day != 1]
    if len(bad):
        rule = "a Monday" if freq == "W" else "the 1st of a month"
        raise bad_parameter(
            "periods", "period_grid", f"period starts on {rule} for freq {freq}", str(bad[0].date())
        )
    return future_periods(index[0], freq, _count_periods(index[0], index[-1], freq))


def _count_periods(first: pd.Timestamp, last: pd.Timestamp, freq: Freq) -> int:
    """Number of periods from ``first`` to ``last`` inclusive."""
    if freq == "W":
        return int((last - first).days // 7) + 1
    return (last.year - first.year) * 12 + last.month - first.month + 1


def rolling_origins(
    periods: Sequence[pd.Timestamp] | pd.DatetimeIndex | pd.Series,
    *,
    freq: Freq,
    horizon: int,
    folds: int | None = None,
    step: int | None = None,
    origins: Sequence[str | pd.Timestamp] | None = None,
    min_train: int | None = None,
) -> list[Fold]:
    """Build rolling-origin folds over the observed periods of a panel.

    Parameters
    ----------
    periods
        Observed period starts (duplicates allowed).
    freq
        ``"W"`` or ``"M"``.
    horizon
        Test periods per fold (``H``).
    folds
        Number of folds ``K`` (default 3) counted back from the end, the last fold ending at the last period.
        Ignored when ``origins`` are given.
    step
        Periods between consecutive origins (default ``horizon``, so test windows tile without overlap).
    origins
        Explicit origin dates instead of ``folds``/``step``; each must be a period start on the grid.
    min_train
        Minimum number of training periods before an origin (default one year: 52 W or 12 M).

    Returns
    -------
    list[Fold]
        Folds ordered by origin; every training period lies strictly before its origin.
    """
    owner = "rolling_origins"
    for name, value, low in (
        ("horizon", horizon, 1),
        ("folds", folds, 1),
        ("step", step, 1),
        ("min_train", min_train, 1),
    ):
        if value is None and name != "horizon":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise bad_parameter(name, owner, f"an integer >= {low}", value)
    grid = period_grid(periods, freq)
    need = SEASON[freq] if min_train is None else min_train
    if origins is not None:
        starts = _origin_positions(grid, origins, freq)
    else:
        k = 3 if folds is None else folds
        s = horizon if step is None else step
        last_start = len(grid) - horizon
        starts = [last_start - (k - 1 - i) * s for i in range(k)]
    out: list[Fold] = []
    for i, start in enumerate(starts):
        if start < need:
            raise bad_parameter(
                "folds/origins",
                owner,
                f"origins with at least {need} training periods before them (min_train); the data has "
                f"{len(grid)} periods from {grid[0].date()}, and {horizon} test periods per fold after "
                f"{need} training periods need at least {need + horizon}. Use fewer folds or a smaller step; "
                "with a short history lower min_train (CLI: --min-train)",
                f"an origin at period {start + 1} of {len(grid)}",
            )
        if start + horizon > len(grid):
            origin = future_periods(grid[0], freq, start + 1)[-1]
            raise bad_parameter(
                "origins",
                owner,
                f"origins whose {horizon} test periods end by the last observed period {grid[-1].date()}",
                str(origin.date()),
            )
        test = future_periods(grid[start], freq, horizon)
        out.append(Fold(index=i, origin=grid[start], test_periods=test, n_train=start))
    return out


def _origin_positions(grid: pd.DatetimeIndex, origins: Sequence[str | pd.Timestamp], freq: Freq) -> list[int]:
    """Positions of explicit origins on the period grid (origins past the grid are measured beyond it)."""
    stamps = sorted(pd.Timestamp(o) for o in origins)
    if not stamps:
        raise bad_parameter("origins", "rolling_origins", "a non-empty list of dates", list(origins))
    positions: list[int] = []
    for stamp in stamps:
        on_grid = stamp.day_of_week == 0 if freq == "W" else stamp.day == 1
        if not on_grid:
            rule = "a Monday" if freq == "W" else "the 1st of a month"
            raise bad_parameter(
                "origins", "rolling_origins", f"period starts ({rule} for freq {freq})", str(stamp.date())
            )
        sign = 1 if stamp >= grid[0] else -1
        positions.append(sign * (_count_periods(min(stamp, grid[0]), max(stamp, grid[0]), freq) - 1))
    if len(set(positions)) != len(positions):
        raise bad_parameter("origins", "rolling_origins", "distinct dates", [str(s.date()) for s in stamps])
    return positions
