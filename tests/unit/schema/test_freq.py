"""``Freq``: one enum with the calendar rules of a period length, parsed once at the boundary."""

from __future__ import annotations

import datetime as dt
import json
import re

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulsetwin.exceptions import ParameterError
from pulsetwin.schema.periods import Freq

DAYS = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2060, 12, 31))


@pytest.mark.parametrize("value", ["W", "M", Freq.W, Freq.M])
def test_parse_returns_the_member_that_equals_the_letter(value: str) -> None:
    freq = Freq.parse(value)
    assert freq is Freq(str(value)) and freq == str(value)
    assert json.dumps({"freq": freq}) == f'{{"freq": "{value}"}}'  # stored and written as the letter


@pytest.mark.parametrize("value", ["w", "m", "Q", "", " W", "weeks", None, 1, True, ["W"]])
def test_parse_refuses_anything_else_naming_the_owner_and_value(value: object) -> None:
    expected = rf"'freq' parameter of the file x\.yaml must be .*{re.escape(repr(value))}"
    with pytest.raises(ParameterError, match=expected):
        Freq.parse(value, "the file x.yaml")


def test_calendar_rules_known_values() -> None:
    assert (Freq.W.periods_per_year, Freq.M.periods_per_year) == (52, 12)
    assert (Freq.W.default_horizon, Freq.W.default_folds) == (4, 3)
    assert (Freq.M.default_horizon, Freq.M.default_folds) == (3, 4)
    assert (Freq.W.words, Freq.M.unit("en"), Freq.M.unit("nl")) == ("weeks", "month", "maand")
    assert Freq.W.periods(pd.Timestamp("2024-12-30"), 2).strftime("%F").tolist() == [
        "2024-12-30",
        "2025-01-06",
    ]
    assert Freq.M.periods(pd.Timestamp("2024-12-01"), 2).strftime("%F").tolist() == [
        "2024-12-01",
        "2025-01-01",
    ]
    assert pd.Timestamp("2024-03-31") - Freq.M.offset == pd.Timestamp("2024-02-29")
    assert Freq.W.is_start(pd.DatetimeIndex(["2024-01-01", "2024-01-02"])).tolist() == [True, False]


@settings(max_examples=60, deadline=None)
@given(day=DAYS, freq=st.sampled_from(list(Freq)), n=st.integers(1, 120))
def test_periods_start_on_the_rule_and_count_back(day: dt.date, freq: Freq, n: int) -> None:
    """Snapping lands on a period start at or before the day, is idempotent, and n periods from a start
    span exactly n periods."""
    stamp = pd.DatetimeIndex([day])
    start = freq.start(stamp)
    assert freq.is_start(start).all() and start[0] <= stamp[0]
    assert (stamp[0] - start[0]).days < (7 if freq is Freq.W else 31)
    assert freq.start(start).equals(start)
    run = freq.periods(start[0], n)
    assert freq.is_start(run).all()
    assert freq.periods_between(run[0], run[-1]) == n
    assert (run[1:] == run[:-1] + freq.offset).all()


def test_a_year_holds_about_periods_per_year_periods() -> None:
    for freq in Freq:
        year = freq.periods(freq.start(pd.DatetimeIndex(["2023-01-01"]))[0], freq.periods_per_year + 1)
        assert 364 <= (year[-1] - year[0]).days <= 365
