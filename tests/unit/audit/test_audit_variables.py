"""The audit reads residents and income by the names its policy gives (defaults: the CBS names); a store that
lacks an optional grouping gets a "cannot be assessed" finding instead of a crash."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from audit_helpers import POLICY, save_forecast_run

from pulsetwin.audit.bias_scenario import BiasScenario, lum_isaac_scenario
from pulsetwin.audit.findings import EXIT_CODES, AuditReport
from pulsetwin.audit.gate import gate
from pulsetwin.audit.policy import Policy, load_policy
from pulsetwin.exceptions import SchemaError
from pulsetwin.schema.variables import INCOME, RESIDENTS, VariableNames
from pulsetwin.store import Store

OWN_NAMES = """
variables:
  residents: inhabitants
  income: pct_low_income
  income_direction: lower
"""
N_AREAS = 202
"""Quantile edges fall between areas (positions 50.25, 100.5, 150.75), so the bins of ``x`` and of a falling
function of ``x`` hold the same areas in reverse order."""


@pytest.fixture(scope="module")
def scenario() -> BiasScenario:
    """The scenario with income made free of ties (it is drawn rounded to 0.1), so bins are exact."""
    drawn = lum_isaac_scenario(n_areas=N_AREAS, n_periods=12, seed=5)
    cov = drawn.tables["covariates"].copy()
    income = cov["variable"] == INCOME.default
    cov.loc[income, "value"] += np.arange(int(income.sum())) * 1e-5
    return replace(drawn, tables={**drawn.tables, "covariates": cov})


def _audit(
    path: Path, scenario: BiasScenario, tables: dict[str, pd.DataFrame], policy: Policy
) -> tuple[AuditReport, str]:
    with Store(path) as store:
        store.import_frames(tables, source="scenario")
        run = save_forecast_run(store, scenario, citizen_only=False)
        report, _ = gate(store, run, policy=policy)
        return report, store.get_run(run).status


def _own_words(tables: dict[str, pd.DataFrame], *, income: bool = True) -> dict[str, pd.DataFrame]:
    """The scenario with residents renamed and income turned into a share of low incomes (higher = poorer)."""
    cov = tables["covariates"].copy()
    residents = cov["variable"] == RESIDENTS.default
    is_income = cov["variable"] == INCOME.default
    cov.loc[residents, "variable"] = "inhabitants"
    cov.loc[is_income, "value"] = 100.0 - cov.loc[is_income, "value"]
    cov.loc[is_income, "variable"] = "pct_low_income"
    return {**tables, "covariates": cov if income else cov[~is_income]}


def _policy(tmp_path: Path, text: str) -> Policy:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY + text, encoding="utf-8")
    return load_policy(path)


def test_policy_variables_default_to_the_cbs_names_and_refuse_nonsense(tmp_path: Path) -> None:
    assert load_policy().variables == VariableNames("AantalInwoners", "GemiddeldInkomenPerInwoner", "higher")
    own = _policy(tmp_path, OWN_NAMES)
    assert own.variables == VariableNames("inhabitants", "pct_low_income", "lower")
    assert own.income_reference() == "lowest" and load_policy().income_reference() == "highest"
    assert own.to_dict()["variables"]["residents"] == "inhabitants"
    for bad, words in (
        ("variables: {income_direction: down}\n", "income_direction"),
        ("variables: {people: x}\n", r"variables\.people.*must be one of the roles"),
        ("variables: {residents: ''}\n", "variables.residents"),
    ):
        with pytest.raises(SchemaError, match=words):
            _policy(tmp_path, bad)


def test_own_names_and_a_falling_income_measure_give_the_audit_of_the_cbs_names(
    scenario: BiasScenario, tmp_path: Path
) -> None:
    cbs, cbs_status = _audit(
        tmp_path / "cbs.duckdb", scenario, scenario.tables, load_policy(_write(tmp_path))
    )
    own, own_status = _audit(
        tmp_path / "own.duckdb", scenario, _own_words(scenario.tables), _policy(tmp_path, OWN_NAMES)
    )
    assert [f.code for f in own.findings] == [f.code for f in cbs.findings] and own_status == cbs_status
    by_cbs = {d.grouping: d for d in cbs.disparity}
    by_own = {d.grouping: d for d in own.disparity}
    assert by_own["income"].attribute.startswith("pct_low_income")
    income_cbs, income_own = by_cbs["income"].table, by_own["income"].table
    # the same areas in reverse bin order; the most affluent bin is the reference in both
    assert income_cbs["n_areas"].tolist() == income_own["n_areas"].tolist()[::-1]
    np.testing.assert_allclose(
        income_own["exposure_ratio"].to_numpy()[::-1], income_cbs["exposure_ratio"].to_numpy(), rtol=1e-12
    )
    assert (
        by_own["income"].reference == income_own.index[0]
        and by_cbs["income"].reference == income_cbs.index[-1]
    )
    pd.testing.assert_frame_equal(by_own["protected"].table, by_cbs["protected"].table)


def _write(tmp_path: Path) -> Path:
    path = tmp_path / "cbs.yaml"
    path.write_text(POLICY, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("block", "status", "cannot_assess"),
    [("", "blocked", False), ("block: [income_exposure_out_of_band]\n", "insufficient", True)],
    ids=["income_not_blocking", "income_blocking"],
)
def test_a_store_without_income_cannot_assess_the_income_grouping(
    scenario: BiasScenario, tmp_path: Path, block: str, status: str, cannot_assess: bool
) -> None:
    policy = _policy(tmp_path, OWN_NAMES)
    if block:
        policy = replace(policy, block=("income_exposure_out_of_band",))
    report, _ = _audit(tmp_path / "s.duckdb", scenario, _own_words(scenario.tables, income=False), policy)
    assert report.status == status and EXIT_CODES[report.status] in (0, 1, 3)
    assert [d.grouping for d in report.disparity] == ["protected"]
    finding = next(f for f in report.findings if f.code == "income_unavailable")
    assert finding.cannot_assess == cannot_assess and not finding.blocking
    assert "pct_low_income" in finding.message and "income_direction" in finding.message


def test_income_of_other_areas_only_cannot_assess_the_grouping(
    scenario: BiasScenario, tmp_path: Path
) -> None:
    tables = _own_words(scenario.tables)
    cov = tables["covariates"]
    elsewhere = cov["variable"] == "pct_low_income"
    cov.loc[elsewhere, "area_code"] = [f"BU9999{i:04d}" for i in range(int(elsewhere.sum()))]
    report, _ = _audit(
        tmp_path / "s.duckdb", scenario, {**tables, "covariates": cov}, _policy(tmp_path, OWN_NAMES)
    )
    finding = next(f for f in report.findings if f.code == "income_unavailable")
    assert "no value of it for the forecast areas" in finding.message and not finding.cannot_assess


def test_missing_residents_are_refused_naming_the_role_and_what_is_there(
    scenario: BiasScenario, tmp_path: Path
) -> None:
    with pytest.raises(SchemaError) as caught:
        _audit(tmp_path / "s.duckdb", scenario, _own_words(scenario.tables), load_policy(_write(tmp_path)))
    message = str(caught.value)
    assert "'AantalInwoners', the residents variable" in message and "inhabitants" in message
    assert "variables: residents: NAME" in message


def test_a_store_without_protected_attributes_cannot_be_assessed(
    scenario: BiasScenario, tmp_path: Path
) -> None:
    tables = {k: v for k, v in scenario.tables.items() if k != "protected"}
    report, run_status = _audit(tmp_path / "s.duckdb", scenario, tables, load_policy(_write(tmp_path)))
    finding = next(f for f in report.findings if f.code == "protected_unavailable")
    assert report.status == "insufficient" and finding.cannot_assess and run_status == "ok"
    assert set(finding.detail["blocking_checks"]) == {"protected_exposure_out_of_band", "proxy_r2_block"}
    assert [d.grouping for d in report.disparity] == ["income"] and report.proxies == []


def test_the_readme_policy_block_loads(tmp_path: Path) -> None:
    readme = (Path(__file__).parents[3] / "README.md").read_text(encoding="utf-8")
    blocks = [b.split("```")[0] for b in readme.split("```yaml\n")[1:]]
    block = next(b for b in blocks if b.startswith("variables:"))
    path = tmp_path / "readme.yaml"
    path.write_text(block, encoding="utf-8")
    assert load_policy(path).variables == VariableNames("inhabitants", "pct_low_income", "lower")
