"""Stored model explanations: one per area and category of an explained run, none for naive baselines, and
written in the run's transaction."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pulsetwin.evaluation.runs as runs_module
from pulsetwin.evaluation.lineup import Lineup
from pulsetwin.evaluation.runs import ForecastRun, run_forecast
from pulsetwin.evaluation.skill import SkillSettings
from pulsetwin.evaluation.splits import RollingOrigin
from pulsetwin.models.explain import DRIVERS
from pulsetwin.store.database import Store
from pulsetwin.store.explanations import read_explanation, read_explanations
from pulsetwin.store.logcheck import check_log
from pulsetwin.twin.generate import generate_twin

CATEGORIES = ["violence", "burglary_residential"]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A small weekly twin store (heerlen, two years, two categories)."""
    twin = generate_twin("heerlen", seed=5, years=2)
    incidents = twin.tables["incidents"]
    chosen = incidents[(incidents["freq"] == "W") & incidents["category"].isin(CATEGORIES)]
    with Store(tmp_path_factory.mktemp("explain") / "pt.duckdb") as opened:
        opened.import_frames(
            {"areas": twin.tables["areas"], "covariates": twin.tables["covariates"], "incidents": chosen},
            source="twin:5",
        )
        yield opened


def forecast(store: Store, model: str) -> ForecastRun:
    return run_forecast(
        store, RollingOrigin("W", horizon=2, folds=2), model=model, lineup=Lineup(naive=["naive_last"]),
        skill=SkillSettings(n_boot=50, seed=5), scheduler="serial",
    )  # fmt: skip


@pytest.fixture(scope="module")
def glm_run(store: Store) -> ForecastRun:
    return forecast(store, "glm")


def test_a_glm_run_stores_one_explanation_per_area_and_category(store: Store, glm_run: ForecastRun) -> None:
    stored = read_explanations(store, glm_run.run_id)
    first = glm_run.forecasts[glm_run.forecasts["period_start"] == glm_run.forecasts["period_start"].min()]
    assert len(stored) == len(first) == first[["area_code", "category"]].drop_duplicates().shape[0]
    assert set(stored["category"]) == set(CATEGORIES)
    assert (pd.to_datetime(stored["period_start"]) == first["period_start"].iloc[0]).all()
    assert (stored["text_en"].str.len() > 0).all() and (stored["text_nl"].str.len() > 0).all()
    assert (
        stored["text_en"]
        .str.match(r"^About (\d+ % (above|below) its usual level|\d+\.?\d* times|as usual)")
        .all()
    )
    assert (
        stored["text_nl"].str.match(r"^Ongeveer (\d+ % (boven|onder)|\d+,?\d* keer|als gebruikelijk)").all()
    )
    # the sentence states the change from the usual level that the stored numbers show
    moved = stored[(stored["mean"] / stored["usual"] - 1).abs().between(0.1, 0.99)]
    stated = moved["text_en"].str.extract(r"^About (\d+) % (above|below)")
    sign = np.where(stated[1] == "above", 1.0, -1.0)
    np.testing.assert_allclose(
        sign * stated[0].astype(float) / 100, moved["mean"] / moved["usual"] - 1, atol=0.005
    )
    joined = first.merge(stored, on=["area_code", "category"], suffixes=("_forecast", ""))
    # explain(): the count contributions add up exactly to mean - usual, and mean is the model's forecast
    rebuilt = joined["usual"] + joined[list(DRIVERS)].sum(axis=1)
    np.testing.assert_allclose(np.log(rebuilt), np.log(joined["mean_forecast"]), rtol=0, atol=1e-9)


def test_one_area_is_read_back_and_unknown_ones_are_none(store: Store, glm_run: ForecastRun) -> None:
    row = glm_run.forecasts.iloc[0]
    one = read_explanation(store, glm_run.run_id, row["area_code"], row["category"])
    assert one is not None and one["mean"] == pytest.approx(row["mean"], rel=1e-12)
    assert read_explanation(store, glm_run.run_id, "BU00000000", row["category"]) is None
    assert read_explanation(store, "no-such-run", row["area_code"], row["category"]) is None


def test_a_naive_run_stores_no_explanation(store: Store) -> None:
    run = forecast(store, "naive_last")
    assert read_explanations(store, run.run_id).empty


def test_a_store_without_explained_runs_has_none(tmp_path: Path) -> None:
    with Store(tmp_path / "empty.duckdb") as empty:
        assert read_explanation(empty, "r", "BU09170000", "violence") is None
        assert read_explanations(empty, "r").empty


def test_explanations_are_written_in_the_runs_transaction(
    store: Store, glm_run: ForecastRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = runs_module.save_explanations

    def save_then_fail(target: Store, frame: pd.DataFrame, *, actor: str) -> int:
        real(target, frame, actor=actor)
        raise RuntimeError("disk full after the explanations")

    monkeypatch.setattr(runs_module, "save_explanations", save_then_fail)
    runs_before = len(store.runs())
    rows_before = len(read_explanations(store, glm_run.run_id))
    with pytest.raises(RuntimeError, match="disk full"):
        forecast(store, "glm")
    assert len(store.runs()) == runs_before and rows_before > 0
    total = store._con.execute("SELECT count(DISTINCT run_id) FROM explanations").fetchall()
    assert total == [(1,)]  # only the fixture's glm run: the failed run's rows were rolled back


@pytest.mark.parametrize(
    ("sql", "words"),
    [
        ("UPDATE explanations SET text_en = 'About as usual.' WHERE area_code = (SELECT min(area_code) "
         "FROM explanations)", "content differs"),
        ("DELETE FROM explanations WHERE category = 'violence'", "where the log accounts for"),
        ("INSERT INTO explanations SELECT * REPLACE ('forged' AS run_id) FROM explanations LIMIT 1",
         "where the log accounts for"),
    ],
)  # fmt: skip
def test_explanations_pass_the_deep_check_and_a_direct_edit_is_named(
    store: Store, glm_run: ForecastRun, sql: str, words: str
) -> None:
    logged = [r for r in store.log.records() if r.action == "save_explanations"]
    assert glm_run.run_id in {r.subject for r in logged}
    assert sum(r.digests["explanations"]["added"]["rows"] for r in logged) == len(
        store._con.execute("SELECT * FROM explanations").fetchall()
    )
    assert check_log(store, deep=True).ok
    store._con.execute("BEGIN TRANSACTION")  # the edit is rolled back: the module's store stays honest
    try:
        store._con.execute(sql)
        failed = {t.table: t.reason for t in check_log(store, deep=True).tables if not t.ok}
    finally:
        store._con.execute("ROLLBACK")
    assert list(failed) == ["explanations"] and words in failed["explanations"]
