"""Known answers for validate_table: each rule refuses what it must, with a precise message."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulsetwin.exceptions import ParameterTypeError, SchemaError
from pulsetwin.schema import new_categories, validate_table

CLEAN = Path(__file__).parents[2] / "data" / "clean"
SQUARE = "POLYGON ((190000 320000, 190500 320000, 190500 320500, 190000 320500, 190000 320000))"


def incidents(**changes: list[object]) -> pd.DataFrame:
    """Three valid incident rows as text (like a CSV read with dtype=str), with column overrides."""
    frame = pd.DataFrame(
        {
            "area_code": ["BU09170101", "BU09170102", "WK091701"],
            "period_start": ["2023-01-02", "2023-01-09", "2023-01-01"],
            "freq": ["W", "W", "M"],
            "category": ["burglary_residential", "overlast_jeugd", "vandalism"],
            "count": ["3", None, "4"],
            "source": ["police:47022NED"] * 3,
        },
        dtype="str",
    )
    return frame.assign(**changes)


def areas(**changes: list[object]) -> pd.DataFrame:
    """A gemeente, wijk, buurt and cell with consistent parents."""
    frame = pd.DataFrame(
        {
            "area_code": ["GM0917", "WK091701", "BU09170101", "C190000_320000"],
            "name": ["Heerlen", "Heerlen-Centrum", "Meezenbroek en Schaesbergveld", ""],
            "level": ["gemeente", "wijk", "buurt", "cell"],
            "parent_code": ["", "GM0917", "WK091701", "BU09170101"],
            "geometry": [SQUARE] * 4,
        }
    )
    return frame.assign(**changes)


def refusal(table: str, frame: pd.DataFrame) -> SchemaError:
    with pytest.raises(SchemaError) as info:
        validate_table(table, frame, file="input.csv")
    return info.value


def test_valid_text_is_normalised_to_canonical_dtypes() -> None:
    out = validate_table("incidents", incidents())
    assert list(out.columns) == ["area_code", "period_start", "freq", "category", "count", "source"]
    assert out["period_start"].dtype == "datetime64[ns]"
    assert out["count"].dtype == "Int64"
    assert out["count"].isna().tolist() == [False, True, False]  # withheld stays missing, never zero
    assert out["count"].iloc[0] == 3


def test_input_is_not_mutated() -> None:
    frame = incidents()
    before = frame.copy()
    validate_table("incidents", frame)
    pd.testing.assert_frame_equal(frame, before)


def test_error_names_file_row_column_value_and_fix() -> None:
    error = refusal("incidents", incidents(count=["3", "-2", "1"]))
    assert error.where.file == "input.csv"
    assert error.where.row == 2
    assert error.where.column == "count"
    assert error.where.value == "-2"
    text = str(error)
    for part in ("input.csv", "row 2", "'count'", "'-2'", "non-negative", "Fix:"):
        assert part in text


def test_monday_rule() -> None:
    error = refusal("incidents", incidents(period_start=["2023-01-03", "2023-01-09", "2023-01-01"]))
    assert error.where.column == "period_start"
    assert "Monday" in error.expected and "Tuesday" in error.expected
    assert "2023-01-02" in (error.fix or "")


def test_month_rule() -> None:
    error = refusal("incidents", incidents(period_start=["2023-01-02", "2023-01-09", "2023-01-02"]))
    assert (error.where.row, error.where.column) == (3, "period_start")
    assert "1st of a month" in error.expected
    assert "2023-01-01" in (error.fix or "")


@pytest.mark.parametrize(("value", "words"), [("2.5", "fractional"), ("-1", "non-negative"), ("x", "whole")])
def test_bad_counts(value: str, words: str) -> None:
    error = refusal("incidents", incidents(count=["1", "2", value]))
    assert (error.where.row, error.where.column, error.where.value) == (3, "count", value)
    assert words in error.expected


def test_integral_floats_and_typed_counts_are_accepted() -> None:
    out = validate_table("incidents", incidents(count=["3.0", None, "4"]))
    assert out["count"].tolist()[0] == 3
    typed = validate_table("incidents", incidents(count=[3.0, np.nan, 4.0]))
    assert typed["count"].dtype == "Int64"
    error = refusal("incidents", incidents(count=[3.0, 2.5, 4.0]))
    assert "fractional" in error.expected


@pytest.mark.parametrize("code", ["BU09170101 ", "BU917", "Heerlen", "gm0917"])
def test_bad_area_code(code: str) -> None:
    error = refusal("incidents", incidents(area_code=[code, "BU09170102", "WK091701"]))
    assert (error.where.row, error.where.column, error.where.value) == (1, "area_code", code)


def test_wrong_level_and_parent() -> None:
    error = refusal("areas", areas(level=["gemeente", "buurt", "buurt", "cell"]))
    assert (error.where.row, error.where.column) == (2, "level")
    assert "wijk" in error.expected
    error = refusal("areas", areas(parent_code=["", "GM0918", "WK091701", ""]))
    assert (error.where.row, error.where.column) == (2, "parent_code")
    assert "GM0917" in error.expected
    error = refusal("areas", areas(parent_code=["GM0917", "GM0917", "WK091701", ""]))
    assert (error.where.row, error.where.column) == (1, "parent_code")


def test_areas_geometry_rules() -> None:
    assert validate_table("areas", areas())["parent_code"].iloc[0] == ""
    assert refusal("areas", areas(geometry=["POLYGON ((", SQUARE, SQUARE, SQUARE])).where.column == "geometry"
    empty = refusal("areas", areas(geometry=[SQUARE, "POLYGON EMPTY", SQUARE, SQUARE]))
    assert (empty.where.row, empty.where.column) == (2, "geometry")
    lonlat = refusal(
        "areas", areas(geometry=["POLYGON ((5.9 50.8, 6 50.8, 6 50.9, 5.9 50.8))"] + [SQUARE] * 3)
    )
    assert "28992" in lonlat.expected
    unnamed = refusal("areas", areas(name=["Heerlen", "", "x", ""]))
    assert (unnamed.where.row, unnamed.where.column) == (2, "name")


def test_areas_without_any_geometry_are_a_names_only_list_but_a_mix_is_refused() -> None:
    names_only = validate_table("areas", areas(geometry=[None, "", None, ""]))
    assert names_only["geometry"].tolist() == ["", "", "", ""]
    mixed = refusal("areas", areas(geometry=[SQUARE, None, SQUARE, SQUARE]))
    assert (mixed.where.row, mixed.where.column) == (2, "geometry") and "on none" in mixed.expected


def test_duplicate_keys_are_listed() -> None:
    frame = pd.concat([incidents(), incidents()], ignore_index=True)
    error = refusal("incidents", frame)
    assert "must be unique" in error.expected
    assert "BU09170101, 2023-01-02, W, burglary_residential, police:47022NED) at rows 1, 4" in error.expected
    many = pd.DataFrame(
        {
            "area_code": [f"BU091701{i:02d}" for i in range(12)] * 2,
            "year": "2023",
            "variable": "v",
            "value": "1.5",
        }
    )
    assert "and 2 more" in refusal("covariates", many).expected


def test_duplicate_keys_after_normalisation() -> None:
    frame = pd.DataFrame(
        {"area_code": ["GM0917"] * 2, "year": ["2023", "2023.0"], "variable": "v", "value": "1"}
    )
    assert "must be unique" in refusal("covariates", frame).expected


def test_unknown_and_missing_columns() -> None:
    error = refusal("incidents", incidents().assign(remark="x"))
    assert "remark" in error.expected and "area_code, period_start, freq" in error.expected
    error = refusal("incidents", incidents().drop(columns="source"))
    assert "source" in error.expected and "expected columns" in error.expected


def test_categories_any_valid_slug_accepted() -> None:
    frame = incidents(category=["overlast_jeugd", "hondenpoep_meldingen", "vandalism"])
    out = validate_table("incidents", frame)
    assert new_categories(out) == {"overlast_jeugd", "hondenpoep_meldingen"}
    assert (
        refusal("incidents", incidents(category=["Woninginbraak", "x1", "vandalism"])).where.column
        == "category"
    )


def test_freq_and_missing_values() -> None:
    assert refusal("incidents", incidents(freq=["W", "W", "Q"])).where.row == 3
    assert refusal("incidents", incidents(source=["a", None, "c"])).expected.startswith("expected a value")


def test_truth_freq_is_inferred_or_refused() -> None:
    truth = pd.DataFrame(
        {
            "area_code": ["BU09170101"] * 2,
            "category": "x_y",
            "period_start": ["2023-02-01", "2023-03-01"],
            "intensity": ["1.5", "2"],
        }
    )
    out = validate_table("truth", truth)
    assert out["freq"].tolist() == ["M", "M"]
    assert out["offence_intensity"].isna().all()
    mixed = truth.assign(period_start=["2023-01-02", "2023-03-01"])
    assert "cannot infer freq" in refusal("truth", mixed).expected


def test_events_rules() -> None:
    events = pd.DataFrame(
        {
            "event_id": ["e1", "e2"],
            "category": "noise_peaks",
            "occurred_at": ["2023-01-02T13:45:00", "2023-01-02"],
            "x": ["190000.5", "191000"],
            "y": ["320000", "321000"],
            "source": "sensor",
        }
    )
    out = validate_table("events", events)
    assert out["occurred_at"].iloc[1] == pd.Timestamp("2023-01-02")
    assert refusal("events", events.assign(occurred_at=["2023-01-02T13:45:00+01:00", "2023-01-02"])).fix
    assert refusal("events", events.assign(y=["52.1", "320000"])).where.column == "y"
    assert refusal("events", events.assign(x=["inf", "190000"])).expected.startswith("expected a finite")
    assert refusal("events", events.assign(x=["1,5", "190000"])).where.value == "1,5"
    beyond = refusal("events", events.assign(occurred_at=["2023-01-02", "2300-01-01T00:00"]))  # no traceback
    assert (beyond.where.row, beyond.where.column) == (2, "occurred_at")
    assert refusal("events", events.assign(occurred_at=["2023-02-30", "2023-01-02"])).where.row == 1


@settings(max_examples=40, deadline=None)
@given(
    xs=st.lists(st.floats(-7000, 300000), min_size=1, max_size=15),
    odd=st.lists(st.sampled_from(["1,5", "0x10", "1_000", "abc"]), max_size=1),
)
def test_coordinates_read_as_python_reads_them(xs: list[float], odd: list[str]) -> None:
    """Numbers written in any float form read exactly (round trip); one odd value is found and named."""
    written = [repr(x) if i % 2 else f"{x:.17g}" for i, x in enumerate(xs)] + odd
    events = pd.DataFrame(
        {"event_id": [f"e{i}" for i in range(len(written))], "category": "noise_peaks",
         "occurred_at": "2023-01-02", "x": written, "y": "320000", "source": "sensor"}
    )  # fmt: skip
    if odd:
        assert refusal("events", events).where.row == len(written)
        return
    assert validate_table("events", events)["x"].tolist() == [float(w) for w in written]


def test_forecast_quantiles_must_be_ordered() -> None:
    forecasts = pd.DataFrame(
        {
            "run_id": "r1",
            "model": "naive",
            "area_code": "BU09170101",
            "category": "vandalism",
            "period_start": ["2023-03-06"],
            "mean": [1.0],
            "q05": [0.5],
            "q50": [0.4],
            "q95": [2.0],
        }
    )
    assert refusal("forecasts", forecasts).where.column == "q50"
    assert refusal("forecasts", forecasts.assign(q50=[1.0], period_start=["2023-03-07"])).where.column == (
        "period_start"
    )


def test_dates_must_be_iso() -> None:
    error = refusal("incidents", incidents(period_start=["02-01-2023", "2023-01-09", "2023-01-01"]))
    assert "ISO date" in error.expected
    timed = incidents(
        period_start=pd.to_datetime(["2023-01-02 10:00", "2023-01-09 00:00", "2023-01-01 00:00"])
    )
    assert "without time" in refusal("incidents", timed).expected


def test_unknown_table_and_wrong_type() -> None:
    with pytest.raises(SchemaError, match="unknown table"):
        validate_table("people", incidents())
    with pytest.raises(ParameterTypeError, match="DataFrame"):
        validate_table("incidents", [1, 2])  # type: ignore[arg-type]


@pytest.mark.parametrize("path", sorted(CLEAN.glob("canonical_*.csv")), ids=lambda p: p.name)
def test_clean_canonical_files_validate(path: Path) -> None:
    table = path.stem.removeprefix("canonical_")
    out = validate_table(table, pd.read_csv(path, dtype=str), file=path.name)
    again = validate_table(table, out)
    pd.testing.assert_frame_equal(out, again)


def test_empty_frame_keeps_canonical_dtypes() -> None:
    out = validate_table("incidents", incidents().iloc[:0])
    assert len(out) == 0
    assert out["period_start"].dtype == "datetime64[ns]"
