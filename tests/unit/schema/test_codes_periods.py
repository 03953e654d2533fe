"""Known answers for CBS code rules and period rules."""

from __future__ import annotations

import pandas as pd
import pytest

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
    with pytest.raises(ValueError, match="freq"):
        periods.period_start(days, "Q")
