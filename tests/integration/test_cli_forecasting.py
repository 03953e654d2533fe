"""`pulsetwin backtest`, `forecast` and `report` end to end on a small twin store."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from pulsetwin.cli.forecasting import register
from pulsetwin.exceptions import ParameterError
from pulsetwin.schema.tables import FORECAST_LABELS, FORECASTS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from pulsetwin.store.database import Store
    from pulsetwin.twin.generate import generate_twin

    path = tmp_path_factory.mktemp("cli") / "twin.duckdb"
    city = generate_twin("heerlen", seed=3, years=2)
    tables = city.tables
    with Store(path) as store:
        store.import_frames({k: v for k, v in tables.items() if k != "protected"}, source=str(city.source))
    return path


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    root = typer.Typer()
    register(root)
    return root


def test_backtest_prints_the_table_with_both_oracles_and_writes_json(
    app: typer.Typer, db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "bt.json"
    result = CliRunner().invoke(
        app, ["backtest", "--db", str(db), "--freq", "W", "--models", "glm", "--horizon", "2", "--folds", "2",
              "--category", "burglary_residential,vandalism", "--json", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for name in ("naive_hist", "glm", "oracle", "gap", "origin_oracle", "attainable", "reproduces"):
        assert name in result.output
    payload = json.loads(out.read_text(encoding="utf-8"))
    rows = {row["model"]: row for row in payload["summary"]}
    assert set(rows) == {
        "naive_last", "naive_seasonal", "naive_mean_k", "naive_mean_year", "naive_hist", "glm", "oracle",
        "origin_oracle",
    }  # fmt: skip
    assert rows["origin_oracle"]["attainable_share"] == pytest.approx(1.0)
    assert rows["glm"]["attainable_share"] is not None and payload["notes"]
    assert {"cutoff", "fold", "step", "category", "pai_03"} <= set(payload["scores"][0])


def test_backtest_without_the_origin_oracle(app: typer.Typer, db: Path, tmp_path: Path) -> None:
    out = tmp_path / "bt.json"
    result = CliRunner().invoke(
        app, ["backtest", "--db", str(db), "--freq", "W", "--models", "glm", "--horizon", "2", "--folds", "1",
              "--category", "vandalism", "--no-origin-oracle", "--json", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "attainable" not in result.output.lower()
    payload = json.loads(out.read_text(encoding="utf-8"))
    assert "origin_oracle" not in {row["model"] for row in payload["summary"]} and payload["notes"] == []


def test_forecast_stores_a_run_writes_csv_and_report(app: typer.Typer, db: Path, tmp_path: Path) -> None:
    csv = tmp_path / "fc.csv"
    result = CliRunner().invoke(
        app, ["forecast", "--db", str(db), "--freq", "W", "--model", "best", "--horizon", "2", "--folds", "2",
              "--category", "burglary_residential", "--out", str(csv)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert ("NO SKILL" in result.output) or (": ok" in result.output)
    assert "Deviance per fold" in result.output and "Chosen: " in result.output
    from pulsetwin.store.database import Store

    with Store(db, read_only=True) as store:
        run = store.get_run(str(store.runs()["run_id"].iloc[-1]))
    choice = run.metrics["choice"]
    assert f"Chosen: {run.model}, because" in result.output and run.model in choice["reason"]
    assert len(choice["folds"]) == 2 and all(f < str(run.origin.date()) for f in choice["folds"])
    assert all(len(v) == 2 for v in choice["fold_deviance"].values()) and "glm" in choice["fold_deviance"]
    frame = pd.read_csv(csv)
    assert list(frame.columns) == [*FORECASTS.column_names, *FORECAST_LABELS]
    assert frame["period_start"].nunique() == 2
    # the file is marked: Dutch category label, area names, skill as printed, not yet audited
    assert set(frame["category_label"]) == {"Woninginbraak"} and frame["area_name"].notna().all()
    assert set(frame["skill_status"]) == {"beats" if ": ok" in result.output else "does_not"}
    assert set(frame["release_status"]) == {"not_audited"}
    report = CliRunner().invoke(app, ["report", "--db", str(db), "--out", str(tmp_path / "rep")])
    assert report.exit_code == 0, report.output
    page = (tmp_path / "rep" / "report.html").read_text(encoding="utf-8")
    assert "Reliability" in page and "<script src=" not in page and len(page) > 1_000_000  # plotly.js inline


def test_forecast_with_the_oracle_is_refused(app: typer.Typer, db: Path) -> None:
    result = CliRunner().invoke(app, ["forecast", "--db", str(db), "--freq", "W", "--model", "oracle"])
    assert result.exit_code != 0
    assert isinstance(result.exception, ParameterError)
    assert "The oracle reads the true intensity of a twin" in str(result.exception)
    assert "cannot forecast. Fix: choose a model or 'best'" in str(result.exception)


def test_a_store_with_weeks_and_months_needs_freq(app: typer.Typer, db: Path) -> None:
    result = CliRunner().invoke(app, ["forecast", "--db", str(db), "--model", "glm"])
    message = str(result.exception)
    assert result.exit_code != 0 and "M (months), W (weeks)" in message and "--freq" in message
