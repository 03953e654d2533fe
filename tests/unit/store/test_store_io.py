"""Files in and out: CSV as text, Parquet, GeoPackage/GeoJSON areas reprojected to RD New, atomic export."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas
import pandas as pd
import pytest
import shapely
from shapely.geometry import box
from store_helpers import incidents_frame

from pulsetwin.exceptions import CRSError, SchemaError, StoreError
from pulsetwin.store import Store
from pulsetwin.store.io import read_csv_strings

HEERLEN_SQUARE = box(5.980, 50.880, 5.981, 50.881)  # ~70 x 110 m in WGS84 lon/lat
RD_HEERLEN = (196_000.0, 321_000.0)


def _buurten(crs: int | None) -> geopandas.GeoDataFrame:
    """Two CBS-style buurten (the second water-only) around Heerlen, columns as in the wijk- en buurtkaart."""
    return geopandas.GeoDataFrame(
        {
            "buurtcode": ["BU09170101", "BU09179997"],
            "buurtnaam": ["Heerlen-Centrum", "Water"],
            "wijkcode": ["WK091701", "WK091799"],
            "gemeentecode": ["GM0917", "GM0917"],
            "water": ["NEE", "JA"],
        },
        geometry=[HEERLEN_SQUARE, box(5.982, 50.880, 5.983, 50.881)],
        crs=crs,
    )


def _centroid(wkt: str) -> tuple[float, float]:
    point = shapely.from_wkt(wkt).centroid
    return point.x, point.y


def test_csv_is_read_as_raw_text_with_empty_fields_kept(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("area_code;count\nBU09170101;007\nBU09170102;\n", encoding="utf-8")
    frame = read_csv_strings(path)
    assert frame["count"].tolist() == ["007", ""]
    assert str(frame["area_code"].dtype) == "str"


def test_semicolon_csv_imports(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "incidents.csv"
    frame = incidents_frame()
    frame.assign(period_start=frame["period_start"].dt.strftime("%Y-%m-%d")).to_csv(
        path, index=False, sep=";"
    )
    assert store.import_file("incidents", path).inserted == {"incidents": 12}


def test_geojson_without_crs_member_is_wgs84_and_lands_in_heerlen(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "buurten.geojson"
    path.write_text(_buurten(4326).to_json(), encoding="utf-8")
    assert "crs" not in json.loads(path.read_text())
    store.import_file("areas", path)
    areas = store.read("areas")
    first = areas.iloc[0]
    assert (first["area_code"], first["level"], first["parent_code"]) == ("BU09170101", "buurt", "WK091701")
    x, y = _centroid(first["geometry"])
    assert abs(x - RD_HEERLEN[0]) < 1500 and abs(y - RD_HEERLEN[1]) < 1500
    details = json.loads(store.provenance().iloc[0]["details_json"])
    assert details["crs_assumed"].startswith("EPSG:4326 (RFC 7946")
    assert details["reprojected_to"] == "EPSG:28992"
    assert details["water_only_areas"] == {"count": 1, "codes": ["BU09179997"]}


def test_gpkg_layer_is_picked_renamed_and_reprojected(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "wijkbuurtkaart.gpkg"
    _buurten(4326).to_file(path, layer="buurten", driver="GPKG", engine="pyogrio")
    wijken = geopandas.GeoDataFrame(
        {"wijkcode": ["WK091701"], "wijknaam": ["Centrum"], "gemeentecode": ["GM0917"]},
        geometry=[box(5.97, 50.87, 5.99, 50.89)],
        crs=4326,
    )
    wijken.to_file(path, layer="wijken", driver="GPKG", engine="pyogrio")
    with pytest.raises(SchemaError, match=r"holds (buurten, wijken|wijken, buurten)"):
        store.import_file("areas", path)
    with pytest.raises(SchemaError, match="a layer named 'percelen'"):
        store.import_file("areas", path, layer="percelen")
    store.import_file("areas", path, layer="wijken")
    store.import_file("areas", path, layer="buurten")
    areas = store.read("areas").set_index("area_code")
    assert areas.loc["WK091701", ["level", "parent_code", "name"]].tolist() == ["wijk", "GM0917", "Centrum"]
    x, y = _centroid(areas.loc["BU09170101", "geometry"])
    assert abs(x - RD_HEERLEN[0]) < 1500 and abs(y - RD_HEERLEN[1]) < 1500


def test_rd_new_geometry_is_kept_as_is(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "rd.gpkg"
    _buurten(4326).to_crs(28992).to_file(path, layer="buurten", driver="GPKG", engine="pyogrio")
    store.import_file("areas", path)
    details = json.loads(store.provenance().iloc[0]["details_json"])
    assert details["source_crs"] == "EPSG:28992" and "reprojected_to" not in details


def test_geojson_with_a_crs_member_uses_it(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "rd.geojson"
    _buurten(4326).to_crs(28992).to_file(path, driver="GeoJSON", engine="pyogrio")
    assert "EPSG::28992" in json.loads(path.read_text())["crs"]["properties"]["name"]
    store.import_file("areas", path)
    details = json.loads(store.provenance().iloc[0]["details_json"])
    assert "crs_assumed" not in details and "reprojected_to" not in details
    x, y = _centroid(store.read("areas")["geometry"].iloc[0])
    assert abs(x - RD_HEERLEN[0]) < 1500 and abs(y - RD_HEERLEN[1]) < 1500


def test_gpkg_without_crs_is_refused_with_the_fix(store_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "nocrs.gpkg"
    with pytest.warns(UserWarning, match="crs"):
        _buurten(None).to_file(path, layer="buurten", driver="GPKG", engine="pyogrio")
    with Store(store_path) as store, pytest.raises(CRSError) as caught:
        store.import_file("areas", path)
    message = str(caught.value)
    assert (
        "found: none" in message and "ogr2ogr -a_srs EPSG:28992" in message and "layer 'buurten'" in message
    )
    with Store(store_path) as store:
        assert store.count("areas") == 0 and store.log.records() == []


def test_layer_option_is_refused_for_csv(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a\n1\n")
    with pytest.raises(StoreError, match="--layer"):
        store.import_file("incidents", path, layer="buurten")
    gpkg = tmp_path / "x.gpkg"
    gpkg.touch()
    with pytest.raises(StoreError, match=r"cannot import '\.gpkg' files into table 'incidents'"):
        store.import_file("incidents", gpkg)


def test_exported_csv_is_canonical_text(store: Store, tmp_path: Path) -> None:
    frame = incidents_frame(n_areas=2, n_weeks=1).astype({"count": "Int64"})
    frame.loc[1, "count"] = pd.NA
    store.import_frames({"incidents": frame.iloc[::-1]}, source="test")
    out = store.export("incidents", tmp_path / "sub" / "incidents.csv")
    assert out.read_text() == (
        "area_code,period_start,freq,category,count,source\n"
        "BU09170000,2024-01-01,W,burglary_residential,0,politie\n"
        "BU09170001,2024-01-01,W,burglary_residential,,politie\n"
    )
    assert [p.name for p in out.parent.iterdir()] == ["incidents.csv"]


def test_events_timestamps_export_iso_with_t(store: Store, tmp_path: Path) -> None:
    events = pd.DataFrame(
        {
            "event_id": ["e1", "e2"],
            "category": ["noise_peaks", "noise_peaks"],
            "occurred_at": pd.to_datetime(
                ["2024-05-01 22:15:00", "2024-05-01 23:00:00.250000"], format="ISO8601"
            ),
            "x": [196000.5, 196010.0],
            "y": [321000.25, 321005.0],
            "source": ["sensor_net", "sensor_net"],
        }
    )
    store.import_frames({"events": events}, source="test")
    lines = store.export("events", tmp_path / "events.csv").read_text().splitlines()
    assert lines[1] == "e1,noise_peaks,2024-05-01T22:15:00,196000.5,321000.25,sensor_net"
    assert lines[2] == "e2,noise_peaks,2024-05-01T23:00:00.250000,196010.0,321005.0,sensor_net"


def test_parquet_round_trip(store_path: Path, tmp_path: Path) -> None:
    with Store(store_path) as store:
        store.import_frames({"incidents": incidents_frame()}, source="test")
        store.export("incidents", tmp_path / "incidents.parquet")
        original = store.read("incidents")
    with Store(tmp_path / "other.duckdb") as other:
        other.import_file("incidents", tmp_path / "incidents.parquet")
        pd.testing.assert_frame_equal(other.read("incidents"), original)


def test_areas_gpkg_export_round_trip(store: Store, tmp_path: Path) -> None:
    source = tmp_path / "buurten.geojson"
    _buurten(4326).to_file(source, driver="GeoJSON", engine="pyogrio")
    store.import_file("areas", source)
    store.export("areas", tmp_path / "areas.gpkg")
    with Store(tmp_path / "other.duckdb") as other:
        other.import_file("areas", tmp_path / "areas.gpkg")
        pd.testing.assert_frame_equal(other.read("areas"), store.read("areas"))


def test_export_to_unknown_suffix_is_refused(store: Store, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"expected one of \.csv, \.parquet"):
        store.export("incidents", tmp_path / "x.xlsx")
    assert not (tmp_path / "x.xlsx").exists()
