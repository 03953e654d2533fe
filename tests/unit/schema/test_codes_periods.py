"""Known answers for CBS code rules and period rules."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulsetwin.schema import codes, periods


@pytest.mark.parametrize(
    ("code", "level"),
    [
        ("GM0917", "gemeente"),
        ("WK091701", "wijk"),
        ("BU09170101", "buurt"),
        ("BU0363AD03", "buurt"),
        ("WK0363AD", "wijk"),
        ("C190000_320000", "cell"),
        ("BU09170101 ", None),
        ("GM917", None),
        ("bu09170101", None),
        ("C190000", None),
        ("", None),
    ],
)
def test_level_of(code: str, level: str | None) -> None:
    assert codes.level_of(code) == level
    assert codes.is_valid_code(code) == (level is not None)


def test_parents_follow_from_the_code() -> None:
    assert codes.parent_of("BU09170101") == "WK091701"
    assert codes.parent_of("WK091701") == "GM0917"
    assert codes.parent_of("GM0917") is None
    assert codes.gemeente_of("BU09170101") == "GM0917"
    assert codes.wijk_of("BU0363AD03") == "WK0363AD"
    assert codes.gemeente_of("C1_2") is None


def test_vectorised_forms_agree_with_scalar_ones() -> None:
    values = pd.Series(["GM0917", "WK091701", "BU09170101", "C100_200", "nonsense"])
    levels = codes.code_levels(values)
    assert levels.iloc[:4].tolist() == ["gemeente", "wijk", "buurt", "cell"]
    assert pd.isna(levels.iloc[4])
    wijk, gemeente = codes.ancestor_codes(values)
    assert wijk.tolist() == ["", "", "WK091701", "", ""]
    assert gemeente.tolist() == ["", "GM0917", "GM0917", "", ""]


def test_cell_code_round_trip() -> None:
    assert codes.cell_corner(codes.cell_code(190000, 320500)) == (190000, 320500)
    with pytest.raises(ValueError, match="grid-cell"):
        codes.cell_corner("BU09170101")


def test_parse_dates_flags_bad_shapes_and_impossible_days() -> None:
    parsed, bad = periods.parse_dates(pd.Series(["2023-01-02", "2023-02-30", "02-01-2023", None]))
    assert parsed.iloc[0] == pd.Timestamp("2023-01-02")
    assert bad.tolist() == [False, True, True, False]
    assert parsed.dtype == "datetime64[ns]"


def test_parse_timestamps_refuses_offsets() -> None:
    text = pd.Series(["2023-01-02T13:45:00", "2023-01-02 13:45", "2023-01-02", "2023-01-02T13:45:00Z", "x"])
    parsed, bad, offset = periods.parse_timestamps(text)
    assert parsed.iloc[0] == pd.Timestamp("2023-01-02 13:45")
    assert parsed.iloc[2] == pd.Timestamp("2023-01-02")
    assert bad.tolist() == [False, False, False, True, True]
    assert offset.tolist() == [False, False, False, True, False]


def _pandas_reading(text: str) -> pd.Timestamp | None:
    """The oracle: pandas' ISO 8601 reading of one shaped value, None when it is no timestamp in ns range."""
    stamp = pd.to_datetime(pd.Series([text], dtype="str"), format="ISO8601", errors="coerce").iloc[0]
    return (
        None if pd.isna(stamp) or not pd.Timestamp.min <= stamp <= pd.Timestamp.max else pd.Timestamp(stamp)
    )


@st.composite
def _iso_text(draw: st.DrawFn) -> str:
    """A valid local ISO timestamp in one of the accepted shapes (date only, minutes, seconds, 1-9 digits)."""
    stamp = draw(st.datetimes(dt.datetime(1678, 1, 1), dt.datetime(2261, 12, 31)))
    text = stamp.strftime("%Y-%m-%d")
    shape = draw(st.sampled_from(["date", "minutes", "seconds", "fraction"]))
    if shape != "date":
        text += draw(st.sampled_from("T ")) + stamp.strftime("%H:%M")
    if shape in ("seconds", "fraction"):
        text += stamp.strftime(":%S")
    if shape == "fraction":
        text += "." + draw(st.from_regex(r"[0-9]{1,9}", fullmatch=True))
    return text


@settings(max_examples=60, deadline=None)
@given(
    valid=st.lists(_iso_text(), min_size=1, max_size=20),
    odd=st.lists(st.from_regex(periods.TIMESTAMP_PATTERN, fullmatch=True), max_size=2),
)
def test_parse_timestamps_reads_every_value_as_pandas_does(valid: list[str], odd: list[str]) -> None:
    """All-valid columns take Arrow's cast, columns with an odd value pandas' reading: both equal the oracle."""
    parsed, bad, offset = periods.parse_timestamps(pd.Series([*valid, *odd, None], dtype="str"))
    expected = [_pandas_reading(t) for t in [*valid, *odd]]
    assert bad.tolist() == [e is None for e in expected] + [False]
    assert not offset.any() and parsed.dtype == "datetime64[ns]"
    assert [None if pd.isna(p) else p for p in parsed] == [*expected, None]


def test_snapping_and_inference() -> None:
    days = pd.DatetimeIndex(["2023-01-04", "2023-03-31", "2024-01-01"])
    assert periods.week_start(days).strftime("%Y-%m-%d").tolist() == [
        "2023-01-02",
        "2023-03-27",
        "2024-01-01",
    ]
    assert periods.month_start(days).strftime("%Y-%m-%d").tolist() == [
        "2023-01-01",
        "2023-03-01",
        "2024-01-01",
    ]
    assert periods.infer_freq(pd.DatetimeIndex(["2023-01-02", "2023-01-09"])) == "W"
    assert periods.infer_freq(pd.DatetimeIndex(["2023-02-01", "2023-03-01"])) == "M"
    assert periods.infer_freq(pd.DatetimeIndex(["2024-01-01"])) is None  # a Monday and a 1st
    assert periods.infer_freq(pd.DatetimeIndex(["2023-01-03"])) is None
    assert periods.Freq.W.start(days).equals(periods.week_start(days))
    assert periods.Freq.M.start(days).equals(periods.month_start(days))
