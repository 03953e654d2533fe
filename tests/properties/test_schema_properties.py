"""Properties of the schema layer: idempotent validation, CSV round trips, the BSN 11-check, new slugs."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from pulsetwin.schema import new_categories, validate_table
from pulsetwin.schema.categories import BY_SLUG
from pulsetwin.schema.pii_content import bsn_valid

SETTINGS = settings(max_examples=25, deadline=None)
slugs = st.from_regex(r"[a-z][a-z0-9_]{1,20}", fullmatch=True)
codes = st.one_of(
    st.integers(0, 9999).map(lambda g: f"GM{g:04d}"),
    st.integers(0, 999_999).map(lambda w: f"WK{w:06d}"),
    st.integers(0, 99_999_999).map(lambda b: f"BU{b:08d}"),
    st.tuples(st.integers(0, 280), st.integers(290, 620)).map(lambda c: f"C{c[0] * 1000}_{c[1] * 1000}"),
)


@st.composite
def incident_frames(draw: st.DrawFn) -> pd.DataFrame:
    """Typed incidents with unique keys, mixed W/M periods and withheld counts."""
    n = draw(st.integers(1, 25))
    rows = draw(
        st.lists(
            st.tuples(
                codes, st.sampled_from(["W", "M"]), st.integers(0, 200), slugs, st.sampled_from(["a", "b"])
            ),
            min_size=n,
            max_size=n,
            unique_by=lambda r: (r[0], r[1], r[2], r[3], r[4]),
        )
    )
    counts = draw(st.lists(st.one_of(st.none(), st.integers(0, 10**6)), min_size=n, max_size=n))
    starts = [
        pd.Timestamp("2015-01-05") + pd.Timedelta(weeks=k)
        if f == "W"
        else pd.Timestamp("2015-01-01") + pd.DateOffset(months=k)
        for _, f, k, _, _ in rows
    ]
    return pd.DataFrame(
        {
            "area_code": [r[0] for r in rows],
            "period_start": pd.to_datetime(starts),
            "freq": [r[1] for r in rows],
            "category": [r[3] for r in rows],
            "count": pd.array(counts, dtype="Int64"),
            "source": [r[4] for r in rows],
        }
    )


@st.composite
def event_frames(draw: st.DrawFn) -> pd.DataFrame:
    """Typed events with second-resolution timestamps and RD coordinates."""
    n = draw(st.integers(1, 20))
    seconds = draw(st.lists(st.integers(0, 10**9), min_size=n, max_size=n))
    coordinate = st.floats(-7000, 300000, allow_nan=False)
    return pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(n)],
            "category": draw(st.lists(slugs, min_size=n, max_size=n)),
            "occurred_at": pd.Timestamp("2000-01-01") + pd.to_timedelta(seconds, unit="s"),
            "x": draw(st.lists(coordinate, min_size=n, max_size=n)),
            "y": draw(st.lists(st.floats(289000, 629000, allow_nan=False), min_size=n, max_size=n)),
            "source": "sensor",
        }
    )


def via_csv(frame: pd.DataFrame) -> pd.DataFrame:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    buffer.seek(0)
    return pd.read_csv(buffer, dtype=str)


@SETTINGS
@given(incident_frames())
def test_incidents_idempotent_and_csv_round_trip(frame: pd.DataFrame) -> None:
    once = validate_table("incidents", frame)
    pd.testing.assert_frame_equal(validate_table("incidents", once), once)
    pd.testing.assert_frame_equal(validate_table("incidents", via_csv(once)), once)
    assert once["count"].isna().tolist() == frame["count"].isna().tolist()


@SETTINGS
@given(event_frames())
def test_events_idempotent_and_csv_round_trip(frame: pd.DataFrame) -> None:
    once = validate_table("events", frame)
    pd.testing.assert_frame_equal(validate_table("events", once), once)
    pd.testing.assert_frame_equal(validate_table("events", via_csv(once)), once)


def reference_bsn(number: int) -> bool:
    digits = [int(d) for d in f"{number:09d}"]
    total = sum(w * d for w, d in zip(range(9, 1, -1), digits[:8], strict=True)) - digits[8]
    return total % 11 == 0 and total != 0


@SETTINGS
@given(st.lists(st.integers(0, 999_999_999), min_size=1, max_size=200))
def test_bsn_check_matches_reference(numbers: list[int]) -> None:
    assert bsn_valid(np.array(numbers)).tolist() == [reference_bsn(n) for n in numbers]


@SETTINGS
@given(st.lists(slugs, min_size=1, max_size=10, unique=True))
def test_new_slugs_are_accepted_and_reported(categories: list[str]) -> None:
    n = len(categories)
    frame = pd.DataFrame(
        {
            "area_code": "BU09170101",
            "period_start": "2023-01-02",
            "freq": "W",
            "category": categories,
            "count": "1",
            "source": "municipal",
        }
    )
    out = validate_table("incidents", frame)
    assert len(out) == n
    assert new_categories(out) == {c for c in categories if c not in BY_SLUG}
