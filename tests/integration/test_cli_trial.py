"""``pulsetwin trial design`` -> twin simulates the period with a known effect -> ``trial analyse``, end to end,
and the trial section of ``pulsetwin report``."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
import yaml
from typer.testing import CliRunner

from pulsetwin.cli import forecasting
from pulsetwin.cli.trial import register
from pulsetwin.store.database import Store
from pulsetwin.store.runs import RunKind

ORIGIN = pd.Timestamp("2022-07-01")
PERIODS = 6


def forecast_run(store: Store, incidents: pd.DataFrame, name: str) -> None:
    """A 12-month historical-mean forecast from ``ORIGIN`` for ``PERIODS`` months, stored as a run."""
    monthly = incidents[(incidents["freq"] == "M") & (pd.to_datetime(incidents["period_start"]) < ORIGIN)]
    recent = monthly[pd.to_datetime(monthly["period_start"]) >= ORIGIN - pd.DateOffset(months=12)]
    mean = recent.groupby(["area_code", "category"])["count"].mean().clip(lower=0.01)
    starts = pd.DataFrame({"period_start": pd.date_range(ORIGIN, periods=PERIODS, freq="MS").date})
    frame = mean.rename("mean").reset_index().merge(starts, how="cross")
    store.save_run(RunKind.FORECAST, model="naive_hist", params={}, run_id=name, origin=ORIGIN, freq="M",
                   horizon=PERIODS)  # fmt: skip
    frame = frame.assign(run_id=name, model="naive_hist", q05=0.0, q50=frame["mean"].round(),
                         q95=frame["mean"] + 2 * np.sqrt(frame["mean"]))  # fmt: skip
    store.import_frames({"forecasts": frame}, source=f"run:{name}")


@pytest.fixture(scope="module")
def fresh_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A heerlen twin whose incidents stop at ``ORIGIN`` (the trial period is simulated by the test bed)."""
    from pulsetwin.twin.generate import generate_twin

    path = tmp_path_factory.mktemp("trial") / "twin.duckdb"
    city = generate_twin("heerlen", seed=3, years=2)
    tables = dict(city.tables)
    incidents = tables["incidents"]
    tables["incidents"] = incidents[pd.to_datetime(incidents["period_start"]) < ORIGIN]
    del tables["events"]
    with Store(path) as store:
        store.import_frames(tables, source=str(city.source))
        forecast_run(store, tables["incidents"], "fc")
    return path


@pytest.fixture
def store_path(fresh_store: Path, tmp_path: Path) -> Path:
    """A copy of the fresh store per test (each simulates its own trial period)."""
    return Path(shutil.copy(fresh_store, tmp_path / "twin.duckdb"))


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    root = typer.Typer()
    register(root)
    forecasting.register(root)  # forecast and report
    return root


