"""Backtest: every fold holds every naive baseline, the oracle beats the naive, leakage is caught."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from eval_toys import HistMean, LastValue, Peeker, Seasonal

from pulsetwin.evaluation.backtest import HOTSPOT_COLUMNS, backtest, fold_history
from pulsetwin.evaluation.leakage import check_no_peeking
from pulsetwin.evaluation.lineup import Lineup
from pulsetwin.evaluation.oracle import Oracle
from pulsetwin.evaluation.skill import SkillSettings
from pulsetwin.evaluation.splits import RollingOrigin
from pulsetwin.exceptions import LeakageError, ParameterError, SchemaError
from pulsetwin.models.base import History
from pulsetwin.models.registry import make_model
from pulsetwin.store.frames import compact_incidents
from pulsetwin.testing import assert_table_equal

W4 = RollingOrigin("W", horizon=4, folds=4)


@pytest.fixture(scope="module")
def result(city: dict[str, pd.DataFrame]):  # type: ignore[no-untyped-def]
    return backtest(
        city,
        W4,
        Lineup(models=[Seasonal()], naive=[HistMean(), LastValue()]),
        skill=SkillSettings(n_boot=300),
        scheduler="serial",
    )


def test_every_fold_category_and_step_has_every_model(result) -> None:  # type: ignore[no-untyped-def]
    scores = result.scores
    per_cell = scores.groupby(["fold", "category", "step"])["model"].apply(frozenset)
    assert set(per_cell) == {frozenset({"t_hist", "t_last", "t_seasonal", "oracle"})}
    assert sorted(scores["fold"].unique()) == [0, 1, 2, 3]
    assert (scores["n"] == 12).all()
    assert set(HOTSPOT_COLUMNS) <= set(scores.columns)
    assert (scores["cutoff"] <= scores["period_start"]).all()


def test_oracle_beats_the_naive_and_gap_share_is_one(result) -> None:  # type: ignore[no-untyped-def]
    summary = result.summary.set_index("model")
    assert result.baseline == "t_hist"
    assert summary.loc["oracle", "deviance"] < summary.loc["t_hist", "deviance"]
    assert summary.loc["oracle", "skill_lo"] > 0
    assert summary.loc["oracle", "gap_share"] == pytest.approx(1.0)
    assert summary.loc["t_seasonal", "skill"] > 0
    assert summary.loc["t_last", "skill_hi"] < 0
    assert bool(summary.loc["t_hist", "naive"]) and not bool(summary.loc["t_seasonal", "naive"])
    # The oracle's Poisson intervals are calibrated: coverage of [q05, q95] is at least nominal (discrete).
    assert 0.85 <= summary.loc["oracle", "coverage90"] <= 1.0


def test_pooled_metrics_match_a_direct_computation(city, result) -> None:  # type: ignore[no-untyped-def]
    fold = result.folds[0]
    frames = {**city}
    history = History.from_frames(frames, origin=fold.origin, freq="W")
    forecast = HistMean().fit(history).predict(4)
    observed = city["incidents"][city["incidents"]["period_start"].isin(fold.test_periods)]
    joined = observed.merge(forecast, on=["area_code", "category", "period_start"])
    mae = (joined["count"] - joined["mean"]).abs().mean()
    rows = result.scores[(result.scores["fold"] == 0) & (result.scores["model"] == "t_hist")]
    assert (rows["mae"] * rows["n"]).sum() / rows["n"].sum() == pytest.approx(mae)


def test_same_seed_same_result(city) -> None:  # type: ignore[no-untyped-def]
    design, lineup = RollingOrigin("W", horizon=2, folds=2), Lineup(models=[Seasonal()], naive=[HistMean()])
    skill = SkillSettings(n_boot=50, seed=3)
    a = backtest(city, design, lineup, skill=skill, scheduler="serial")
    b = backtest(city, design, lineup, skill=skill, scheduler="serial")
    pd.testing.assert_frame_equal(a.summary, b.summary)


def test_process_pool_gives_the_serial_result(city) -> None:  # type: ignore[no-untyped-def]
    # Registry models: test-local classes from conftest cannot be pickled into pool workers under xdist.
    design = RollingOrigin("W", horizon=2, folds=2)
    lineup = Lineup(models=[make_model("naive_seasonal")], naive=[make_model("naive_hist")])
    serial = backtest(city, design, lineup, skill=SkillSettings(n_boot=50), scheduler="serial")
    pooled = backtest(city, design, lineup, skill=SkillSettings(n_boot=50), scheduler="local", workers=2)
    pd.testing.assert_frame_equal(serial.scores, pooled.scores)


def test_naive_baselines_are_added_when_not_listed(city) -> None:  # type: ignore[no-untyped-def]
    result = backtest(
        city,
        RollingOrigin("W", horizon=2, folds=1),
        Lineup(models=[], naive=[LastValue()], oracle=False),
        skill=SkillSettings(n_boot=20),
        scheduler="serial",
    )
    assert list(result.summary["model"]) == ["t_last"]


def test_withheld_counts_are_not_scored(city) -> None:  # type: ignore[no-untyped-def]
    incidents = city["incidents"].copy()
    incidents["count"] = incidents["count"].astype("Int64")
    last = incidents["period_start"].max()
    incidents.loc[(incidents["period_start"] == last) & (incidents["area_code"] == "BU09170000"), "count"] = (
        pd.NA
    )
    result = backtest(
        {**city, "incidents": incidents},
        RollingOrigin("W", horizon=1, folds=1),
        Lineup(models=[], naive=[HistMean()]),
        skill=SkillSettings(n_boot=20),
        scheduler="serial",
    )
    assert (result.scores["n"] == 11).all()


def test_missing_areas_and_unknown_categories_are_refused(city) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SchemaError, match="no geometry"):
        backtest(
            {**city, "areas": city["areas"].iloc[1:]},
            RollingOrigin("W", horizon=1, folds=1),
            Lineup(models=[], naive=[HistMean()]),
            scheduler="serial",
        )
    with pytest.raises(ParameterError, match="categories"):
        backtest(city, W4, Lineup(models=[], naive=[HistMean()]), categories=["arson"], scheduler="serial")
    with pytest.raises(ParameterError, match="oracle"):
        Lineup(models=["oracle"], naive=[HistMean()])


def test_two_different_models_of_one_name_are_refused(city) -> None:  # type: ignore[no-untyped-def]
    """A second model of one name would file its scores under the first's row: refused, naming both."""
    design = RollingOrigin("W", horizon=1, folds=1)
    with pytest.raises(ParameterError, match=r"two different models .* named 'naive_mean_k'.*k=None.*k=8"):
        backtest(city, design, Lineup(models=[make_model("naive_mean_k", k=8)], naive=["naive_mean_k"]))
    with pytest.raises(ParameterError, match=r"named 't_hist' \(HistMean\(\) and _Renamed\(\)"):
        backtest(city, design, Lineup(models=[_Renamed()], naive=[HistMean()]), scheduler="serial")
    # The same model named twice (a naive baseline also listed as a candidate) is scored once.
    once = backtest(
        city,
        design,
        Lineup(models=[make_model("naive_mean_k")], naive=["naive_mean_k"], oracle=False),
        skill=SkillSettings(n_boot=20),
        scheduler="serial",
    )
    assert list(once.summary["model"]) == ["naive_mean_k"]


