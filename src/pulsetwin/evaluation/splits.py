"""Rolling-origin splits: each fold forecasts ``horizon`` periods from an origin, trained strictly before it.

:class:`RollingOrigin` holds the six settings of the design (freq, horizon, folds, step, explicit origins,
minimum training length), checked once when it is built; :meth:`RollingOrigin.split` lays its folds on the
observed periods of a panel.

Notes
-----
Rolling-origin evaluation as in Tashman (2000), "Out-of-sample tests of forecasting accuracy", IJF 16(4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pulsetwin.exceptions import bad_parameter
from pulsetwin.schema.periods import Freq

OWNER = "RollingOrigin"


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
    if len(index) == 0:
        raise bad_parameter("periods", "period_grid", "at least one observed period", "no periods")
    bad = index[~freq.is_start(index)]
    if len(bad):
        raise bad_parameter(
            "periods",
            "period_grid",
            f"period starts on {freq.start_rule} for freq {freq}",
            str(bad[0].date()),
        )
    return freq.periods(index[0], freq.periods_between(index[0], index[-1]))


@dataclass(frozen=True)
class RollingOrigin:
    """The rolling-origin design of a backtest, validated once when built.

    Parameters
    ----------
    freq
        ``W`` or ``M`` (a :class:`~pulsetwin.schema.periods.Freq` or its letter).
    horizon
        Test periods per fold (``H``).
    folds
        Number of folds ``K`` counted back from the end, the last fold ending at the last period. Ignored when
        ``origins`` are given.
    step
        Periods between consecutive origins (default ``horizon``, so test windows tile without overlap).
    origins
        Explicit origin dates instead of ``folds``/``step``; each must be a period start (kept sorted).
    min_train
        Minimum number of training periods before an origin (default one year, ``freq.periods_per_year``).
    """

    freq: Freq
    horizon: int
    folds: int = 3
    step: int | None = None
    origins: tuple[pd.Timestamp | str, ...] | None = None
    min_train: int | None = None

    def __post_init__(self) -> None:
        freq = Freq.parse(self.freq, OWNER)
        object.__setattr__(self, "freq", freq)
        for name, value in (
            ("horizon", self.horizon),
            ("folds", self.folds),
            ("step", self.step),
            ("min_train", self.min_train),
        ):
            if value is None and name in ("step", "min_train"):
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise bad_parameter(name, OWNER, "an integer >= 1", value)
        if self.origins is not None:
            object.__setattr__(self, "origins", _origin_stamps(self.origins, freq))

    @property
    def train_periods(self) -> int:
        """The fewest training periods before any origin: ``min_train``, or one year of periods."""
        return self.freq.periods_per_year if self.min_train is None else self.min_train

    def settings(self) -> dict[str, Any]:
        """The design as plain values, for run records and JSON."""
        origins = None if self.origins is None else [str(pd.Timestamp(o).date()) for o in self.origins]
        return {
            "freq": self.freq.value, "horizon": self.horizon, "folds": self.folds, "step": self.step,
            "origins": origins, "min_train": self.min_train,
        }  # fmt: skip

    def split(self, periods: Sequence[pd.Timestamp] | pd.DatetimeIndex | pd.Series) -> list[Fold]:
        """Lay the folds on the observed period starts of a panel (duplicates allowed, gaps filled in).

        Returns
        -------
        list[Fold]
            Folds ordered by origin; every training period lies strictly before its origin.
        """
        freq, horizon = self.freq, self.horizon
        grid = period_grid(periods, freq)
        need = self.train_periods
        if self.origins is not None:
            starts = _origin_positions(grid, [pd.Timestamp(o) for o in self.origins], freq)
        else:
            step = horizon if self.step is None else self.step
            last_start = len(grid) - horizon
            starts = [last_start - (self.folds - 1 - i) * step for i in range(self.folds)]
        out: list[Fold] = []
        for i, start in enumerate(starts):
            if start < need:
                raise bad_parameter(
                    "folds/origins",
                    OWNER,
                    f"origins with at least {need} training periods before them (min_train); the data has "
                    f"{len(grid)} periods from {grid[0].date()}, and {horizon} test periods per fold after "
                    f"{need} training periods need at least {need + horizon}. Use fewer folds or a smaller "
                    "step; with a short history lower min_train (CLI: --min-train)",
                    f"an origin at period {start + 1} of {len(grid)}",
                )
            if start + horizon > len(grid):
                origin = freq.periods(grid[0], start + 1)[-1]
                raise bad_parameter(
                    "origins",
                    OWNER,
                    f"origins whose {horizon} test periods end by the last observed period {grid[-1].date()}",
                    str(origin.date()),
                )
            test = freq.periods(grid[start], horizon)
            out.append(Fold(index=i, origin=grid[start], test_periods=test, n_train=start))
        return out


def _origin_stamps(origins: Sequence[str | pd.Timestamp], freq: Freq) -> tuple[pd.Timestamp, ...]:
    """Explicit origins as sorted Timestamps; refuse none, duplicates and dates that start no period."""
    if isinstance(origins, str) or not isinstance(origins, Sequence):
        raise bad_parameter("origins", OWNER, "a sequence of dates", origins)
    stamps = sorted(_date(o) for o in origins)
    if not stamps:
        raise bad_parameter("origins", OWNER, "a non-empty list of dates", list(origins))
    for stamp in stamps:
        if not freq.is_start(pd.DatetimeIndex([stamp]))[0]:
            raise bad_parameter(
                "origins", OWNER, f"period starts ({freq.start_rule} for freq {freq})", str(stamp.date())
            )
    if len(set(stamps)) != len(stamps):
        raise bad_parameter("origins", OWNER, "distinct dates", [str(s.date()) for s in stamps])
    return tuple(stamps)


def _date(value: str | pd.Timestamp) -> pd.Timestamp:
    """An origin as a Timestamp; refuse text that is no date."""
    try:
        return pd.Timestamp(value)
    except (TypeError, ValueError):
        raise bad_parameter("origins", OWNER, "ISO dates YYYY-MM-DD", value) from None


def _origin_positions(grid: pd.DatetimeIndex, origins: Sequence[pd.Timestamp], freq: Freq) -> list[int]:
    """Positions of explicit origins on the period grid (origins past the grid are measured beyond it)."""
    positions: list[int] = []
    for stamp in origins:
        sign = 1 if stamp >= grid[0] else -1
        positions.append(sign * (freq.periods_between(min(stamp, grid[0]), max(stamp, grid[0])) - 1))
    return positions
