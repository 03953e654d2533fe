"""The folds ``best`` chooses on: monthly origins one month apart over the span of the default folds, all before
the forecast origin."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pulsetwin.evaluation.backtest import backtest, restrict_folds
from pulsetwin.evaluation.lineup import Lineup
from pulsetwin.evaluation.runs import run_forecast
from pulsetwin.evaluation.selection import selection_folds
from pulsetwin.evaluation.skill import SkillSettings
from pulsetwin.evaluation.splits import RollingOrigin
from pulsetwin.exceptions import ParameterError
from pulsetwin.schema.periods import Freq
from pulsetwin.store.database import Store


def test_monthly_best_rolls_the_origin_by_one_month() -> None:
    assert selection_folds("M", 3, 4, None) == (10, 1)
    assert selection_folds("M", 1, 5, None) == (5, 1)


def test_weekly_and_an_explicit_step_are_kept() -> None:
    assert selection_folds("W", 4, 3, None) == (3, None)
    assert selection_folds("M", 3, 4, 2) == (4, 2)


def test_bad_folds_are_refused() -> None:
    with pytest.raises(ParameterError, match="'folds' parameter of selection_folds"):
        selection_folds("M", 3, 0, None)


@given(horizon=st.integers(1, 6), folds=st.integers(1, 6), extra=st.integers(0, 12))
def test_rolled_origins_span_the_same_months(horizon: int, folds: int, extra: int) -> None:
    """Same first and last origin as ``folds`` folds of ``horizon`` months, every month between: no extra history
    is needed, and every test period ends by the last observed month."""
    n = 12 + (folds - 1) * horizon + horizon + extra
    periods = pd.date_range("2015-01-01", periods=n, freq="MS")
    plain = RollingOrigin("M", horizon, folds).split(periods)
    k, step = selection_folds(Freq.M, horizon, folds, None)
    rolled = RollingOrigin("M", horizon, k, step).split(periods)
    assert rolled[0].origin == plain[0].origin and rolled[-1].origin == plain[-1].origin
    assert [f.origin for f in rolled] == list(pd.date_range(plain[0].origin, plain[-1].origin, freq="MS"))
    assert all(f.test_periods[-1] <= periods[-1] for f in rolled)


def monthly_frames(n_months: int = 30) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(3)
    codes = [f"BU0917{i:04d}" for i in range(8)]
    x0 = 190_000 + 500 * np.arange(len(codes))
    geometry = [
        f"POLYGON (({x} 320000, {x + 500} 320000, {x + 500} 320500, {x} 320500, {x} 320000))" for x in x0
    ]
    areas = pd.DataFrame(
        {"area_code": codes, "name": codes, "level": "buurt", "parent_code": "GM0917", "geometry": geometry}
    )
    periods = pd.date_range("2021-01-01", periods=n_months, freq="MS")
    grid = pd.MultiIndex.from_product(
        [codes, ["vandalism"], periods], names=["area_code", "category", "period_start"]
    )
    frame = grid.to_frame(index=False)
    level = np.repeat(rng.gamma(3.0, 2.0, len(codes)), n_months)
    incidents = frame.assign(freq="M", count=rng.poisson(level).astype(np.int64), source="police")
    return {
        "areas": areas,
        "incidents": incidents[["area_code", "period_start", "freq", "category", "count", "source"]],
    }


def test_monthly_best_records_its_rolled_folds_all_before_the_origin(tmp_path: Path) -> None:
    with Store(tmp_path / "pt.duckdb") as store:
        store.import_frames(monthly_frames(), source="test")
        run = run_forecast(
            store, RollingOrigin("M", horizon=3, folds=4), model="best", origin="2023-05-01",
            lineup=Lineup(models=("naive_last",), naive=("naive_hist", "naive_mean_year")),
            skill=SkillSettings(n_boot=50), scheduler="serial",
        )  # fmt: skip
        folds = store.get_run(run.run_id).metrics["choice"]["folds"]
    assert folds == [str(d.date()) for d in pd.date_range("2022-05-01", "2023-02-01", freq="MS")]
    assert len(run.backtest.folds) == 10 and run.backtest.folds[-1].test_periods[-1] < pd.Timestamp(
        "2023-05-01"
    )


def test_folds_cut_from_a_larger_backtest_equal_a_backtest_on_those_folds() -> None:
    frames = monthly_frames()
    lineup = Lineup(models=("naive_last",), naive=("naive_hist", "naive_mean_year"))
    skill = SkillSettings(n_boot=50, seed=2)
    every = ("2022-03-01", "2022-04-01", "2022-05-01", "2022-06-01", "2022-07-01")
    kept = ("2022-04-01", "2022-06-01")
    large = backtest(frames, RollingOrigin("M", 3, origins=every), lineup, skill=skill, scheduler="serial")
    alone = backtest(frames, RollingOrigin("M", 3, origins=kept), lineup, skill=skill, scheduler="serial")
    cut = restrict_folds(large, [pd.Timestamp(o) for o in kept])
    assert [f.origin for f in cut.folds] == [f.origin for f in alone.folds] and cut.baseline == alone.baseline
    columns = [c for c in alone.summary.columns if c != "fold"]
    pd.testing.assert_frame_equal(cut.summary[columns], alone.summary[columns])
    pd.testing.assert_frame_equal(cut.skill, alone.skill)
    with pytest.raises(ParameterError, match="'origins' parameter of restrict_folds"):
        restrict_folds(large, [pd.Timestamp("2022-08-01")])
