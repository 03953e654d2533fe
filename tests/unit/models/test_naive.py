"""Naive baselines: known answers on a hand-built history, including withheld counts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pulsetwin.models.base import History
from pulsetwin.models.naive import HistoricalMean, LastValue, MovingMean, SeasonalNaive


def history(values: list[float | None], freq: str = "W") -> History:
    start = "2022-01-03" if freq == "W" else "2022-01-01"
    periods = pd.date_range(start, periods=len(values), freq="W-MON" if freq == "W" else "MS")
    frame = pd.DataFrame(
        {
            "area_code": "BU1",
            "period_start": periods,
            "freq": freq,
            "category": "violence",
            "count": pd.array(values, dtype="Int64"),
            "source": "police",
        }
    )
    step = pd.offsets.Week(weekday=0) if freq == "W" else pd.offsets.MonthBegin(1)
    return History(frame, freq, periods[-1] + step)


def means(model: object, h: History, horizon: int) -> list[float]:
    return list(model.fit(h).predict(horizon)["mean"])  # type: ignore[attr-defined]


def test_known_answers_weekly() -> None:
    values: list[float | None] = [float(i % 7) for i in range(60)]
    values[-1] = None
    h = history(values)
    assert means(LastValue(), h, 2) == [values[-2], values[-2]]
    assert means(SeasonalNaive(), h, 2) == [values[60 - 52], values[61 - 52]]
    assert means(MovingMean(), h, 1) == [np.mean([v for v in values[-4:] if v is not None])]
    assert means(MovingMean(k=2), h, 1) == [values[-2]]
    assert means(HistoricalMean(), h, 1) == [np.mean([v for v in values if v is not None])]


def test_seasonal_naive_falls_back_to_earlier_years_then_the_mean_monthly() -> None:
    values: list[float | None] = [float(i) for i in range(30)]
    values[30 - 12] = None
    got = means(SeasonalNaive(), history(values, "M"), 1)
    assert got == [values[30 - 24]]
    short = means(SeasonalNaive(), history([1.0, 3.0], "M"), 1)
    assert short == [2.0]
