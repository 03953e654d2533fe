"""Forecast runs: status ok / no_skill, the stored record, the forecasts table and the report page."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from eval_toys import HistMean, LastValue, Seasonal, make_city

from pulsetwin.evaluation.lineup import Lineup
from pulsetwin.evaluation.runs import code_version, data_hash, run_forecast
from pulsetwin.evaluation.skill import SkillSettings
from pulsetwin.evaluation.splits import RollingOrigin
from pulsetwin.exceptions import ParameterError
from pulsetwin.reports.html import write_report
from pulsetwin.schema.tables import FORECASTS
from pulsetwin.store.database import Store
from pulsetwin.store.runs import RunStatus


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    city = make_city(n_weeks=70)
    with Store(tmp_path / "pt.duckdb") as opened:
        opened.import_frames({k: city[k] for k in ("areas", "incidents", "truth")}, source="test")
        yield opened


def test_best_picks_a_skilful_model_and_stores_the_run(store: Store, tmp_path: Path) -> None:
    run = run_forecast(
        store,
        RollingOrigin("W", horizon=3),
        model="best",
        lineup=Lineup(models=[Seasonal()], naive=[HistMean(), LastValue()]),
        skill=SkillSettings(n_boot=200),
        scheduler="serial",
    )
    assert (run.model, run.status) == ("t_seasonal", RunStatus.OK)
    stored = store.read("forecasts", where={"run_id": run.run_id})
    assert list(stored.columns) == list(FORECASTS.column_names)
    assert len(stored) == 12 * 2 * 3
    assert stored["period_start"].min() == pd.Timestamp("2021-01-04") + pd.Timedelta(weeks=70)
    record = store.get_run(run.run_id)
    assert record.status == RunStatus.OK and record.model == "t_seasonal" and record.horizon == 3
    assert record.data_hash == run.data_hash and len(record.data_hash) == 64
    assert record.code_version == code_version()
    assert record.metrics["skill"]["skill_lo"] > 0
    page = write_report(store, tmp_path / "report").read_text(encoding="utf-8")
    assert "<script src=" not in page and len(page) > 1_000_000  # plotly.js inline: works offline
    assert "t_seasonal" in page and "toself" in page and "Status <b>ok</b>" in page


def test_no_model_with_skill_is_marked_no_skill_and_forecasts_the_naive(store: Store) -> None:
    run = run_forecast(
        store,
        RollingOrigin("W", horizon=2),
        model="best",
        lineup=Lineup(models=[LastValue()], naive=[HistMean()]),
        skill=SkillSettings(n_boot=200),
        scheduler="serial",
    )
    assert run.status == RunStatus.NO_SKILL
    assert run.model == "t_hist" == run.baseline
    assert store.get_run(run.run_id).status == RunStatus.NO_SKILL


def test_a_named_model_without_skill_keeps_its_forecast_marked_no_skill(store: Store) -> None:
    run = run_forecast(
        store,
        RollingOrigin("W", horizon=2),
        model=LastValue(),
        lineup=Lineup(naive=[HistMean()]),
        skill=SkillSettings(n_boot=100),
        scheduler="serial",
        origin="2022-03-07",
    )
    assert (run.model, run.status) == ("t_last", RunStatus.NO_SKILL)
    assert run.forecasts["period_start"].min() == pd.Timestamp("2022-03-07")


def test_oracle_cannot_forecast(store: Store) -> None:
    with pytest.raises(
        ParameterError, match=r"The oracle reads the true intensity of a twin.*cannot forecast"
    ):
        run_forecast(store, RollingOrigin("W", horizon=2), model="oracle")


def test_explicit_origins_are_refused_a_forecast_run(store: Store) -> None:
    with pytest.raises(ParameterError, match="without explicit origins"):
        run_forecast(store, RollingOrigin("W", horizon=2, origins=("2022-03-07",)))


def test_data_hash_ignores_row_order_but_not_values() -> None:
    incidents = make_city(n_weeks=10)["incidents"]
    shuffled = incidents.sample(frac=1.0, random_state=1)
    assert data_hash(incidents) == data_hash(shuffled)
    changed = incidents.assign(count=incidents["count"] + (incidents.index == 0))
    assert data_hash(changed) != data_hash(incidents)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("ok", "beats the best naive baseline"),
        ("no_skill", "no model beat"),
        ("blocked", "audit found a blocking"),
    ],
)
def test_report_status_sentence_matches_the_run_status(status: str, expected: str) -> None:
    from pulsetwin.reports.html import status_paragraph

    text = status_paragraph(status, "glm", "naive_hist")
    assert expected in text and f"<b>{status}</b>" in text
