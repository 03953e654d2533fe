"""``pulsetwin scenario run`` end to end on a small real store."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import typer
import yaml
from typer.testing import CliRunner

from pulsetwin.cli.scenario import register
from pulsetwin.exceptions import SchemaError, StoreError
from pulsetwin.store import Store

CODES = [f"BU091701{n:02d}" for n in range(6)]


def _square(x: int, y: int) -> str:
    return f"POLYGON (({x} {y}, {x + 100} {y}, {x + 100} {y + 100}, {x} {y + 100}, {x} {y}))"


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    areas = pd.DataFrame(
        {
            "area_code": ["GM0917", "WK091701", *CODES],
            "name": ["Heerlen", "Centrum", *[f"Buurt {n}" for n in range(6)]],
            "level": ["gemeente", "wijk", *["buurt"] * 6],
            "parent_code": [None, "GM0917", *["WK091701"] * 6],
            "geometry": [_square(190000, 320000), _square(190000, 320000)]
            + [_square(190000 + 100 * n, 320000) for n in range(6)],
        }
    )
    weeks = pd.date_range("2024-01-01", periods=12, freq="W-MON")
    incidents = pd.DataFrame(
        [
            (code, week, "W", "burglary_residential", count, "police")
            for code, count in zip(CODES[:5], [1, 2, 0, 4, 1], strict=True)
            for week in weeks
        ],
        columns=["area_code", "period_start", "freq", "category", "count", "source"],
    )
    path = tmp_path / "store.duckdb"
    with Store(path) as store:
        store.import_frames({"areas": areas, "incidents": incidents}, source="test")
    return path


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """Test root."""

    register(app)
    return app


def _write_spec(tmp_path: Path, **changes: object) -> Path:
    spec: dict[str, object] = {
        "name": "cli test",
        "category": "burglary_residential",
        "periods": 6,
        "runs": 12,
        "detection": {"discovery_rate": 0.5},
        "baseline": {"policy": {"kind": "uniform", "k": 2}},
        "scenario": {
            "policy": {"kind": "top_k", "k": 2},
            "interventions": [{"kind": "rate", "areas": [CODES[3]], "effect": {"low": -0.3, "high": -0.1}}],
        },
    }
    spec.update(changes)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def test_scenario_run_writes_json_and_csv(store_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    spec = _write_spec(tmp_path)
    args = ["scenario", "run", "--db", str(store_path), "--spec", str(spec), "--out", str(out), "--json"]
    result = CliRunner().invoke(_app(), [*args, "--runs", "8", "--seed", "5"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["runs"] == 8 and payload["seed"] == 5
    areas = pd.read_csv(out / "scenario_areas.csv")
    assert set(areas["area_code"]) == set(CODES)
    offences = areas[areas["outcome"] == "offences"].set_index("area_code")
    assert offences.loc[CODES[3], "diff_q95"] < 0  # the stated effect lowers offences in the target area
    assert json.loads((out / "scenario.json").read_text(encoding="utf-8"))["summary"] == payload["summary"]
    with Store(store_path, read_only=True) as store:
        assert "scenario_run" in set(store.read("log")["action"])


def test_scenario_run_prints_tables(store_path: Path, tmp_path: Path) -> None:
    spec = _write_spec(tmp_path)
    result = CliRunner().invoke(_app(), ["scenario", "run", "--db", str(store_path), "--spec", str(spec)])
    assert result.exit_code == 0, result.output
    assert "loop metrics" in result.stdout
    assert "Not known" in result.stdout


def test_a_spec_without_effect_range_is_refused(store_path: Path, tmp_path: Path) -> None:
    spec = _write_spec(tmp_path, scenario={"interventions": [{"kind": "rate", "areas": "all"}]})
    result = CliRunner().invoke(_app(), ["scenario", "run", "--db", str(store_path), "--spec", str(spec)])
    assert isinstance(result.exception, SchemaError)
    assert "never invents effect sizes" in str(result.exception)


def test_a_missing_store_is_refused(tmp_path: Path) -> None:
    spec = _write_spec(tmp_path)
    result = CliRunner().invoke(
        _app(), ["scenario", "run", "--db", str(tmp_path / "no.duckdb"), "--spec", str(spec)]
    )
    assert isinstance(result.exception, StoreError)
