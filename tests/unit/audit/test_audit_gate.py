"""The release gate on the Lum & Isaac scenario: the naive pipeline is blocked, the mitigated one passes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from audit_helpers import POLICY, save_forecast_run, scenario_store

from pulsetwin.audit.gate import FINDING_CODES, gate, load_policy
from pulsetwin.exceptions import SchemaError
from pulsetwin.store import Store

pytestmark = pytest.mark.filterwarnings("ignore:DatetimeIndex.dayofweek is deprecated")


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    root = tmp_path_factory.mktemp("gate")
    scenario = scenario_store(root / "base.duckdb")
    (root / "policy.yaml").write_text(POLICY, encoding="utf-8")
    return root, scenario


@pytest.fixture
def store_path(base: tuple[Path, object], tmp_path: Path) -> Path:
    path = tmp_path / "s.duckdb"
    shutil.copy(base[0] / "base.duckdb", path)
    return path


def test_default_policy_loads_and_unknown_keys_are_refused(tmp_path: Path) -> None:
    policy = load_policy()
    assert policy.top_k == 0.1 and policy.band == (0.8, 1.25)
    assert set(policy.block) <= set(FINDING_CODES)
    bad = tmp_path / "bad.yaml"
    bad.write_text("block: [nonsense]\n", encoding="utf-8")
    with pytest.raises(SchemaError, match="finding codes"):
        load_policy(bad)
    bad.write_text("topk: 0.1\n", encoding="utf-8")
    with pytest.raises(SchemaError, match="policy keys"):
        load_policy(bad)


def test_naive_blocked_mitigated_passes(base: tuple[Path, object], store_path: Path) -> None:
    policy = load_policy(base[0] / "policy.yaml")
    with Store(store_path) as store:
        naive = save_forecast_run(store, base[1], citizen_only=False)  # type: ignore[arg-type]
        mitigated = save_forecast_run(store, base[1], citizen_only=True)  # type: ignore[arg-type]
        report, audit_id = gate(store, naive, policy=policy)
        assert report.realised["mode"] == "forecast_periods"
        assert report.blocked and "protected_exposure_out_of_band" in [
            f.code for f in report.findings if f.blocking
        ]
        protected = report.disparity[0]
        assert protected.detail["year"] == 2022 and "t/m 2022" in protected.detail["definition"]
        assert protected.table["exposure_ratio"].iloc[-1] > 2.0
        assert store.get_run(naive).status == "blocked"
        assert store.get_run(audit_id).status == "blocked"
        actions = [r.action for r in store.log.records(limit=10)]
        assert "audit_block" in actions and "set_run_status" in actions
        assert report.measurement is not None and report.measurement["biased_cells"] >= 2
        assert (
            report.mitigation is not None and "exposure" not in report.mitigation["citizen_only"].out_of_band
        )
        passed, _ = gate(store, mitigated, policy=policy)
        assert not passed.blocked, [f.message for f in passed.findings if f.blocking]
        assert store.get_run(mitigated).status == "ok"
        json.dumps(report.to_dict(), allow_nan=False)


def test_true_forecast_uses_last_backtest_fold_and_no_skill_blocks(
    base: tuple[Path, object], store_path: Path
) -> None:
    policy = load_policy(base[0] / "policy.yaml")
    with Store(store_path) as store:
        run = save_forecast_run(store, base[1], citizen_only=True, skill_lo=-0.02, future=True)  # type: ignore[arg-type]
        report, _ = gate(store, run, policy=policy)
    assert report.realised["mode"] == "last_backtest_fold"
    assert report.realised["origin"] == str(base[1].origin.date())  # type: ignore[attr-defined]
    assert [f.code for f in report.findings if f.blocking] == ["no_skill"]
