"""Acceptance test of "Real Dutch data": the real data path ends in the same schemas as the demo (twin) path.

A small invented municipality (``replay_city``) is served in the documented CBS, police and PDOK formats by
the loopback replay server; the real root CLI fetches geometry, Kerncijfers and police counts into a store,
then backtests, forecasts and audits on it. The store's canonical tables must have the column names and
dtypes of a store filled from the twin, and the backtest and audit must carry their evidence.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import shapely
from replay_city import GEMEENTE, NEIGHBOUR_BUURT, WATER_BUURT, ReplayCity, build_city, expected_incidents
from replay_server import Replay, serve
from typer.testing import CliRunner

from pulsetwin.audit.attributes import DEFINITION_NEW
from pulsetwin.cli.main import app
from pulsetwin.models.registry import naive_names
from pulsetwin.store.database import Store
from pulsetwin.store.protected import read_protected
from pulsetwin.testing import assert_table_equal
from pulsetwin.twin.generate import generate_twin

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("real_path_end_to_end")]
"""About 20 s, spent once per module (fetch, backtest, forecast, audit); the group keeps it on one worker
under ``--dist loadgroup``."""
COMPARED = ("areas", "covariates", "incidents", "protected", "forecasts")
MONTHS = 36
"""Complete months stored: 38 published (2021-01 .. 2024-02) minus the two newest (reporting lag)."""


@dataclass(frozen=True)
class Pipeline:
    """What the CLI left behind: the store, the replay log, each command's output and the JSON files."""

    city: ReplayCity
    replay: Replay
    db: Path
    outputs: dict[str, str]
    audit_exit: int
    backtest: dict[str, Any]
    audit: dict[str, Any]


def _invoke(runner: CliRunner, args: list[str], *, ok: tuple[int, ...] = (0,)) -> tuple[int, str]:
    """Run the real root app in-process; fail with the command's output when it exits otherwise."""
    result = runner.invoke(app, args)
    assert result.exit_code in ok, f"{' '.join(args)}\n{result.output}\n{result.exception!r}"
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    """Fetch the replayed city with the CLI, then backtest, forecast and audit it (once for every test)."""
    root = tmp_path_factory.mktemp("real_path")
    db = root / "real.duckdb"
    city = build_city()
    state = city.replay(pdok_page=4)
    runner = CliRunner()
    with serve(state) as base:
        http = ["--db", str(db), "--cache-dir", str(root / "cache"), "--retries", "1", "--backoff", "0"]
        fetches = {
            "geometry": ["fetch", "geometry", "--gemeente", GEMEENTE, "--year", "2024",
                         "--pdok-url", base + "/pdok/wijken-en-buurten-{year}/ogc/v1"],
            "cbs": ["fetch", "cbs", "--gemeente", GEMEENTE, "--years", "2022,2023",
                    "--cbs-url", f"{base}/cbs/ODataApi/odata"],
            "police": ["fetch", "police", "--gemeente", GEMEENTE, "--from", "2021-01", "--to", "2024-02",
                       "--police-url", f"{base}/police/ODataApi/odata"],
        }  # fmt: skip
        outputs = {name: _invoke(runner, [*args, *http, "--json"])[1] for name, args in fetches.items()}
    backtest_json, audit_json = root / "backtest.json", root / "audit.json"
    store = ["--db", str(db)]
    outputs["backtest"] = _invoke(
        runner,
        ["backtest", *store, "--freq", "M", "--horizon", "3", "--folds", "2", "--json", str(backtest_json)],
    )[1]
    outputs["forecast"] = _invoke(
        runner, ["forecast", *store, "--freq", "M", "--model", "best", "--horizon", "3"]
    )[1]
    audit_exit, outputs["audit"] = _invoke(runner, ["audit", *store, "--json", str(audit_json)], ok=(0, 1))
    yield Pipeline(
        city=city,
        replay=state,
        db=db,
        outputs=outputs,
        audit_exit=audit_exit,
        backtest=json.loads(backtest_json.read_text(encoding="utf-8")),
        audit=json.loads(audit_json.read_text(encoding="utf-8")),
    )


