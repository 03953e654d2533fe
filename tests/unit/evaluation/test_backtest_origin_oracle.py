"""The origin oracle in backtests: recovered from a twin store, verified against its truth, graded as 1."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pulsetwin.evaluation.backtest import BacktestResult, FrameSource, backtest
from pulsetwin.evaluation.lineup import Lineup, resolve_models
from pulsetwin.evaluation.origin_oracle import ORIGIN_ORACLE_NAME, OriginOracle
from pulsetwin.evaluation.skill import SkillSettings, skill_table
from pulsetwin.evaluation.splits import RollingOrigin
from pulsetwin.exceptions import ParameterError
from pulsetwin.models.base import Model
from pulsetwin.store.database import Store
from pulsetwin.twin import generate_twin, replay_twin
from pulsetwin.twin.source import TwinSource

SEED = 7
DESIGN = RollingOrigin("W", horizon=3, folds=2)
SMALL = RollingOrigin("W", horizon=3, folds=1, min_train=40)  # the one-year twin has 52 weeks


def _backtest(
    data: FrameSource | dict[str, pd.DataFrame],
    design: RollingOrigin,
    origin_oracle: Model | bool | None = None,
) -> BacktestResult:
    lineup = Lineup(models=[], origin_oracle=origin_oracle)
    return backtest(data, design, lineup, skill=SkillSettings(n_boot=100), scheduler="serial")


def _store(path: Path, tables: dict[str, pd.DataFrame], source: str) -> Path:
    with Store(path) as store:
        store.import_frames({k: v for k, v in tables.items() if k != "protected"}, source=source)
    return path


@pytest.fixture(scope="module")
def twin_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tables = generate_twin("heerlen", seed=SEED, years=2).tables
    return _store(tmp_path_factory.mktemp("oo") / "twin.duckdb", tables, str(TwinSource("heerlen", SEED)))


@pytest.fixture(scope="module")
def small_twin() -> dict[str, pd.DataFrame]:
    return generate_twin("heerlen", seed=SEED + 1, years=1).tables


@pytest.fixture(scope="module")
def result(twin_db: Path) -> BacktestResult:
    with Store(twin_db, read_only=True) as store:
        return _backtest(store, DESIGN)


def test_store_backtest_adds_origin_oracle_and_attainable_share(result: BacktestResult) -> None:
    payload = json.loads(json.dumps(result.to_dict()))
    rows = {row["model"]: row for row in payload["summary"]}
    assert {"oracle", ORIGIN_ORACLE_NAME} <= set(rows)
    assert all("attainable_share" in row and "attainable_share_lo" in row for row in rows.values())
    assert rows[ORIGIN_ORACLE_NAME]["attainable_share"] == pytest.approx(1.0)
    assert rows[result.baseline]["attainable_share"] == pytest.approx(0.0)
    oracle = rows["oracle"]
    assert oracle["attainable_share"] > 1.0 or oracle["deviance"] < rows[ORIGIN_ORACLE_NAME]["deviance"]
    assert ORIGIN_ORACLE_NAME in payload["settings"]["models"]
    assert payload["notes"] and "reproduces the stored truth" in payload["notes"][0]


def test_origin_oracle_equals_the_oracle_at_step_one_only(result: BacktestResult) -> None:
    """At step 1 the origin is the period start, so both condition on the same history."""
    scores = result.scores.set_index(["fold", "category", "step", "model"])["deviance"].unstack("model")
    first = scores.xs(1, level="step")
    assert np.allclose(first[ORIGIN_ORACLE_NAME], first["oracle"], rtol=1e-9)
    later = scores[scores.index.get_level_values("step") > 1]
    assert not np.allclose(later[ORIGIN_ORACLE_NAME], later["oracle"], rtol=1e-6)


def test_attainable_share_is_relative_to_the_origin_oracle(result: BacktestResult) -> None:
    summary = result.summary.set_index("model")
    naive, ceiling = summary.loc[result.baseline, "deviance"], summary.loc[ORIGIN_ORACLE_NAME, "deviance"]
    expected = (naive - summary["deviance"]) / (naive - ceiling)
    assert np.allclose(summary["attainable_share"], expected, rtol=1e-9)
    inside = summary["attainable_share_lo"] <= summary["attainable_share_hi"]
    assert inside[summary["attainable_share_lo"].notna()].all()


def test_no_origin_oracle_when_asked_not_to(twin_db: Path) -> None:
    with Store(twin_db, read_only=True) as store:
        out = _backtest(store, RollingOrigin("W", horizon=3, folds=1), origin_oracle=False)
    assert ORIGIN_ORACLE_NAME not in set(out.summary["model"])
    assert out.summary["attainable_share"].isna().all() and out.notes == ()


@pytest.mark.parametrize("tamper", ["other_seed", "one_value", "other_source"])
def test_store_whose_truth_does_not_match_gets_a_note(
    tamper: str, small_twin: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    tables = dict(small_twin)
    source = str(TwinSource("heerlen", SEED + 1))
    if tamper == "other_seed":
        source = str(TwinSource("heerlen", SEED + 2))
    elif tamper == "one_value":
        truth = tables["truth"].copy()
        truth.loc[truth.index[1000], "intensity"] *= 1.0 + 1e-6
        tables["truth"] = truth
    else:
        source = "twin:test"
    db = _store(tmp_path / "t.duckdb", tables, source)
    with Store(db, read_only=True) as store:
        out = _backtest(store, SMALL)
        with pytest.raises(ParameterError, match="no origin oracle"):
            _backtest(store, SMALL, origin_oracle=True)
    assert ORIGIN_ORACLE_NAME not in set(out.summary["model"])
    assert "oracle" in set(out.summary["model"])
    assert out.summary["attainable_share"].isna().all()
    expected = {
        "other_seed": f"is not that of twin heerlen seed {SEED + 2}",
        "one_value": "1 of 41310 W intensity values differ",
        "other_source": "'twin:test'",
    }[tamper]
    assert len(out.notes) == 1 and out.notes[0].startswith("no origin oracle") and expected in out.notes[0]


def test_frames_take_an_origin_oracle_model(small_twin: dict[str, pd.DataFrame]) -> None:
    design = SMALL
    plain = _backtest(small_twin, design)
    assert ORIGIN_ORACLE_NAME not in set(plain.summary["model"]) and plain.notes == ()
    process = replay_twin("heerlen", seed=SEED + 1, years=1).process
    out = _backtest(small_twin, design, origin_oracle=OriginOracle(process=process))
    summary = out.summary.set_index("model")
    assert summary.loc[ORIGIN_ORACLE_NAME, "attainable_share"] == pytest.approx(1.0)
    with pytest.raises(ParameterError, match="carry no import source"):
        _backtest(small_twin, design, origin_oracle=True)


def test_origin_oracle_is_not_a_model_to_choose() -> None:
    with pytest.raises(ParameterError, match="origin oracle is not a model to choose"):
        resolve_models([ORIGIN_ORACLE_NAME])


def test_skill_table_attainable_share_known_answer() -> None:
    """Naive 10, model 7, origin oracle 4, oracle 2 per period: attainable 0.5, gap share 3/8."""
    deviance = {"naive": 10.0, "model": 7.0, "ceiling": 4.0, "oracle": 2.0}
    losses = pd.DataFrame(
        [{"period": p, "model": k, "deviance_sum": v, "n": 5} for p in range(8) for k, v in deviance.items()]
    )
    table = skill_table(losses, naive=["naive"], oracle="oracle", origin_oracle="ceiling", n_boot=50)
    table = table.set_index("model")
    assert table.loc["model", "attainable_share"] == pytest.approx(0.5)
    assert table.loc["model", "gap_share"] == pytest.approx(3 / 8)
    assert table.loc["oracle", "attainable_share"] == pytest.approx(4 / 3)
    assert table.loc["model", "attainable_share_lo"] == pytest.approx(0.5)
    assert table.loc["model", "attainable_share_hi"] == pytest.approx(0.5)
    with pytest.raises(ParameterError, match="origin_oracle"):
        skill_table(losses, naive=["naive"], origin_oracle="missing", n_boot=50)
