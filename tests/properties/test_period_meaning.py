"""Monthly and weekly dates are told apart, and an import undone leaves the store as it was before."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulsetwin.exceptions import ConflictError
from pulsetwin.schema.periods import is_monthly, is_weekly
from pulsetwin.store import Store

months = st.lists(st.integers(0, 400), min_size=2, max_size=30, unique=True).map(
    lambda offsets: pd.DatetimeIndex([pd.Timestamp("2000-01-01") + pd.DateOffset(months=m) for m in offsets])
)
weeks = st.tuples(st.integers(0, 2000), st.integers(3, 120)).map(
    lambda start_n: pd.date_range(
        pd.Timestamp("2000-01-03") + pd.Timedelta(weeks=start_n[0]), periods=start_n[1], freq="W-MON"
    )
)


@given(months)
def test_month_starts_are_months_never_weeks(dates: pd.DatetimeIndex) -> None:
    assert is_monthly(dates) and not is_weekly(dates)


@given(weeks)
def test_consecutive_mondays_are_weeks_never_months(dates: pd.DatetimeIndex) -> None:
    assert is_weekly(dates) and not is_monthly(dates)


CODES = [f"BU0917{i:04d}" for i in range(4)]


def _frame(counts: list[int], source: str, start: int) -> pd.DataFrame:
    weeks_ = pd.date_range("2024-01-01", periods=len(counts), freq="W-MON") + pd.Timedelta(weeks=start)
    return pd.DataFrame(
        {
            "area_code": [CODES[i % len(CODES)] for i in range(len(counts))],
            "period_start": weeks_.astype("datetime64[ns]"),
            "freq": "W",
            "category": "burglary_residential",
            "count": pd.array(counts, dtype="int64"),
            "source": source,
        }
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """One store for every example: each example undoes what it imported, so it starts empty."""
    with Store(tmp_path_factory.mktemp("undo") / "s.duckdb") as opened:
        yield opened


@settings(max_examples=8, deadline=None)
@given(
    st.lists(st.integers(0, 9), min_size=1, max_size=12),
    st.lists(st.integers(0, 9), min_size=1, max_size=12),
    st.integers(0, 8),
    st.booleans(),
)
def test_undo_newest_first_restores_every_state(
    store: Store, first: list[int], second: list[int], shift: int, revise: bool
) -> None:
    empty = store.read("incidents")
    assert empty.empty
    base = store.import_frames({"incidents": _frame(first, "politie", 0)}, source="politie")
    before = store.read("incidents")
    try:
        report = store.import_frames(
            {"incidents": _frame(second, "politie", shift)}, source="politie", revise=revise
        )
    except ConflictError:  # a conflict without revise: nothing was imported
        assert store.read("incidents").equals(before)
    else:
        store.undo_import(report.dataset_id, reason="property")
        assert store.read("incidents").equals(before)
    store.undo_import(base.dataset_id, reason="property")
    assert store.read("incidents").equals(empty)