class _Renamed(Peeker):
    """Another model that claims HistMean's name."""

    name = "t_hist"


def test_settings_objects_of_the_wrong_type_are_refused(city) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError, match=r"'design' parameter of backtest must be a RollingOrigin\. Got dict"):
        backtest(city, {"freq": "W", "horizon": 1})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"'lineup' parameter of backtest must be a Lineup\. Got list"):
        backtest(city, W4, [HistMean()])  # type: ignore[arg-type]


def test_history_is_cut_strictly_before_the_origin(city) -> None:  # type: ignore[no-untyped-def]
    origin = pd.Timestamp("2022-03-07")
    history = History.from_frames(city, origin=origin, freq="W")
    assert history.incidents["period_start"].max() < origin
    with pytest.raises(LeakageError, match=r"incident row.*at or after the origin"):
        History(incidents=city["incidents"], freq="W", origin=origin)
    events = pd.DataFrame({"event_id": ["e1", "e2"], "occurred_at": [origin - pd.Timedelta(days=1), origin]})
    with pytest.raises(LeakageError, match=r"1 event.*e2"):
        History(incidents=history.incidents, freq="W", origin=origin, events=events)


def test_peeking_model_is_caught_and_honest_models_pass(city) -> None:  # type: ignore[no-untyped-def]
    origin = pd.Timestamp("2022-03-07")
    with pytest.raises(LeakageError, match="t_peeker"):
        check_no_peeking(Peeker(), city, origin, horizon=2)
    for honest in (HistMean(), Seasonal(), Oracle(truth=city["truth"])):
        check_no_peeking(honest, city, origin, horizon=2)


