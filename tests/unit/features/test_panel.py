"""Panels: zero-filling only for seen pairs, withheld counts stay missing, precise errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pulsetwin.exceptions import SchemaError
from pulsetwin.features.panel import build_panel

ORIGIN = pd.Timestamp("2024-02-05")


def incidents(rows: list[tuple[str, str, str, float | None]], freq: str = "W") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "area_code": [r[0] for r in rows],
            "period_start": pd.to_datetime([r[1] for r in rows]),
            "freq": freq,
            "category": [r[2] for r in rows],
            "count": pd.array([r[3] for r in rows], dtype="Int64"),
            "source": "police",
        }
    )


def test_zero_fill_withheld_and_unseen() -> None:
    frame = incidents(
        [
            ("BU1", "2024-01-08", "theft_bicycle", 2),
            ("BU1", "2024-01-22", "theft_bicycle", None),
            ("BU2", "2024-01-15", "violence", 1),
            ("BU2", "2024-01-29", "violence", 4),
        ]
    )
    panel = build_panel(frame, "W", ORIGIN)
    assert list(panel.areas) == ["BU1", "BU2"] and list(panel.categories) == ["theft_bicycle", "violence"]
    assert list(panel.periods) == list(pd.date_range("2024-01-08", periods=4, freq="W-MON"))
    np.testing.assert_array_equal(panel.counts[0, 0], [2, 0, np.nan, 0])
    np.testing.assert_array_equal(panel.counts[1, 1], [np.nan, 1, 0, 4])
    assert np.isnan(panel.counts[0, 1]).all() and np.isnan(panel.counts[1, 0]).all()
    np.testing.assert_array_equal(panel.seen, [[True, False], [False, True]])


def test_sources_are_summed_and_one_withheld_source_withholds_the_cell() -> None:
    frame = pd.concat(
        [
            incidents([("BU1", "2024-01-08", "litter", 2), ("BU1", "2024-01-15", "litter", 1)]),
            incidents([("BU1", "2024-01-08", "litter", 3), ("BU1", "2024-01-15", "litter", None)]).assign(
                source="app"
            ),
        ]
    )
    panel = build_panel(frame, "W", ORIGIN)
    np.testing.assert_array_equal(panel.counts[0, 0, :2], [5, np.nan])


@pytest.mark.parametrize(
    ("rows", "freq", "column"),
    [
        ([("BU1", "2024-01-09", "litter", 1)], "W", "period_start"),
        ([("BU1", "2024-02-05", "litter", 1)], "W", "period_start"),
        ([("BU1", "2024-01-08", "litter", -1)], "W", "count"),
        ([("BU1", "2024-01-08", "litter", 1)], "M", "freq"),
    ],
)
def test_bad_rows_are_refused_with_their_location(rows: list, freq: str, column: str) -> None:
    frame = incidents(rows)
    with pytest.raises(SchemaError, match=f"row 1, column '{column}'"):
        build_panel(frame, freq, ORIGIN if freq == "W" else pd.Timestamp("2024-02-01"))


def test_categorical_text_gives_the_panel_of_plain_text() -> None:
    # The backtest hands models categorical text columns (unused and unsorted categories included); the
    # panel must not depend on that representation.
    frame = incidents(
        [
            ("BU2", "2024-01-15", "violence", 1),
            ("BU1", "2024-01-08", "theft_bicycle", 2),
            ("BU1", "2024-01-22", "theft_bicycle", None),
            ("BU2", "2024-01-29", "violence", 4),
            ("BU1", "2024-01-29", "violence", 0),
        ]
    )
    compact = frame.assign(
        area_code=pd.Categorical(frame["area_code"], categories=["BU9", "BU2", "BU1"]),
        category=pd.Categorical(frame["category"], categories=["violence", "litter", "theft_bicycle"]),
        freq=frame["freq"].astype("category"),
    ).iloc[::-1]
    plain, categorical = build_panel(frame, "W", ORIGIN), build_panel(compact, "W", ORIGIN)
    assert list(categorical.areas) == list(plain.areas) == ["BU1", "BU2"]
    assert list(categorical.categories) == list(plain.categories) == ["theft_bicycle", "violence"]
    np.testing.assert_array_equal(categorical.counts, plain.counts)
    np.testing.assert_array_equal(categorical.seen, plain.seen)


def test_missing_categorical_area_code_is_refused_with_its_row() -> None:
    frame = incidents([("BU1", "2024-01-08", "litter", 1), ("BU2", "2024-01-15", "litter", 2)])
    frame["area_code"] = pd.Categorical(["BU1", None], categories=["BU1", "BU2"])
    with pytest.raises(SchemaError, match="row 2, column 'area_code'"):
        build_panel(frame, "W", ORIGIN)
