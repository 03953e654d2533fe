"""The release gate on the Lum & Isaac scenario: the naive pipeline is blocked, the mitigated one passes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import NoReturn

import pytest
from audit_helpers import POLICY, save_forecast_run, scenario_store

from pulsetwin.audit.attributes import DEFINITION_OWN
from pulsetwin.audit.bias_scenario import CITIZEN_CATEGORY
from pulsetwin.audit.findings import EXIT_CODES, FINDING_CODES
from pulsetwin.audit.gate import gate
from pulsetwin.audit.policy import Policy, load_policy
from pulsetwin.exceptions import SchemaError, StoreError
from pulsetwin.models import registry
from pulsetwin.store import Store


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
    assert policy.min_areas == 5 and policy.insufficient == "cannot_assess"
    assert set(policy.block) <= set(FINDING_CODES)
    bad = tmp_path / "bad.yaml"
    bad.write_text("block: [nonsense]\n", encoding="utf-8")
    with pytest.raises(SchemaError, match="finding codes"):
        load_policy(bad)
    bad.write_text("topk: 0.1\n", encoding="utf-8")
    with pytest.raises(SchemaError, match="policy keys"):
        load_policy(bad)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("bins: four\n", "column 'bins', value 'four': must be an integer >= 2"),
        ("top_k: 1.5\n", "column 'top_k', value 1.5: must be None or a number in (0, 1]"),
        ("proxy: {folds: 1}\n", "column 'proxy.folds', value 1: must be an integer >= 2"),
    ],
)
def test_policy_values_are_checked_by_their_rules(tmp_path: Path, text: str, words: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(SchemaError) as caught:
        load_policy(bad)
    assert str(caught.value).startswith(f"file '{bad}', {words}")
    assert str(caught.value).endswith("Fix: see src/pulsetwin/audit/default_policy.yaml")


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
        assert protected.detail["year"] == 2022 and protected.detail["definition"] == DEFINITION_OWN
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


def _no_refit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make rebuilding or fitting the runs' model (naive_hist) fail: the audit must only read."""

    def refused(*args: object, **kwargs: object) -> NoReturn:
        raise AssertionError("the audit rebuilt or refitted a model")

    monkeypatch.setattr(type(registry.make_model("naive_hist")), "fit", refused)
    monkeypatch.setattr(registry, "make_model", refused)


def test_true_forecast_uses_last_backtest_fold_and_no_skill_blocks(
    base: tuple[Path, object], store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = load_policy(base[0] / "policy.yaml")
    with Store(store_path) as store:
        run = save_forecast_run(store, base[1], citizen_only=True, skill_lo=-0.02, future=True)  # type: ignore[arg-type]
        _no_refit(monkeypatch)
        report, _ = gate(store, run, policy=policy)
    # the findings the audit reached when it refitted the model itself, now from the stored fold forecasts
    assert report.realised["mode"] == "last_backtest_fold"
    assert report.realised["origin"] == str(base[1].origin.date())  # type: ignore[attr-defined]
    assert report.realised["categories"] == [CITIZEN_CATEGORY] and report.rule["flagged"] == 800
    assert [f.code for f in report.findings if f.blocking] == ["no_skill"]


def test_a_run_stored_without_fold_forecasts_is_refused_with_the_fix(
    base: tuple[Path, object], store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Store(store_path) as store:
        run = save_forecast_run(store, base[1], citizen_only=True, future=True, fold_forecasts=False)  # type: ignore[arg-type]
        _no_refit(monkeypatch)
        with pytest.raises(StoreError, match=r"older PulseTwin.*Fix: re-run `pulsetwin forecast`") as caught:
            gate(store, run, policy=load_policy(base[0] / "policy.yaml"))
        assert f"last backtest fold (origin {base[1].origin.date()})" in str(caught.value)  # type: ignore[attr-defined]
        assert store.get_run(run).status == "ok"  # refused before any verdict was recorded


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """Twelve areas: four quantile groups of three, fewer than the default min_areas of 5."""
    root = tmp_path_factory.mktemp("tiny")
    scenario = scenario_store(root / "tiny.duckdb", n_areas=12)
    return root, scenario


def _policy(root: Path, extra: str) -> Policy:
    path = root / "p.yaml"
    path.write_text(POLICY + extra, encoding="utf-8")
    return load_policy(path)


@pytest.mark.parametrize(
    ("extra", "status", "run_status"),
    [
        ("", "insufficient", "ok"),
        ("insufficient: block\n", "blocked", "blocked"),
        ("insufficient: warn\n", "passed", "ok"),
    ],
)
def test_too_few_areas_cannot_be_assessed_unless_the_policy_says_otherwise(
    tiny: tuple[Path, object], tmp_path: Path, extra: str, status: str, run_status: str
) -> None:
    path = tmp_path / "t.duckdb"
    shutil.copy(tiny[0] / "tiny.duckdb", path)
    with Store(path) as store:
        run = save_forecast_run(store, tiny[1], citizen_only=False)  # type: ignore[arg-type]
        report, audit_id = gate(store, run, policy=_policy(tmp_path, extra))
        assert report.status == status and store.get_run(audit_id).status == status
        assert store.get_run(run).status == run_status
        actions = [r.action for r in store.log.records(limit=5)]
    assert EXIT_CODES[status] == {"passed": 0, "blocked": 1, "insufficient": 3}[status]
    exposure = next(f for f in report.findings if f.code == "protected_exposure_insufficient")
    assert exposure.blocking == (status == "blocked") and exposure.cannot_assess == (status == "insufficient")
    assert "holds 3 areas, fewer than the 5" in exposure.message
    assert exposure.detail["min_areas"] == 5 and len(exposure.detail["groups"]) == 4
    assert not any(f.code.endswith("_out_of_band") for f in report.findings)
    # checks the policy does not block on only warn when they cannot be assessed
    assert not any(f.cannot_assess or f.blocking for f in report.findings if f.code.startswith("income_"))
    assert ("audit_insufficient" in actions) == (status == "insufficient")
    payload = report.to_dict()
    text = json.dumps(payload, allow_nan=False)
    assert payload["status"] == status and '"inf"' not in text
    assert all(g["exposure_ratio"] == "insufficient" for g in payload["disparity"][0]["groups"])


def test_a_blocked_run_stays_blocked_when_a_new_audit_cannot_assess_it(
    tiny: tuple[Path, object], tmp_path: Path
) -> None:
    path = tmp_path / "t.duckdb"
    shutil.copy(tiny[0] / "tiny.duckdb", path)
    with Store(path) as store:
        run = save_forecast_run(store, tiny[1], citizen_only=False)  # type: ignore[arg-type]
        gate(store, run, policy=_policy(tmp_path, "insufficient: block\n"))
        report, _ = gate(store, run, policy=_policy(tmp_path, ""))
        assert report.status == "insufficient" and store.get_run(run).status == "blocked"
        # with min_areas 3 every group of three is compared again and the verdict is a number-based one
        report, _ = gate(store, run, policy=_policy(tmp_path, "min_areas: 3\n"))
    assert report.status in ("passed", "blocked") and report.disparity[0].min_areas == 3
    assert "exposure" not in report.disparity[0].insufficient


@pytest.mark.parametrize("line", ["min_areas: 0\n", "min_areas: 2.5\n", "insufficient: ignore\n"])
def test_bad_insufficient_settings_are_refused(tmp_path: Path, line: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(line, encoding="utf-8")
    with pytest.raises(SchemaError, match=r"min_areas|insufficient"):
        load_policy(path)
