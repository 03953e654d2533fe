"""A forecast run stores its last backtest fold's forecasts: the very means the audit used to refit, logged
with a digest so a direct edit is named by ``log verify --deep``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from pulsetwin.evaluation.lineup import Lineup
from pulsetwin.evaluation.runs import ForecastRun, run_forecast
from pulsetwin.evaluation.skill import SkillSettings
from pulsetwin.evaluation.splits import RollingOrigin
from pulsetwin.models.base import History
from pulsetwin.models.registry import make_model
from pulsetwin.store.database import Store
from pulsetwin.store.fold_forecasts import COLUMNS, read_fold_forecasts
from pulsetwin.store.frames import load_frames
from pulsetwin.store.logcheck import check_log
from pulsetwin.twin.generate import generate_twin

CATEGORIES = ["violence", "burglary_residential"]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A small weekly twin store (heerlen, two years, three categories)."""
    twin = generate_twin("heerlen", seed=3, years=2)
    incidents = twin.tables["incidents"]
    chosen = incidents[(incidents["freq"] == "W") & incidents["category"].isin([*CATEGORIES, "vandalism"])]
    with Store(tmp_path_factory.mktemp("folds") / "pt.duckdb") as opened:
        opened.import_frames(
            {"areas": twin.tables["areas"], "covariates": twin.tables["covariates"], "incidents": chosen},
            source="twin:3",
        )
        yield opened


@pytest.fixture(scope="module")
def glm_run(store: Store) -> ForecastRun:
    return run_forecast(
        store, RollingOrigin("W", horizon=3, folds=2), model="glm", categories=CATEGORIES,
        lineup=Lineup(naive=["naive_last"]), skill=SkillSettings(n_boot=50, seed=3), scheduler="serial",
    )  # fmt: skip


def test_fold_forecasts_are_the_refit_the_audit_used_to_make(store: Store, glm_run: ForecastRun) -> None:
    stored = read_fold_forecasts(store, glm_run.run_id)
    run = store.get_run(glm_run.run_id)
    origin = glm_run.backtest.folds[-1].origin
    assert list(stored.columns) == list(COLUMNS)
    assert set(stored["origin"]) == {origin} and str(origin.date()) == run.metrics["backtest"]["folds"][-1]
    assert origin < glm_run.forecasts["period_start"].min()  # a fold before the forecast, out of sample
    # what the audit computed before it read the store: the recorded model rebuilt and refitted at the fold
    assert run.model is not None and run.freq is not None and run.horizon is not None
    history = History.from_frames(
        load_frames(store, run.freq), origin=origin, freq=run.freq, categories=run.params["categories"]
    )
    refit = make_model(run.model, **run.params["model_params"]).fit(history).predict(run.horizon)
    refit = refit.sort_values(["area_code", "category", "period_start"]).reset_index(drop=True)
    assert sorted(stored["category"].unique()) == sorted(CATEGORIES)
    keys = ["area_code", "category", "period_start"]
    pd.testing.assert_frame_equal(
        stored[[*keys, "mean"]], refit[[*keys, "mean"]], check_dtype=False, check_exact=True
    )


def test_a_run_without_fold_forecasts_reads_empty(store: Store, tmp_path: Path) -> None:
    assert read_fold_forecasts(store, "no-such-run").empty
    with Store(tmp_path / "empty.duckdb") as empty:
        assert empty.has_table("fold_forecasts") and read_fold_forecasts(empty, "r").empty


@pytest.mark.parametrize(
    ("sql", "words"),
    [
        ("UPDATE fold_forecasts SET mean = mean + 1 WHERE area_code = (SELECT min(area_code) FROM fold_forecasts)",
         "content differs"),
        ("DELETE FROM fold_forecasts WHERE category = 'violence'", "where the log accounts for"),
    ],
)  # fmt: skip
def test_fold_forecasts_pass_the_deep_check_and_a_direct_edit_is_named(
    store: Store, glm_run: ForecastRun, sql: str, words: str
) -> None:
    logged = [r for r in store.log.records() if r.action == "save_fold_forecasts"]
    assert [r.subject for r in logged] == [glm_run.run_id]
    assert logged[0].digests["fold_forecasts"]["added"]["rows"] == len(
        read_fold_forecasts(store, glm_run.run_id)
    )
    assert check_log(store, deep=True).ok
    store._con.execute("BEGIN TRANSACTION")  # the edit is rolled back: the module's store stays honest
    try:
        store._con.execute(sql)
        failed = {t.table: t.reason for t in check_log(store, deep=True).tables if not t.ok}
    finally:
        store._con.execute("ROLLBACK")
    assert list(failed) == ["fold_forecasts"] and words in failed["fold_forecasts"]
