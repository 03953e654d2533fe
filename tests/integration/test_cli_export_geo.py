"""``pulsetwin export forecasts|hotspots`` as GeoPackage / GeoJSON / CSV, marked with both statuses."""

from __future__ import annotations

from pathlib import Path

import geopandas
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from pulsetwin.cli.data import register
from pulsetwin.cli.hotspots import save_map
from pulsetwin.store.database import Store
from pulsetwin.store.runs import RunStatus
from pulsetwin.testing import assert_table_equal
from pulsetwin.testing.fixture_store import Fixture, build_store


@pytest.fixture(scope="module")
def fixture(tmp_path_factory: pytest.TempPathFactory) -> Fixture:
    """A twin store with a forecast run blocked by a stored audit, and a small hotspot map."""
    built = build_store(tmp_path_factory.mktemp("export"))
    finding = {"code": "protected_exposure_out_of_band", "message": "m", "blocking": True,
               "detail": {"attribute": "migration_background_share"}}  # fmt: skip
    with Store(built.db) as store:
        store.save_run(
            "audit", params={"forecast_run": built.run_id}, status="blocked",
            metrics={"status": "blocked", "blocked": True, "findings": [finding], "disparity": []},
        )  # fmt: skip
        store.set_run_status(built.run_id, RunStatus.BLOCKED, actor="test")
    cells = pd.DataFrame(
        {"cell_code": ["C190000_320000", "C190125_320000"], "x_min": [190000, 190125], "y_min": [320000, 320000],
         "mean": [0.5, 0.2], "rank": [1, 2]}
    )  # fmt: skip
    meta = {"model": "kde", "origin": "2024-01-01T00:00:00", "categories": ["burglary_residential"], "cell_m": 125,
            "window_days": 14, "seed": 0, "n_cells": 2}  # fmt: skip
    save_map(built.db, cells, meta)
    return built


@pytest.fixture()
def app() -> typer.Typer:
    """The data commands."""
    root = typer.Typer()
    register(root)
    return root


def test_forecasts_as_geopackage_carry_geometry_name_and_both_statuses(
    fixture: Fixture, app: typer.Typer, tmp_path: Path
) -> None:
    out = tmp_path / "f.gpkg"
    result = CliRunner().invoke(app, ["export", "forecasts", "--db", str(fixture.db), "--out", str(out)])
    assert result.exit_code == 0, result.output
    frame = geopandas.read_file(out)
    assert frame.crs.to_epsg() == 28992 and frame.geometry.notna().all() and frame.geometry.area.gt(0).all()
    assert frame["area_name"].notna().all() and set(frame["run_id"]) == {fixture.run_id}
    assert set(frame["release_status"]) == {"blocked"}
    # the naive_mean_k run does not beat the best naive rule it was chosen among
    assert set(frame["skill_status"]) <= {"beats", "does_not"} and frame["category_label"].notna().all()
    geojson = tmp_path / "f.geojson"
    again = CliRunner().invoke(app, ["export", "forecasts", "--db", str(fixture.db), "--out", str(geojson)])
    assert again.exit_code == 0, again.output
    assert geopandas.read_file(geojson).crs.to_epsg() == 4326


def test_csv_has_the_statuses_and_canonical_keeps_the_interchange_columns(
    fixture: Fixture, app: typer.Typer, tmp_path: Path
) -> None:
    plain, canonical = tmp_path / "f.csv", tmp_path / "c.csv"
    CliRunner().invoke(app, ["export", "forecasts", "--db", str(fixture.db), "--out", str(plain)])
    result = CliRunner().invoke(
        app, ["export", "forecasts", "--db", str(fixture.db), "--out", str(canonical), "--canonical"]
    )
    assert result.exit_code == 0, result.output
    marked, bare = pd.read_csv(plain), pd.read_csv(canonical)
    assert list(marked.columns[: len(bare.columns)]) == list(bare.columns)
    assert {"skill_status", "release_status", "area_name"} <= set(marked.columns) and "geometry" not in marked
    assert len(marked) == len(bare)


def test_hotspots_export_squares_and_refuses_unknown_suffix(
    fixture: Fixture, app: typer.Typer, tmp_path: Path
) -> None:
    out = tmp_path / "h.gpkg"
    result = CliRunner().invoke(app, ["export", "hotspots", "--db", str(fixture.db), "--out", str(out)])
    assert result.exit_code == 0, result.output
    cells = geopandas.read_file(out)
    assert cells["cell_code"].tolist() == ["C190000_320000", "C190125_320000"]
    assert cells.geometry.area.round(6).tolist() == [125 * 125] * 2
    assert cells.geometry.iloc[0].bounds == (190000.0, 320000.0, 190125.0, 320125.0)
    assert (
        set(cells["release_status"]) == {"not_audited"} and cells["category_label"].iloc[0] == "Woninginbraak"
    )
    bad = CliRunner().invoke(
        app, ["export", "hotspots", "--db", str(fixture.db), "--out", str(tmp_path / "h.shp")]
    )
    assert bad.exit_code != 0 and ".gpkg" in str(bad.exception) and not (tmp_path / "h.shp").exists()


def test_a_marked_forecast_export_imports_back_with_the_same_forecasts(
    fixture: Fixture, app: typer.Typer, tmp_path: Path
) -> None:
    marked = tmp_path / "f.csv"
    assert (
        CliRunner()
        .invoke(app, ["export", "forecasts", "--db", str(fixture.db), "--out", str(marked)])
        .exit_code
        == 0
    )
    fresh = tmp_path / "fresh.duckdb"
    result = CliRunner().invoke(app, ["import", "forecasts", str(marked), "--db", str(fresh)])
    assert result.exit_code == 0, result.output
    with Store(fixture.db, read_only=True) as before, Store(fresh, read_only=True) as after:
        assert_table_equal(
            before.read("forecasts"), after.read("forecasts"), table="forecasts", check_dtype=True
        )
