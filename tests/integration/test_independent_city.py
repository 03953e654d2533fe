"""The CLI end to end (import, backtest, forecast, report) on an independent simulated city
(tests/independent_city.py, not the project's twin), and the edge cases real data has."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from pulsetwin.cli.main import app
from pulsetwin.exceptions import ParameterError, SchemaError
from pulsetwin.models.registry import NAIVE
from pulsetwin.schema.tables import FORECAST_LABELS, FORECASTS, INCIDENTS

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from independent_city import NO_SIGNAL, City, generate_city

Tables = dict[str, pd.DataFrame | None]


def cli(*args: str) -> Result:
    """Run the real ``pulsetwin`` app."""
    return CliRunner().invoke(app, list(args))


def import_tables(tables: Tables, directory: Path) -> Path:
    """Write each table as CSV and import it with ``pulsetwin import`` into a fresh store; return the store."""
    db = directory / "city.duckdb"
    for name, frame in City({k: v for k, v in tables.items() if v is not None}).write(directory).items():
        counts = tables[name]["count"] if name == "incidents" else None  # type: ignore[index]
        withheld = ["--allow-withheld"] if counts is not None and counts.isna().any() else []
        result = cli("import", name, str(frame), "--db", str(db), *withheld)
        assert result.exit_code == 0, f"{name}: {result.exception}\n{result.output}"
    return db


def summary(path: Path) -> dict[str, dict[str, Any]]:
    """The backtest JSON summary by model."""
    return {row["model"]: row for row in json.loads(path.read_text(encoding="utf-8"))["summary"]}


def buurten(city: City) -> int:
    """Number of buurt rows in the areas table."""
    return int((city.tables["areas"]["level"] == "buurt").sum())


@pytest.mark.slow
def test_signal_city_weekly_backtest_forecast_report(tmp_path: Path) -> None:
    city = generate_city(n_areas=40, years=3, freq="W", seed=11, shape="hex")
    db = import_tables(dict(city.tables), tmp_path)
    out = tmp_path / "bt.json"
    result = cli("backtest", "--db", str(db), "--freq", "W", "--horizon", "4", "--folds", "3", "--models", "glm",
                 "--json", str(out))  # fmt: skip
    assert result.exit_code == 0, result.exception
    rows = summary(out)
    assert {"glm", "oracle", *NAIVE} == set(rows)
    glm = rows["glm"]
    assert glm["skill_lo"] > 0 and glm["gap_share_lo"] > 0  # the covariate and drift are learnable
    assert rows["oracle"]["skill"] > glm["skill"]  # the truth round trip: nobody beats the true mean
    csv = tmp_path / "fc.csv"
    result = cli("forecast", "--db", str(db), "--model", "best", "--horizon", "4", "--folds", "2",
                 "--scheduler", "serial", "--out", str(csv))  # fmt: skip
    assert result.exit_code == 0, result.exception
    assert ": ok" in result.output and "beats the best naive baseline" in result.output
    frame = pd.read_csv(csv)
    assert list(frame.columns) == [*FORECASTS.column_names, *FORECAST_LABELS]
    n_cat = city.tables["incidents"]["category"].nunique()
    assert len(frame) == buurten(city) * n_cat * 4
    assert not frame.duplicated(["area_code", "category", "period_start"]).any()
    last = city.tables["incidents"]["period_start"].max()
    expected = pd.date_range(last + pd.Timedelta(weeks=1), periods=4, freq="W-MON")
    assert sorted(pd.to_datetime(frame["period_start"].unique())) == list(expected)
    assert (frame["q05"] <= frame["q50"]).all() and (frame["q50"] <= frame["q95"]).all()
    report = cli("report", "--db", str(db), "--out", str(tmp_path / "rep"))
    assert report.exit_code == 0, report.exception
    assert (tmp_path / "rep" / "report.html").stat().st_size > 100_000


@pytest.mark.slow
def test_no_signal_city_no_model_claims_skill(tmp_path: Path) -> None:
    city = generate_city(n_areas=30, years=3, freq="W", seed=12, process=NO_SIGNAL)
    db = import_tables(dict(city.tables), tmp_path)
    out = tmp_path / "bt.json"
    result = cli("backtest", "--db", str(db), "--horizon", "4", "--folds", "2", "--models", "glm,lgbm",
                 "--scheduler", "serial", "--json", str(out))  # fmt: skip
    assert result.exit_code == 0, result.exception
    rows = summary(out)
    for name in ("glm", "lgbm"):
        assert rows[name]["skill_lo"] < 0.01 and abs(rows[name]["skill"]) < 0.02, rows[name]
    csv = tmp_path / "fc.csv"
    result = cli("forecast", "--db", str(db), "--model", "best", "--horizon", "4", "--folds", "2",
                 "--scheduler", "serial", "--out", str(csv))  # fmt: skip
    assert result.exit_code == 0, result.exception
    text = " ".join(result.output.split())
    assert "NO SKILL" in text and "No model beat the best naive baseline" in text
    assert set(pd.read_csv(csv)["model"]) <= set(NAIVE)


@pytest.mark.slow
def test_monthly_city_end_to_end(tmp_path: Path) -> None:
    city = generate_city(n_areas=36, years=3, freq="M", seed=13)
    db = import_tables(dict(city.tables), tmp_path)
    out = tmp_path / "bt.json"
    result = cli("backtest", "--db", str(db), "--freq", "M", "--horizon", "3", "--folds", "3", "--models", "glm",
                 "--scheduler", "serial", "--json", str(out))  # fmt: skip
    assert result.exit_code == 0, result.exception
    assert summary(out)["glm"]["skill_lo"] > 0
    csv = tmp_path / "fc.csv"
    result = cli("forecast", "--db", str(db), "--freq", "M", "--model", "glm", "--horizon", "3", "--folds", "2",
                 "--scheduler", "serial", "--out", str(csv))  # fmt: skip
    assert result.exit_code == 0, result.exception
    frame = pd.read_csv(csv, parse_dates=["period_start"])
    assert list(frame.columns) == [
        *FORECASTS.column_names,
        *FORECAST_LABELS,
    ]  # labels and statuses for readers
    assert list(frame["period_start"].drop_duplicates()) == list(
        pd.date_range("2024-01-01", periods=3, freq="MS")
    )
    assert len(frame) == buurten(city) * city.tables["incidents"]["category"].nunique() * 3
    assert cli("report", "--db", str(db), "--out", str(tmp_path / "rep")).exit_code == 0


# Edge cases: each mutates a small city (30 buurten, 2 years, weekly) the way real data differs from it.


def _no_covariates(t: Tables) -> None:
    t["covariates"] = None


def _partial_covariates(t: Tables) -> None:
    cov = t["covariates"]
    assert cov is not None
    codes = sorted(cov["area_code"].unique())
    t["covariates"] = cov[cov["area_code"].isin(codes[::2]) & (cov["year"] <= 2021)]


def _incidents(t: Tables) -> pd.DataFrame:
    frame = t["incidents"]
    assert frame is not None
    return frame.copy()


def _all_zero_category(t: Tables) -> None:
    inc = _incidents(t)
    inc.loc[inc["category"] == "robbery", "count"] = 0
    t["incidents"] = inc


def _counts_only_at_the_end(t: Tables) -> None:
    inc = _incidents(t)
    early = inc["period_start"] < inc["period_start"].max() - pd.Timedelta(weeks=5)
    inc.loc[(inc["category"] == "arson") & early, "count"] = 0
    t["incidents"] = inc


def _rows_only_at_the_end(t: Tables) -> None:
    inc = _incidents(t)
    early = inc["period_start"] < inc["period_start"].max() - pd.Timedelta(weeks=5)
    t["incidents"] = inc[(inc["category"] != "theft_bicycle") | ~early]


def _recoded_buurten(t: Tables) -> None:
    inc = _incidents(t)
    gone = inc["area_code"].isin(["BU99010101", "BU99010102"]) & (inc["period_start"] >= "2022-03-07")
    new = inc["area_code"].isin(["BU99010301", "BU99010302"]) & (inc["period_start"] < "2022-10-03")
    t["incidents"] = inc[~gone & ~new]


def _withheld_counts(t: Tables) -> None:
    inc = _incidents(t)
    inc["count"] = inc["count"].astype("Int64")
    inc.loc[np.random.default_rng(0).random(len(inc)) < 0.05, "count"] = pd.NA
    t["incidents"] = inc


def _wijk_incidents(t: Tables) -> None:
    inc = _incidents(t)
    inc["area_code"] = "WK" + inc["area_code"].str[2:8]
    keys = ["area_code", "period_start", "freq", "category", "source"]
    t["incidents"] = inc.groupby(keys, as_index=False).agg(count=("count", "sum"))[
        list(INCIDENTS.column_names)
    ]
    t["truth"] = None


@pytest.fixture(scope="module")
def small_city() -> City:
    return generate_city(n_areas=30, years=2, freq="W", seed=5)


@pytest.mark.parametrize(
    ("mutate", "model"),
    [
        (_no_covariates, "glm"),
        (_partial_covariates, "glm"),
        (_all_zero_category, "lgbm"),
        (_counts_only_at_the_end, "lgbm"),
        (_rows_only_at_the_end, "glm"),
        (_rows_only_at_the_end, "lgbm"),
        (_recoded_buurten, "glm"),
        (_withheld_counts, "glm"),
        (_wijk_incidents, "glm"),
    ],
    ids=lambda v: v.__name__.strip("_") if callable(v) else v,
)
def test_edge_case_forecasts(
    small_city: City, tmp_path: Path, mutate: Callable[[Tables], None], model: str
) -> None:
    tables: Tables = dict(small_city.tables)
    mutate(tables)
    db = import_tables(tables, tmp_path)
    csv = tmp_path / "fc.csv"
    result = cli("forecast", "--db", str(db), "--model", model, "--horizon", "2", "--folds", "1",
                 "--scheduler", "serial", "--out", str(csv))  # fmt: skip
    assert result.exit_code == 0, result.exception
    assert f"Model {model} " in result.output  # backtested against the naive baselines, then forecast
    frame = pd.read_csv(csv)
    inc = tables["incidents"]
    assert inc is not None
    pairs = inc[["area_code", "category"]].drop_duplicates()
    assert len(frame) == len(pairs) * 2  # every (area, category) pair of the history, each period
    assert np.isfinite(frame[["mean", "q05", "q50", "q95"]].to_numpy()).all()


def _withheld_category(t: Tables) -> None:
    inc = _incidents(t)
    inc["count"] = inc["count"].astype("Int64")
    inc.loc[inc["category"] == "arson", "count"] = pd.NA
    t["incidents"] = inc


def _short_history(t: Tables) -> None:
    inc = _incidents(t)
    t["incidents"] = inc[inc["period_start"] > inc["period_start"].max() - pd.Timedelta(weeks=40)]


def _buurt_without_area_row(t: Tables) -> None:
    areas = t["areas"]
    assert areas is not None
    t["areas"] = areas[areas["area_code"] != "BU99010101"]


@pytest.mark.parametrize(
    ("mutate", "error", "words"),
    [
        (_withheld_category, SchemaError, ("all counts of arson are withheld", "drop these categories")),
        (_short_history, ParameterError, ("at least 52 training periods", "of 40")),
        (_buurt_without_area_row, SchemaError, ("no geometry", "BU99010101", "import the areas")),
    ],
    ids=["withheld_category", "short_history", "buurt_without_area_row"],
)
def test_edge_cases_refused_with_a_clear_message(
    small_city: City, tmp_path: Path, mutate: Callable[[Tables], None], error: type, words: tuple[str, ...]
) -> None:
    tables: Tables = dict(small_city.tables)
    mutate(tables)
    db = import_tables(tables, tmp_path)
    result = cli("backtest", "--db", str(db), "--horizon", "2", "--folds", "1", "--models", "glm",
                 "--scheduler", "serial", "--no-origin-oracle")  # fmt: skip
    assert isinstance(result.exception, error)
    for word in words:
        assert word in str(result.exception)


def test_area_without_geometry_is_refused_on_import(small_city: City, tmp_path: Path) -> None:
    areas = small_city.tables["areas"].copy()
    areas.loc[areas["area_code"] == "BU99010101", "geometry"] = None
    path = tmp_path / "areas.csv"
    areas.to_csv(path, index=False)
    result = cli("import", "areas", str(path), "--db", str(tmp_path / "c.duckdb"))
    assert isinstance(result.exception, SchemaError)
    message = str(result.exception)
    assert "areas.csv" in message and "geometry" in message and "row" in message


def test_simulated_truth_is_the_mean_of_the_counts() -> None:
    city = generate_city(n_areas=60, years=2, freq="W", seed=3)
    inc, truth = city.tables["incidents"], city.tables["truth"]
    keys = ["area_code", "category", "period_start"]
    both = inc.merge(truth, on=keys, validate="one_to_one")
    by_category = both.groupby("category")[["count", "intensity"]].sum()
    ratio = by_category["count"] / by_category["intensity"]
    assert ratio.between(0.9, 1.1).all(), ratio
    sparse = both[both["category"].isin(["robbery", "arson"])]
    assert 0.02 < sparse["count"].mean() < 0.15  # the sparse categories: ~0.05 per area and week


def test_a_recoded_buurt_is_forecast_from_the_periods_it_existed(small_city: City) -> None:
    # New buurt codes first listed mid-history did not exist before: their earlier periods are unknown, not
    # zero, so the historical mean and the GLM's area level are not dragged toward zero.
    from pulsetwin.features.panel import build_panel
    from pulsetwin.models.base import History
    from pulsetwin.models.glm import PoissonGLM
    from pulsetwin.models.naive import HistoricalMean

    tables: Tables = dict(small_city.tables)
    new = ["BU99010301", "BU99010302", "BU99010303"]
    inc = _incidents(tables)
    inc = inc[~(inc["area_code"].isin(new) & (inc["period_start"] < "2022-10-03"))].reset_index(drop=True)
    origin = pd.Timestamp("2022-12-05")
    history = History(
        incidents=inc[inc["period_start"] < origin], freq="W", origin=origin,
        covariates=small_city.tables["covariates"], areas=small_city.tables["areas"],
    )  # fmt: skip
    panel = build_panel(history.incidents, "W", origin)
    rows = panel.areas.get_indexer(pd.Index(new))
    before = panel.periods < pd.Timestamp("2022-10-03")
    assert np.isnan(panel.counts[rows][:, :, before]).all()
    assert not np.isnan(panel.counts[rows][:, :, ~before]).any()
    truth = small_city.tables["truth"]
    for model in (HistoricalMean(), PoissonGLM()):
        forecast = model.fit(history).predict(4).merge(truth, on=["area_code", "category", "period_start"])
        recoded = forecast[forecast["area_code"].isin(new)]
        assert 0.7 < recoded["mean"].sum() / recoded["intensity"].sum() < 1.4, model.name


def test_a_short_history_backtests_and_forecasts_with_a_lower_min_train(
    small_city: City, tmp_path: Path
) -> None:
    """40 weeks are refused by default (above); --min-train 26 lets the backtest and forecast run, and the
    refusal names that option."""
    tables: Tables = dict(small_city.tables)
    _short_history(tables)
    db = import_tables(tables, tmp_path)
    common = ["--db", str(db), "--horizon", "2", "--folds", "2", "--scheduler", "serial"]
    refused = cli("backtest", *common, "--models", "glm", "--no-origin-oracle")
    assert "--min-train" in str(refused.exception)
    result = cli("backtest", *common, "--models", "glm,lgbm", "--no-origin-oracle", "--min-train", "26")
    assert result.exit_code == 0, result.exception
    csv = tmp_path / "fc.csv"
    result = cli("forecast", *common, "--model", "glm", "--min-train", "26", "--out", str(csv))
    assert result.exit_code == 0, result.exception
    frame = pd.read_csv(csv)
    assert len(frame) > 0 and np.isfinite(frame["mean"]).all()
