"""Validator rules for files as users bring them: empty counts, totals rows, absurd values, declared CRSs."""

from __future__ import annotations

import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from pulsetwin.exceptions import CRSError, SchemaError
from pulsetwin.schema.checker import refuse_duplicate_columns
from pulsetwin.schema.validate import validate_table

INCIDENTS = pd.DataFrame(
    {
        "area_code": ["BU09170101", "BU09170102", "BU09170103"],
        "period_start": ["2024-01-01"] * 3,
        "freq": ["W"] * 3,
        "category": ["theft"] * 3,
        "count": ["3", "", "1"],
        "source": ["politie"] * 3,
    },
    dtype="str",
)
TO_WGS84 = Transformer.from_crs(28992, 4326, always_xy=True)


def test_an_empty_count_is_refused_naming_row_and_column_unless_withheld_is_allowed() -> None:
    with pytest.raises(SchemaError) as info:
        validate_table("incidents", INCIDENTS, file="f.csv", allow_withheld=False)
    assert "file 'f.csv', row 2, column 'count'" in str(info.value) and "--allow-withheld" in str(info.value)
    assert validate_table("incidents", INCIDENTS, allow_withheld=True)["count"].isna().tolist() == [
        False,
        True,
        False,
    ]


def test_a_null_in_a_typed_count_is_refused_too() -> None:
    typed = INCIDENTS.assign(count=pd.array([3, None, 1], dtype="Int64"))
    with pytest.raises(SchemaError, match="row 2, column 'count'"):
        validate_table("incidents", typed, allow_withheld=False)


@pytest.mark.parametrize("label", ["Totaal", "TOTAL", " totaal ", "Alle buurten", "Eindtotaal"])
def test_a_totals_row_is_refused_naming_area_code(label: str) -> None:
    frame = INCIDENTS.assign(count="1")
    frame.loc[3] = [label, "2024-01-01", "W", "theft", "3", "politie"]
    with pytest.raises(SchemaError) as info:
        validate_table("incidents", frame, file="f.csv")
    assert "row 4, column 'area_code'" in str(info.value) and "totals row" in str(info.value)


@pytest.mark.parametrize(
    ("column", "value", "limit"),
    [("count", "9" * 1_000_000, 20), ("source", "s" * 1_048_576, 500), ("period_start", "2" * 50, 40)],
)
def test_absurdly_long_values_are_refused_naming_the_column(column: str, value: str, limit: int) -> None:
    frame = INCIDENTS.assign(count="1")
    frame.loc[1, column] = value
    with pytest.raises(SchemaError) as info:
        validate_table("incidents", frame, file="f.csv")
    message = str(info.value)
    assert f"row 2, column '{column}'" in message and f"at most {limit:,} characters" in message
    assert f"holds {len(value):,}" in message and len(message) < 600


def test_duplicate_column_names_are_refused_by_name() -> None:
    with pytest.raises(SchemaError, match=r"file 'f.csv': column\(s\) count, freq appear more than once"):
        refuse_duplicate_columns(["freq", "count", "freq", "count", "area_code"], file="f.csv")


def _wgs84_square(x: float, y: float, size: float = 500.0) -> str:
    square = shapely.box(x, y, x + size, y + size)
    return shapely.to_wkt(shapely.transform(square, lambda c: _to_wgs84(c)), rounding_precision=9)


def _to_wgs84(coords: object) -> object:
    import numpy as np

    array = np.asarray(coords)
    lon, lat = TO_WGS84.transform(array[:, 0], array[:, 1])
    return np.column_stack([lon, lat])


AREAS_WGS84 = pd.DataFrame(
    {
        "area_code": ["GM0917", "BU09170101"],
        "name": ["Heerlen", "Heerlen-Centrum"],
        "level": ["gemeente", "buurt"],
        "parent_code": ["", "WK091701"],
        "geometry": [_wgs84_square(191_000, 318_000, 8000), _wgs84_square(196_000, 321_000)],
    },
    dtype="str",
)


def test_wkt_in_a_declared_crs_is_reprojected_to_rd_new() -> None:
    out = validate_table("areas", AREAS_WGS84, file="a.csv", crs="EPSG:4326")
    bounds = shapely.bounds(shapely.from_wkt(out["geometry"].iloc[1]))
    assert bounds == pytest.approx([196_000, 321_000, 196_500, 321_500], abs=0.01)
    coords = shapely.get_coordinates(shapely.from_wkt(out["geometry"])).ravel()
    assert (coords.round(3) == coords).all()  # written in millimetres (WKT_DECIMALS)


def test_wkt_outside_rd_new_without_a_declared_crs_is_refused_with_the_fix() -> None:
    with pytest.raises(SchemaError) as info:
        validate_table("areas", AREAS_WGS84, file="a.csv")
    message = str(info.value)
    assert "file 'a.csv', row 1, column 'geometry'" in message and "--crs EPSG:NNNN" in message


def test_a_wrong_declared_crs_is_refused_pointing_at_it() -> None:
    rd = AREAS_WGS84.assign(geometry=["POINT (196000 321000)", "POINT (196500 321500)"])
    with pytest.raises(SchemaError, match="check that --crs EPSG:4326 is the CRS"):
        validate_table("areas", rd, file="a.csv", crs="EPSG:4326")


def test_event_coordinates_are_reprojected_and_an_unknown_crs_names_the_file() -> None:
    lon, lat = TO_WGS84.transform([196_000.0, 197_000.0], [321_000.0, 322_000.0])
    events = pd.DataFrame(
        {
            "event_id": ["e1", "e2"],
            "category": ["theft", "theft"],
            "occurred_at": ["2024-01-01T10:00:00", "2024-01-02T11:00:00"],
            "x": [str(v) for v in lon],
            "y": [str(v) for v in lat],
            "source": ["politie", "politie"],
        },
        dtype="str",
    )
    out = validate_table("events", events, file="e.csv", crs="EPSG:4326")
    assert out["x"].tolist() == pytest.approx([196_000, 197_000], abs=0.01)
    assert out["y"].tolist() == pytest.approx([321_000, 322_000], abs=0.01)
    with pytest.raises(CRSError, match=r"file 'e.csv': crs 'EPSG:999999' is not a known"):
        validate_table("events", events, file="e.csv", crs="EPSG:999999")
    with pytest.raises(SchemaError, match=r"row 1, column 'y'.*--crs EPSG:NNNN"):
        validate_table("events", events, file="e.csv")