def spec_file(tmp_path: Path, **changes: object) -> Path:
    spec = yaml.safe_load((Path(__file__).parents[2] / "examples" / "trial.yaml").read_text(encoding="utf-8"))
    spec["power"]["simulations"] = 100
    spec["design"]["randomisations"] = 499
    spec.update(changes)
    path = tmp_path / "trial.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def test_design_simulate_analyse_recovers_a_planted_effect(app: typer.Typer, store_path: Path,
                                                           tmp_path: Path) -> None:  # fmt: skip
    runner = CliRunner()
    spec = spec_file(tmp_path)
    out = tmp_path / "prereg"
    designed = runner.invoke(app, ["trial", "design", "--db", str(store_path), "--run", "fc", "--spec", str(spec),
                                   "--out", str(out), "--allow-underpowered"])  # fmt: skip
    assert designed.exit_code == 0, designed.output
    doc = json.loads((out / "preregistration.json").read_text(encoding="utf-8"))
    assert "Registered version 1" in designed.output and doc["trial_id"] == "youth-work-2027"
    assert doc["outcome_rows_at_registration"] == 0
    assert doc["power"]["displacement"] == 0.5 and 0.0 <= doc["power"]["displacement_power"] <= 1.0
    prereg = (out / "preregistration.md").read_text(encoding="utf-8")
    assert "The displacement test finds a rise of 50%" in prereg
    # Run fc keeps no backtest-fold forecasts: the design says the dispersion came from the history instead.
    assert doc["power"]["dispersion_source"] == "historical_mean"
    fallback = "the run keeps no forecasts of its backtest folds"
    assert fallback in doc["power"]["dispersion_note"] and fallback in prereg
    assert fallback in " ".join(designed.output.split())
    simulated = runner.invoke(app, ["trial", "simulate", "--db", str(store_path), "--trial", "youth-work-2027",
                                    "--effect", "0.4", "--seed", "5"])  # fmt: skip
    assert simulated.exit_code == 0, simulated.output
    result_path = tmp_path / "result.json"
    analysed = runner.invoke(app, ["trial", "analyse", "--db", str(store_path), "--trial", "youth-work-2027",
                                   "--json", str(result_path)])  # fmt: skip
    assert analysed.exit_code == 0, analysed.output
    result = json.loads(result_path.read_text(encoding="utf-8"))
    rr = result["rate_ratio"]
    assert rr["lower"] < 0.4 < rr["upper"] and rr["upper"] < 1.0, rr
    assert result["p_value"] < 0.05
    assert result["deviations"] == []
    assert [s["outcome"] for s in result["secondary"]] == ["youth_nuisance"]
    assert result["secondary"][0]["rate_ratio"]["lower"] < 1.0 < result["secondary"][0]["rate_ratio"]["upper"]
    assert {row["attribute"] for row in result["burden"]["groups"]} == {"migration_background_share"}
    with Store(store_path, read_only=True) as store:
        actions = [r.action for r in store.log.records()]
        assert store.log.verify().ok
    assert actions.index("trial_register") < actions.index("trial_simulate") < actions.index("trial_analyse")
    assert "read_protected" in actions
    # A re-allocation (another seed) after registration is refused and logged; the analysis then lists it.
    changed = runner.invoke(app, ["trial", "design", "--db", str(store_path), "--run", "fc", "--spec",
                                  str(spec_file(tmp_path, seed=99)), "--out", str(tmp_path / "again"),
                                  "--allow-underpowered"])  # fmt: skip
    assert changed.exit_code != 0 and "refused and logged" in str(changed.exception)
    again = runner.invoke(app, ["trial", "analyse", "--db", str(store_path), "--trial", "youth-work-2027"])
    assert again.exit_code == 0 and "1 refused attempt(s) to change the registration" in again.output
    # An edited pre-registration file does not change what is analysed, and is listed.
    (out / "preregistration.json").write_text(json.dumps({**doc, "hypothesis": "edited"}), encoding="utf-8")
    edited = runner.invoke(app, ["trial", "analyse", "--db", str(store_path), "--trial", "youth-work-2027"])
    assert edited.exit_code == 0 and "no longer matches the logged SHA-256" in edited.output


