"""The ``hotspots`` command and the grid backtest core, end to end through a real store."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import shapely
import typer
from typer.testing import CliRunner

from pulsetwin.cli.hotspots import grid_backtest_command, register
from pulsetwin.hotspots.simulate import simulate_drifting_city
from pulsetwin.store.database import Store


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "pt.duckdb"
    events = simulate_drifting_city(seed=5, days=300, events_per_year=2_000.0, size_m=3_000.0)
    with Store(path) as store:
        store.import_frames({"events": events}, source="test")
    return path


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command("noop")
    def noop() -> None:  # a second command keeps Typer from collapsing the app into one command
        """Nothing."""

    return app


def test_hotspots_writes_cells_and_sidecar_and_logs(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "cells.csv"
    args = ["hotspots", "--db", str(db), "--category", "burglary_residential", "--origin", "2021-10-01"]
    args += [
        "--window",
        "14",
        "--cell",
        "100",
        "--model",
        "kde",
        "--grid-origin",
        "149000,449000",
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    cells = pd.read_csv(out)
    assert list(cells.columns) == [
        "cell_code",
        "x_min",
        "y_min",
        "cell_m",
        "mean",
        "rank",
        "area_m2",
        "geometry",
    ]
    assert (cells["area_m2"] == 100 * 100).all() and cells["geometry"].str.startswith("POLYGON ((").all()
    assert ((cells["x_min"] - 149_000) % 100 == 0).all()
    meta = json.loads((tmp_path / "cells.meta.json").read_text())
    assert meta["mask"] == "events" and meta["n_cells"] == len(cells) and meta["model"] == "kde"
    assert cells["mean"].sum() == pytest.approx(meta["expected_total"], rel=1e-4)
    with Store(db, read_only=True) as store:
        log = store.read("log")
    assert "hotspots" in set(log["action"])


def test_bad_mask_is_refused_listing_the_choices(db: Path) -> None:
    args = ["hotspots", "--db", str(db), "--category", "burglary_residential", "--origin", "2021-10-01"]
    result = CliRunner().invoke(_app(), [*args, "--mask", "buurten"])
    assert result.exit_code == 2
    assert "'buurten' is not one of 'areas', 'events'" in " ".join(result.output.replace("│", " ").split())


def test_grid_backtest_reports_baselines_ceiling_and_verdicts(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "bt.json"
    result = grid_backtest_command(
        db, "burglary_residential", 100, 14, 3, None, out, models="kde,prospective"
    )
    saved = json.loads(out.read_text())
    assert saved["models"] == ["count_365", "count_8w", "count_all", "kde", "prospective"]
    assert len(saved["per_origin"]) == 3 and saved["origins"] == result["origins"]
    assert set(saved["verdicts"]) == {"kde", "prospective"}
    for origin in saved["per_origin"]:
        for model in saved["models"]:
            row = origin["metrics"][model]["0.05"]
            if origin["n_observed"]:
                assert row["hit_rate"] <= origin["ceiling_hit_rate"]["0.05"] + 1e-9
                assert row["pai"] == pytest.approx(row["hit_rate"] / 0.05)


def test_area_mask_writes_cells_clipped_to_the_imported_areas(tmp_path: Path) -> None:
    path = tmp_path / "areas.duckdb"
    events = simulate_drifting_city(seed=5, days=300, events_per_year=2_000.0, size_m=3_000.0)
    square = "POLYGON ((150000 450000, 151550 450000, 151550 451550, 150000 451550, 150000 450000))"
    areas = pd.DataFrame(
        {"area_code": ["BU00000001"], "name": ["Midden"], "level": ["buurt"], "parent_code": ["WK000000"],
         "geometry": [square]}
    )  # fmt: skip
    with Store(path) as store:
        store.import_frames({"events": events, "areas": areas}, source="test")
    out = tmp_path / "cells.csv"
    args = ["hotspots", "--db", str(path), "--category", "burglary_residential", "--origin", "2021-10-01"]
    args += ["--cell", "100", "--model", "count_all", "--mask", "areas", "--grid-origin", "149000,449000"]
    result = CliRunner().invoke(_app(), [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    cells = pd.read_csv(out)
    assert len(cells) == 16 * 16  # 15 whole columns and rows plus a half one each
    assert cells["area_m2"].sum() == pytest.approx(1550.0**2)
    assert sorted(cells["area_m2"].unique()) == [2_500.0, 5_000.0, 10_000.0]
    union = shapely.union_all(shapely.from_wkt(cells["geometry"].to_numpy()))
    assert union.symmetric_difference(shapely.from_wkt(square)).area == pytest.approx(0.0, abs=1e-6)
    meta = json.loads((tmp_path / "cells.meta.json").read_text())
    assert meta["clipped_to_areas"] and meta["n_cells_clipped"] == 31 and meta["mask"] == "areas"
