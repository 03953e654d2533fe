"""The populated store of :mod:`pulsetwin.testing.fixture_store` is a twin the origin oracle can find: a backtest of it
adds the oracle and the origin oracle (its import source was once a label the oracle could not read)."""

from __future__ import annotations

from pathlib import Path

from pulsetwin.evaluation.backtest import backtest
from pulsetwin.evaluation.lineup import Lineup
from pulsetwin.evaluation.skill import SkillSettings
from pulsetwin.evaluation.splits import RollingOrigin
from pulsetwin.store.database import Store
from pulsetwin.testing.fixture_store import build_store
from pulsetwin.twin.source import TwinSource


def test_a_backtest_of_the_fixture_store_has_both_oracles(tmp_path: Path) -> None:
    fixture = build_store(tmp_path, seed=3, years=2)
    with Store(fixture.db, read_only=True) as store:
        records = store.provenance()
        sources = set(records.loc[records["table_name"].isin(["incidents", "truth"]), "source"])
        result = backtest(
            store, RollingOrigin("W", horizon=2, folds=1),
            Lineup(models=(), naive=("naive_last",), origin_oracle=True),
            skill=SkillSettings(n_boot=50), scheduler="serial",
        )  # fmt: skip
    assert sources == {str(TwinSource("heerlen", 3))}
    assert {"oracle", "origin_oracle"} <= set(result.summary["model"])
    assert any(note.startswith("origin oracle: twin heerlen seed 3") for note in result.notes)