@pytest.fixture(scope="module")
def twin_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store filled the demo way: a generated twin imported in one call."""
    path = tmp_path_factory.mktemp("twin_path") / "twin.duckdb"
    city = generate_twin("heerlen", seed=1, years=2)
    with Store(path) as store:
        store.import_frames(city.tables, source=str(city.source))
    return path


def _read(path: Path, table: str) -> pd.DataFrame:
    """A canonical table of a store (``protected`` through its audit-only reader)."""
    with Store(path, read_only=True) as store:
        return read_protected(store) if table == "protected" else store.read(table)


# ------------------------------------------------------------------------------------------ the fetches
def test_fetched_areas_are_the_city_in_rd_new_without_the_neighbour(pipeline: Pipeline) -> None:
    areas = _read(pipeline.db, "areas").set_index("area_code")
    city = pipeline.city
    assert areas["level"].value_counts().to_dict() == {
        "buurt": len(city.buurten) + 1,
        "wijk": 3,
        "gemeente": 1,
    }
    assert NEIGHBOUR_BUURT not in areas.index
    size = shapely.area(shapely.from_wkt(areas["geometry"].to_numpy()))
    by_code = pd.Series(size, index=areas.index)
    assert by_code[list(city.buurten)].eq(250_000).all()  # 500 m squares in metres: EPSG:28992 kept
    assert by_code[GEMEENTE] == pytest.approx(by_code[areas["level"] == "buurt"].sum())
    assert areas.loc[WATER_BUURT, "parent_code"] == "WK999903"
    provenance = json.loads(pipeline.outputs["geometry"])["provenance"]
    assert provenance["details"]["water_area_codes"] == [WATER_BUURT]
    pages = [q for p, q in pipeline.replay.log if p.endswith("/buurten/items")]
    assert len(pages) == 4  # 15 features of GM9999 in pages of at most 4: the next links were followed
    assert all(q["gemeentecode"] == GEMEENTE and q["crs"].endswith("/28992") for q in pages)
    assert provenance["details"]["filter_routes"]["gemeenten"] == "all features + client-side filter"


def test_fetched_incidents_are_the_published_counts(pipeline: Pipeline) -> None:
    stored = _read(pipeline.db, "incidents")
    assert set(stored["freq"]) == {"M"} and set(stored["source"]) == {"politie:47022NED", "politie:47024NED"}
    assert stored["period_start"].nunique() == MONTHS
    assert stored["period_start"].max() == pd.Timestamp("2023-12-01")
    want = expected_incidents(pipeline.city, MONTHS)
    # roll-up 0.0.0 and the neighbour dropped, 1.4.4 + 1.4.5 summed, 3.7.4 kept, a withheld part stays missing
    keys = ["area_code", "period_start", "category"]
    assert_table_equal(stored[[*keys, "count"]], want, keys=keys)
    assert want["count"].isna().sum() > 0
    filters = [
        q["$filter"]
        for p, q in pipeline.replay.log
        if p.endswith("NED/TypedDataSet") and "Perioden" in q.get("$filter", "")
    ]
    assert filters and all("JJ00" not in f for f in filters)  # months enumerated, never a range


def test_fetched_covariates_and_protected_resolve_shifting_suffixes(pipeline: Pipeline) -> None:
    covariates = _read(pipeline.db, "covariates")
    protected = _read(pipeline.db, "protected")
    by_year = covariates.groupby("year")["variable"].agg(set).to_dict()
    assert by_year[2022] == by_year[2023]  # suffixes _33 / _34 etc. resolved to one name per concept
    assert {"AantalInwoners", "GemiddeldInkomenPerInwoner", "GemiddeldeWOZWaardeVanWoningen"} <= by_year[2023]
    assert not covariates["variable"].str.contains("Westers|Europa|Nederland|migration|origin").any()
    small = pipeline.city.buurten[-1]  # 85 inhabitants: income is secret (-99997), so no row, never zero
    income = covariates[covariates["variable"] == "GemiddeldInkomenPerInwoner"]
    assert small not in set(income["area_code"]) and (income["value"] > 0).all()
    assert {GEMEENTE, "WK999901", *pipeline.city.buurten} <= set(covariates["area_code"])  # padding stripped
    attributes = protected.groupby("year")["attribute"].agg(set).to_dict()
    assert attributes[2022] == {"migration_western_share_2019def", "migration_non_western_share_2019def"}
    assert attributes[2023] == {
        "origin_netherlands_share_2023def",
        "migration_europe_share_2023def",
        "migration_outside_europe_share_2023def",
    }
    assert any("$skiptoken" in q for p, q in pipeline.replay.log if p.endswith("85618NED/TypedDataSet"))
    source = pipeline.city.cbs["85618NED"]["TypedDataSet"]
    percent = {r["WijkenEnBuurten"].strip(): r["BuitenEuropa_19"] for r in source}
    outside = protected[protected["attribute"] == "migration_outside_europe_share_2023def"]
    for code, value in outside.set_index("area_code")["value"].items():
        assert value == pytest.approx(percent[code] / 100.0)
    assert WATER_BUURT not in set(outside["area_code"])  # null / secret shares are missing


# ------------------------------------------------------------------------------------------ same schema
@pytest.mark.parametrize("table", COMPARED)
def test_real_store_has_the_twin_store_schema(pipeline: Pipeline, twin_store: Path, table: str) -> None:
    real, twin = _read(pipeline.db, table), _read(twin_store, table)
    assert len(real) > 0
    assert list(real.columns) == list(twin.columns)
    assert real.dtypes.astype(str).to_dict() == twin.dtypes.astype(str).to_dict()


# ------------------------------------------------------------------------------------------ the evidence
def test_backtest_json_has_every_naive_baseline_and_a_skill_interval(pipeline: Pipeline) -> None:
    result = pipeline.backtest
    assert result["freq"] == "M" and result["horizon"] == 3 and len(result["folds"]) == 2
    summary = {row["model"]: row for row in result["summary"]}
    assert set(naive_names()) <= set(summary)
    assert result["baseline"] in naive_names()
    candidates = [row for row in summary.values() if not row["naive"]]
    assert candidates
    for row in candidates:
        assert row["skill_lo"] is not None and row["skill_hi"] is not None
        assert row["skill_lo"] <= row["skill"] <= row["skill_hi"]
    pooled = [row for row in result["skill"] if row["category"] == "all"]
    assert {row["model"] for row in pooled} >= {row["model"] for row in candidates}
    assert "oracle" not in summary  # real data has no truth table


def test_forecast_run_stores_forecasts_with_uncertainty(pipeline: Pipeline) -> None:
    forecasts = _read(pipeline.db, "forecasts")
    with Store(pipeline.db, read_only=True) as store:
        runs = store.runs()
    forecast_runs = runs[runs["kind"] == "forecast"]
    assert len(forecast_runs) == 1 and set(forecasts["run_id"]) == set(forecast_runs["run_id"])
    assert sorted(forecasts["period_start"].unique()) == list(
        pd.date_range("2024-01-01", periods=3, freq="MS")
    )
    assert set(forecasts["area_code"]) == set(pipeline.city.buurten)
    assert (forecasts["q05"] <= forecasts["q50"]).all() and (forecasts["q50"] <= forecasts["q95"]).all()
    assert (forecasts["q95"] > forecasts["q05"]).any()


def test_audit_ran_on_the_protected_attributes_fetched_from_cbs(pipeline: Pipeline) -> None:
    audit = pipeline.audit
    assert pipeline.audit_exit == (1 if audit["blocked"] else 0)
    protected = [d for d in audit["disparity"] if d["grouping"] == "protected"]
    assert {d["attribute"] for d in protected} == {
        "origin_netherlands_share_2023def",
        "migration_europe_share_2023def",
        "migration_outside_europe_share_2023def",
    }
    source = pipeline.city.cbs["85618NED"]["TypedDataSet"]
    residents = sum(r["AantalInwoners_5"] for r in source if r["WijkenEnBuurten"] in pipeline.city.buurten)
    for result in protected:
        assert result["definition"] == DEFINITION_NEW and result["year"] == 2023
        assert result["missing_areas"] == 0 and len(result["groups"]) >= 2
        assert sum(g["n_areas"] for g in result["groups"]) == len(pipeline.city.buurten)
        assert sum(g["residents"] for g in result["groups"]) == residents  # CBS inhabitants of the audit year
        assert all("exposure_ratio" in g and "fpr" in g for g in result["groups"])
    assert {p["attribute"] for p in audit["proxies"]} == {d["attribute"] for d in protected}
    assert any(d["grouping"] == "income" for d in audit["disparity"])
    assert audit["measurement"] is None and audit["mitigation"] is None  # twin-only: real data has no truth
    assert audit["realised"]["areas"] == len(pipeline.city.buurten)
    output = pipeline.outputs["audit"]
    assert "herkomst" in output and "exposure" in output and ("BLOCKED" in output) == audit["blocked"]
