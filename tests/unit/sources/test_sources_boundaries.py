"""Carrying series across boundary years: whole counts, preserved totals, reported gaps."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulsetwin.exceptions import SchemaError
from pulsetwin.sources.boundaries import load_boundary_map, remap_covariates, remap_incidents

MAP = (
    "old_code,new_code,weight\nBU09170101,BU09170111,0.6\nBU09170101,BU09170112,0.4\n"
    "BU09170205,BU09170207,1\n"
)


def _incidents(counts: list[int | None]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "area_code": ["BU09170101", "BU09170205", "BU09170300"][: len(counts)],
            "period_start": pd.Timestamp("2024-01-01"),
            "freq": "M",
            "category": "violence",
            "count": pd.array(counts, dtype="Int64"),
            "source": "politie:47022NED",
        }
    )


def test_load_checks_the_weights_and_codes(tmp_path: Path) -> None:
    good = tmp_path / "map.csv"
    good.write_text(MAP)
    assert len(load_boundary_map(good)) == 3
    bad = tmp_path / "bad.csv"
    bad.write_text("old_code,new_code,weight\nBU09170101,BU09170111,0.6\nBU09170101,BU09170112,0.3\n")
    with pytest.raises(SchemaError, match=r"row 1, column 'weight'.*summing to 1"):
        load_boundary_map(bad)
    bad.write_text("old_code,new_code,weight\nBU0917,BU09170111,1\n")
    with pytest.raises(SchemaError, match="column 'old_code'"):
        load_boundary_map(bad)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 500), st.integers(0, 500))
def test_split_counts_stay_whole_and_keep_every_total(first: int, second: int) -> None:
    mapping = pd.DataFrame(
        {"old_code": ["BU09170101", "BU09170101", "BU09170205"],
         "new_code": ["BU09170111", "BU09170112", "BU09170207"], "weight": [0.6, 0.4, 1.0]}
    )  # fmt: skip
    out, report = remap_incidents(_incidents([first, second]), mapping)
    counts = out.set_index("area_code")["count"]
    assert counts.sum() == first + second
    assert counts["BU09170111"] + counts["BU09170112"] == first
    assert abs(counts["BU09170111"] - 0.6 * first) < 1
    assert report.complete


def test_withheld_stays_missing_and_unknown_codes_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "map.csv"
    path.write_text(MAP)
    out, report = remap_incidents(
        _incidents([None, 3, 5]), load_boundary_map(path), target_codes={"BU09170111"}
    )
    counts = out.set_index("area_code")["count"]
    assert counts["BU09170111"] is pd.NA and counts["BU09170112"] is pd.NA
    assert counts["BU09170207"] == 3
    assert report.unmapped_codes == ("BU09170300",) and report.unmapped_rows == 1 and not report.complete


def test_covariates_sum_extensive_and_copy_intensive_only_from_one_feeder(tmp_path: Path) -> None:
    mapping = pd.DataFrame(
        {"old_code": ["BU09170101", "BU09170101", "BU09170102"],
         "new_code": ["BU09170111", "BU09170112", "BU09170112"], "weight": [0.5, 0.5, 1.0]}
    )  # fmt: skip
    cov = pd.DataFrame(
        {"area_code": ["BU09170101", "BU09170102", "BU09170101", "BU09170102"], "year": 2022,
         "variable": ["AantalInwoners", "AantalInwoners", "Bevolkingsdichtheid", "Bevolkingsdichtheid"],
         "value": [1000.0, 300.0, 2000.0, 900.0]}
    )  # fmt: skip
    out, report = remap_covariates(cov, mapping, extensive={"AantalInwoners"})
    values = out.set_index(["area_code", "variable"])["value"]
    assert values["BU09170111", "AantalInwoners"] == 500 and values["BU09170112", "AantalInwoners"] == 800
    assert values["BU09170111", "Bevolkingsdichtheid"] == 2000
    assert ("BU09170112", "Bevolkingsdichtheid") not in values.index
    assert report.intensive_not_mapped == (("BU09170112", "Bevolkingsdichtheid"),)
