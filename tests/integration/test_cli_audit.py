"""``pulsetwin audit`` and ``pulsetwin docs`` through Typer's CliRunner on the Lum & Isaac scenario."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from pulsetwin.audit.bias_scenario import CITIZEN_CATEGORY, lum_isaac_scenario
from pulsetwin.cli.audit import register
from pulsetwin.store import Store

POLICY = (
    "top_k: 0.2\nbins: 4\nproxy: {folds: 3, repeats: 1, trees: 25}\nblock: [protected_exposure_out_of_band]\n"
)


def _forecast_run(store: Store, incidents: pd.DataFrame, origin: pd.Timestamp, name: str) -> None:
    """A historical-mean forecast of ``incidents`` for three months from ``origin``, stored as a run."""
    mean = incidents[incidents["period_start"] < origin].groupby(["area_code", "category"])["count"].mean()
    frame = (
        mean.rename("mean")
        .reset_index()
        .merge(pd.DataFrame({"period_start": pd.date_range(origin, periods=3, freq="MS")}), how="cross")
    )
    store.save_run(
        "forecast", model="naive_hist", params={"model_params": {}}, run_id=name, origin=origin, freq="M",
        horizon=3, metrics={"skill": {"skill": 0.1, "skill_lo": 0.05, "skill_hi": 0.2}, "baseline": "naive_last",
                            "backtest": {"folds": [], "summary": []}},
    )  # fmt: skip
    frame = frame.assign(run_id=name, model="naive_hist", q05=frame["mean"], q50=frame["mean"],
                         q95=frame["mean"] + 2 * np.sqrt(frame["mean"]))  # fmt: skip
    store.import_frames({"forecasts": frame}, source=f"run:{name}")


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli_audit")
    scenario = lum_isaac_scenario(n_areas=4000, n_periods=12, seed=11)
    incidents = scenario.tables["incidents"]
    with Store(root / "s.duckdb") as store:
        store.import_frames(scenario.tables, source="scenario")
        _forecast_run(store, incidents, scenario.origin, "naive")
        _forecast_run(
            store, incidents[incidents["category"] == CITIZEN_CATEGORY], scenario.origin, "mitigated"
        )
    (root / "policy.yaml").write_text(POLICY, encoding="utf-8")
    return root / "s.duckdb"


@pytest.fixture
def app() -> typer.Typer:
    local = typer.Typer()
    register(local)
    return local


def test_audit_blocks_naive_and_passes_mitigated(app: typer.Typer, store_path: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    policy = str(store_path.parent / "policy.yaml")
    out = tmp_path / "audit.json"
    blocked = runner.invoke(app, ["audit", "--db", str(store_path), "--run", "naive", "--policy", policy,
                                  "--json", str(out)])  # fmt: skip
    assert blocked.exit_code == 1, blocked.output
    assert "BLOCKED" in blocked.output and "protected_exposure_out_of_band" in blocked.output
    payload = json.loads(out.read_text(encoding="utf-8"))
    assert payload["blocked"] and payload["forecast_run"] == "naive"
    passed = runner.invoke(app, ["audit", "--db", str(store_path), "--run", "mitigated", "--policy", policy])
    assert passed.exit_code == 0, passed.output
    with Store(store_path, read_only=True) as store:
        assert store.get_run("naive").status == "blocked"
        assert store.get_run("mitigated").status == "done", "a passing audit leaves the status as it was"
        assert store.log.verify().ok


def test_docs_after_audit(app: typer.Typer, store_path: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    policy = str(store_path.parent / "policy.yaml")
    runner.invoke(app, ["audit", "--db", str(store_path), "--run", "naive", "--policy", policy])
    result = runner.invoke(
        app, ["docs", "--db", str(store_path), "--out", str(tmp_path / "d"), "--run", "naive"]
    )
    assert result.exit_code == 0, result.output
    for name in ("model_card.md", "model_card.html", "annex_iv.md", "iama.md", "algoritmeregister.json"):
        assert (tmp_path / "d" / name).is_file()
    assert "BLOCKED" in (tmp_path / "d" / "model_card.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("extra", "code", "title"), [("", 3, "CANNOT BE ASSESSED"), ("insufficient: block\n", 1, "BLOCKED")]
)
def test_audit_of_a_tiny_store_cannot_be_assessed(
    app: typer.Typer, tmp_path: Path, extra: str, code: int, title: str
) -> None:
    scenario = lum_isaac_scenario(n_areas=12, n_periods=12, seed=3)
    path = tmp_path / "tiny.duckdb"
    with Store(path) as store:
        store.import_frames(scenario.tables, source="scenario")
        _forecast_run(store, scenario.tables["incidents"], scenario.origin, "naive")
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY + extra, encoding="utf-8")
    out = tmp_path / "audit.json"
    result = CliRunner().invoke(
        app, ["audit", "--db", str(path), "--run", "naive", "--policy", str(policy), "--json", str(out)]
    )
    assert result.exit_code == code, result.output
    assert title in result.output and "protected_exposure_insufficient" in result.output
    assert "insufficient" in result.output and "inf" not in result.output.replace("insufficient", "")
    payload = json.loads(out.read_text(encoding="utf-8"))
    assert payload["status"] == ("insufficient" if code == 3 else "blocked")
    assert payload["policy"]["min_areas"] == 5
    with Store(path, read_only=True) as store:
        audits = store.runs().query("kind == 'audit'")
        assert audits["status"].iloc[-1] == payload["status"] and store.log.verify().ok