def test_crossover_randomises_periods_within_each_buurt(
    app: typer.Typer, store_path: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    spec = spec_file(tmp_path, name="crossover", design={"type": "crossover", "randomisations": 499})
    out = tmp_path / "prereg"
    designed = runner.invoke(app, ["trial", "design", "--db", str(store_path), "--run", "fc", "--spec", str(spec),
                                   "--out", str(out), "--allow-underpowered"])  # fmt: skip
    assert designed.exit_code == 0, designed.output
    units = pd.DataFrame(json.loads((out / "preregistration.json").read_text(encoding="utf-8"))["units"])
    assert (units.groupby("area_code")["treated"].sum() == PERIODS // 2).all(), (
        "half the periods of each buurt"
    )
    assert (units["block"] == units["area_code"]).all() and units["period_start"].nunique() == PERIODS
    assert (
        json.loads((out / "preregistration.json").read_text(encoding="utf-8"))["power"]["displacement_power"]
        is None
    )
    simulated = runner.invoke(app, ["trial", "simulate", "--db", str(store_path), "--trial", "crossover",
                                    "--effect", "0.4", "--seed", "6"])  # fmt: skip
    assert simulated.exit_code == 0, simulated.output
    result_path = tmp_path / "result.json"
    analysed = runner.invoke(app, ["trial", "analyse", "--db", str(store_path), "--trial", "crossover",
                                   "--json", str(result_path)])  # fmt: skip
    assert analysed.exit_code == 0, analysed.output
    result = json.loads(result_path.read_text(encoding="utf-8"))
    assert result["rate_ratio"]["lower"] < 0.4 < result["rate_ratio"]["upper"] < 1.0
    assert result["p_value"] < 0.05 and result["deviations"] == []
    assert result["displacement"]["p_value"] is None


def test_stepped_wedge_crosses_every_buurt_over_and_recovers_the_effect(
    app: typer.Typer, store_path: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    spec = spec_file(tmp_path, name="wedge", design={"type": "stepped_wedge", "randomisations": 499})
    out = tmp_path / "prereg"
    designed = runner.invoke(app, ["trial", "design", "--db", str(store_path), "--run", "fc", "--spec", str(spec),
                                   "--out", str(out), "--allow-underpowered"])  # fmt: skip
    assert designed.exit_code == 0, designed.output
    doc = json.loads((out / "preregistration.json").read_text(encoding="utf-8"))
    units = pd.DataFrame(doc["units"]).sort_values(["area_code", "period_start"])
    wedge = units.pivot(index="area_code", columns="period_start", values="treated").to_numpy()
    assert not wedge[:, 0].any() and wedge[:, -1].all() and (np.diff(wedge.astype(int), axis=1) >= 0).all()
    assert doc["spec"]["design"]["steps"] == PERIODS - 1 and "Stepped wedge" in doc["analysis"]
    markdown = (out / "preregistration.md").read_text(encoding="utf-8")
    assert "treated from" in markdown and f"{units['area_code'].nunique()} buurten in" in markdown
    simulated = runner.invoke(app, ["trial", "simulate", "--db", str(store_path), "--trial", "wedge",
                                    "--effect", "0.4", "--seed", "7"])  # fmt: skip
    assert simulated.exit_code == 0, simulated.output
    result_path = tmp_path / "result.json"
    analysed = runner.invoke(app, ["trial", "analyse", "--db", str(store_path), "--trial", "wedge",
                                   "--json", str(result_path)])  # fmt: skip
    assert analysed.exit_code == 0, analysed.output
    result = json.loads(result_path.read_text(encoding="utf-8"))
    assert result["rate_ratio"]["lower"] < 0.4 < result["rate_ratio"]["upper"] < 1.0
    assert result["p_value"] < 0.05 and result["deviations"] == []
    assert "stepped wedge" in result["displacement"]["reading"]


def trial_section(page: str, lang: str) -> str:
    """The visible text of the report's trial section in ``lang`` (tags dropped, entities and spaces folded)."""
    body = page[page.index(f"<div lang='{lang}'") :]
    section = body[body.index(f"<h2 id='trials-{lang}'>") :]
    section = section[: section.index("<div lang=") if "<div lang=" in section else len(section)]
    section = re.sub(r"<script.*?</script>", " ", section, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", section)).split())


def test_report_shows_no_trial_then_the_analysed_trial_in_dutch_and_english(
    app: typer.Typer, store_path: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    db = ["--db", str(store_path)]
    forecast = runner.invoke(app, ["forecast", *db, "--freq", "M", "--model", "naive_hist", "--horizon", "1",
                                   "--folds", "1", "--category", "violence"])  # fmt: skip
    assert forecast.exit_code == 0, forecast.output
    report = runner.invoke(app, ["report", *db, "--out", str(tmp_path / "before")])
    assert report.exit_code == 0, report.output
    page = (tmp_path / "before" / "report.html").read_text(encoding="utf-8")
    assert "Er is nog geen veldproef geregistreerd" in trial_section(page, "nl")
    assert "pulsetwin trial design --run RUN" in trial_section(page, "nl")
    assert "No field trial has been registered" in trial_section(page, "en")
    assert "pulsetwin trial design --run RUN" in trial_section(page, "en")

    out = tmp_path / "prereg"
    designed = runner.invoke(app, ["trial", "design", *db, "--run", "fc", "--spec", str(spec_file(tmp_path)),
                                   "--out", str(out), "--allow-underpowered"])  # fmt: skip
    assert designed.exit_code == 0, designed.output
    simulated = runner.invoke(app, ["trial", "simulate", *db, "--trial", "youth-work-2027", "--effect", "0.4",
                                    "--seed", "5"])  # fmt: skip
    assert simulated.exit_code == 0, simulated.output
    # an edited pre-registration file is a deviation the analysis lists, and so must the report
    doc = json.loads((out / "preregistration.json").read_text(encoding="utf-8"))
    (out / "preregistration.json").write_text(json.dumps({**doc, "hypothesis": "edited"}), encoding="utf-8")
    result_path = tmp_path / "result.json"
    analysed = runner.invoke(app, ["trial", "analyse", *db, "--trial", "youth-work-2027", "--json",
                                   str(result_path)])  # fmt: skip
    assert analysed.exit_code == 0, analysed.output
    result = json.loads(result_path.read_text(encoding="utf-8"))
    report = runner.invoke(app, ["report", *db, "--out", str(tmp_path / "after")])
    assert report.exit_code == 0, report.output
    page = (tmp_path / "after" / "report.html").read_text(encoding="utf-8")

    with Store(store_path, read_only=True) as store:
        (registration,) = [r for r in store.log.records() if r.action == "trial_register"]
    sha, seq = registration.detail["sha256"], registration.seq
    rr = result["rate_ratio"]
    assert result["p_value"] < 0.05  # as in the planted-effect test above: same store, effect and seed
    (deviation,) = result["deviations"]
    assert "no longer matches the logged SHA-256" in deviation
    nl, en = trial_section(page, "nl"), trial_section(page, "en")
    assert nl.startswith("Veldproeven") and en.startswith("Field trials")
    for text in (nl, en):
        assert "youth-work-2027" in text and f"SHA-256 {sha}" in text and "pulsetwin log verify" in text
        assert result["sentence"] in text  # the pre-registered analysis's own sentence, as logged
        assert deviation in text  # every deviation listed, never hidden
        assert "twelve extra youth-work hours per week in the buurt" in text
        assert "nog geen veldproef" not in text and "No field trial" not in text
    nl_rr = f"Rate ratio {rr['estimate']:.2f} (95%-interval {rr['lower']:.2f} tot {rr['upper']:.2f})"
    assert nl_rr.replace(".", ",") in nl
    assert f"randomisatie-p = {result['p_value']:.3f}".replace(".", ",") in nl
    assert f"Logregel {seq}, SHA-256" in nl and "Afwijkingen van de preregistratie: 1" in nl
    assert "Opzet: loting over buurten" in nl and "primaire uitkomst: Geweld" in nl
    assert f"Rate ratio {rr['estimate']:.2f} (95 % interval {rr['lower']:.2f} to {rr['upper']:.2f})" in en
    assert f"randomisation p = {result['p_value']:.3f}" in en
    assert f"Log record {seq}, SHA-256" in en and "Deviations from the pre-registration: 1" in en
    assert "primary outcome: Violence" in en and "shown at alpha 0.05" in en
    assert result["displacement"]["reading"] in en