def test_oracle_predicts_truth_with_poisson_quantiles(city) -> None:  # type: ignore[no-untyped-def]
    origin = pd.Timestamp("2022-03-07")
    forecast = Oracle(truth=city["truth"]).fit(History.from_frames(city, origin=origin, freq="W")).predict(3)
    truth = city["truth"].merge(forecast, on=["area_code", "category", "period_start"])
    assert len(truth) == 12 * 2 * 3
    np.testing.assert_allclose(truth["mean"], truth["intensity"])
    assert (truth["q05"] <= truth["q50"]).all() and (truth["q50"] <= truth["q95"]).all()


def test_compact_incidents_keep_the_values_sorted_by_period(city) -> None:  # type: ignore[no-untyped-def]
    incidents = city["incidents"].sample(frac=1.0, random_state=1).reset_index(drop=True)
    keep = (incidents["category"] == "vandalism").to_numpy()
    compact = compact_incidents(incidents, keep)
    assert compact["period_start"].is_monotonic_increasing
    assert isinstance(compact["area_code"].dtype, pd.CategoricalDtype)
    assert list(compact["category"].cat.categories) == ["vandalism"]
    assert list(compact["area_code"].cat.categories) == sorted(incidents["area_code"].unique())
    assert_table_equal(compact, incidents[keep], table="incidents")


def test_fold_history_is_the_from_frames_cut_as_a_slice(city) -> None:  # type: ignore[no-untyped-def]
    origin = pd.Timestamp("2022-03-07")
    compact = compact_incidents(city["incidents"])
    history = fold_history(city, compact, origin=origin, freq="W")
    built = History.from_frames(city, origin=origin, freq="W")
    assert np.shares_memory(history.incidents["count"].to_numpy(), compact["count"].to_numpy())
    assert_table_equal(history.incidents, built.incidents, table="incidents")


def test_categorical_input_frames_give_the_text_result(city, result) -> None:  # type: ignore[no-untyped-def]
    # A caller may hand over text columns as categoricals (e.g. Parquet read as dictionaries).
    text = ("area_code", "freq", "category", "source")
    frames = {
        **city,
        "incidents": city["incidents"].astype({k: "category" for k in text}),
        "truth": city["truth"].astype({k: "category" for k in ("area_code", "category", "freq")}),
    }
    again = backtest(
        frames, W4, Lineup(models=[Seasonal()], naive=[HistMean(), LastValue()]), skill=SkillSettings(n_boot=300),
        scheduler="serial",
    )  # fmt: skip
    pd.testing.assert_frame_equal(again.scores, result.scores)
    pd.testing.assert_frame_equal(again.summary, result.summary)
