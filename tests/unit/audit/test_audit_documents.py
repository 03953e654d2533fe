"""Accountability documents: the register entry validates, every number is filled, judgements are marked."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from audit_helpers import POLICY, save_forecast_run, scenario_store

from pulsetwin.audit.attributes import DEFINITION_OWN
from pulsetwin.audit.documents.context import TO_ANSWER, build_context, read_organisation
from pulsetwin.audit.documents.register import register_entry, register_schema, validate_register
from pulsetwin.audit.documents.render import write_documents
from pulsetwin.audit.gate import gate
from pulsetwin.audit.policy import load_policy
from pulsetwin.exceptions import SchemaError, StoreError
from pulsetwin.store import Store
from pulsetwin.store.runs import RunKind


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("docs")
    path = root / "s.duckdb"
    scenario = scenario_store(path, n_areas=600)
    (root / "policy.yaml").write_text(POLICY, encoding="utf-8")
    with Store(path) as store:
        run = save_forecast_run(store, scenario, citizen_only=False)
        gate(store, run, policy=load_policy(root / "policy.yaml"))
    return path, run


def test_register_entry_validates_and_has_no_empty_required_field(audited: tuple[Path, str]) -> None:
    with Store(audited[0], read_only=True) as store:
        entry = register_entry(build_context(store, run_id=audited[1]))
    validate_register(entry)
    schema = register_schema()
    for key in schema["required"]:
        assert str(entry[key]).strip(), key
    assert entry["lang"] == "nld" and entry["standard_version"] == "1.0.0"
    assert len(entry["description_short"]) <= 350
    assert "zelflerend" in entry["methods_and_models"]
    assert TO_ANSWER in entry["lawful_basis"]


def test_register_validation_names_the_broken_fields(audited: tuple[Path, str]) -> None:
    with Store(audited[0], read_only=True) as store:
        entry = register_entry(build_context(store, run_id=audited[1]))
    broken = {**entry, "description_short": "x" * 351, "goal": "   "}
    del broken["organization"]
    with pytest.raises(SchemaError) as info:
        validate_register(broken)
    message = str(info.value)
    assert "description_short" in message and "goal" in message and "organization" in message


def test_documents_are_written_filled_and_marked(audited: tuple[Path, str], tmp_path: Path) -> None:
    org = tmp_path / "org.yaml"
    org.write_text(
        "organization: Gemeente Voorbeeld\ncontact_email: privacy@voorbeeld.nl\n", encoding="utf-8"
    )
    with Store(audited[0], read_only=True) as store:
        paths = write_documents(
            store, tmp_path / "out", run_id=audited[1], organisation=read_organisation(org)
        )
    names = {p.name for p in paths}
    assert {"model_card.md", "model_card.html", "annex_iv.md", "iama.md", "algoritmeregister.json"} <= names
    entry = json.loads((tmp_path / "out" / "algoritmeregister.json").read_text(encoding="utf-8"))
    assert entry["organization"] == "Gemeente Voorbeeld" and entry["contact_email"] == "privacy@voorbeeld.nl"
    annex = (tmp_path / "out" / "annex_iv.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (\d)\. ", annex, flags=re.MULTILINE)
    assert headings == [str(i) for i in range(1, 10)]
    iama = (tmp_path / "out" / "iama.md").read_text(encoding="utf-8")
    assert iama.count(TO_ANSWER) >= 15
    for part in ("Deel 1", "Deel 2", "Deel 3", "Deel 4"):
        assert part in iama
    card = (tmp_path / "out" / "model_card.md").read_text(encoding="utf-8")
    assert "**BLOCKED**" in card and f"(2022, {DEFINITION_OWN})" in card
    for text in (annex, iama, card):
        assert not re.search(r"\b(None|nan|NaN)\b", text)


def test_docs_refuse_an_unaudited_run(audited: tuple[Path, str], tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "c.duckdb"
    shutil.copy(audited[0], copy)
    with Store(copy) as store:
        store.save_run(RunKind.FORECAST, model="naive_hist", run_id="unaudited", freq="M", horizon=1)
        with pytest.raises(StoreError, match="has not been audited"):
            build_context(store, run_id="unaudited")


def test_insufficient_data_renders_as_words_not_inf_or_nan(tmp_path: Path) -> None:
    path = tmp_path / "tiny.duckdb"
    scenario = scenario_store(path, n_areas=12)
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    with Store(path) as store:
        run = save_forecast_run(store, scenario, citizen_only=False)
        report, _ = gate(store, run, policy=load_policy(tmp_path / "policy.yaml"))
        assert report.status == "insufficient"
        write_documents(store, tmp_path / "out", run_id=run)
        entry = register_entry(build_context(store, run_id=run))
    card = (tmp_path / "out" / "model_card.md").read_text(encoding="utf-8")
    html = (tmp_path / "out" / "model_card.html").read_text(encoding="utf-8")
    annex = (tmp_path / "out" / "annex_iv.md").read_text(encoding="utf-8")
    iama = (tmp_path / "out" / "iama.md").read_text(encoding="utf-8")
    assert (
        "**CANNOT BE ASSESSED**" in card
        and "CANNOT BE ASSESSED" in html
        and "passed" not in card.split("\n")[2]
    )
    assert "CANNOT BE ASSESSED" in annex and "NIET TE BEOORDELEN" in iama
    for text in (card, html, annex, iama):
        assert "| insufficient" in text or "insufficient</td>" in text
        assert "holds 3 areas, fewer than the 5" in text
        assert not re.search(r"\b(None|nan|NaN|inf)\b|∞", text)
    assert "te weinig gegevens" in entry["risks"] and "protected_exposure_insufficient" in entry["risks"]
    assert "∞" not in entry["proportionality"] and "niet te bepalen" in entry["proportionality"]


def test_trial_results_reach_the_model_card_and_the_iama(audited: tuple[Path, str], tmp_path: Path) -> None:
    import shutil

    from pulsetwin.audit.documents.trials import ANALYSE, REGISTER

    copy = Path(shutil.copy(audited[0], tmp_path / "t.duckdb"))
    units = [{"area_code": f"BU{i}", "block": f"b{i // 3}", "treated": i % 2 == 0} for i in range(6)]

    def registered(trial: str, version: int, design: str, power: float = 0.83) -> dict[str, object]:
        document = {"run_id": audited[1], "hypothesis": "fewer incidents", "allocation_sha256": "cd" * 32,
                    "spec": {"design": {"type": design}, "alpha": 0.05}, "units": units, "freq": "M",
                    "periods": ["2024-01-01", "2024-06-01"], "primary_outcome": {"category": "violence"},
                    "secondary_outcomes": [], "power": {"power": power, "effect": 0.7, "target": 0.8,
                                                        "mde": None, "underpowered_accepted": power < 0.8}}  # fmt: skip
        return {"version": version, "sha256": "ab" * 32, "document": document}

    with Store(copy) as store:
        store.log.append("analyst", REGISTER, "youth-work", registered("youth-work", 1, "cluster"))
        store.log.append("auditor", ANALYSE, "youth-work", {
            "version": 1, "outcome": "violence",
            "rate_ratio": {"estimate": 0.72, "lower": 0.61, "upper": 0.85, "level": 0.95},
            "p_value": 0.004, "alpha": 0.05, "observed": {"treated": 18.0, "control": 25.0},
            "expected": {"treated": 25.0, "control": 25.0},
            "sentence": "Rate ratio treated vs control 0.72 (95% interval).",
            "displacement": {"reading": "no change", "wdq": 0.1, "p_value": 0.4},
            "deviations": ["violence: 2 buurt-periods of the observed periods have no row; counted as 0"],
        })  # fmt: skip
        store.log.append("analyst", REGISTER, "lights", registered("lights", 1, "stepped_wedge", power=0.41))
        write_documents(store, tmp_path / "out", run_id=audited[1])
    card = (tmp_path / "out" / "model_card.md").read_text(encoding="utf-8")
    assert "## Field trials" in card and "Rate ratio treated vs control 0.72 (95% interval)." in card
    assert "| `lights` | 1 |" in card and "registered, not analysed yet" in card and "stepped wedge" in card
    assert "2 buurt-periods of the observed periods have no row" in card
    # lights was registered below its 80 % target: every document says a null result says little; youth-work not
    assert card.count("below the target 0.80: a null result says little") == 1
    assert "0.41 (0.7), **below the target 0.80" in card
    iama = (tmp_path / "out" / "iama.md").read_text(encoding="utf-8")
    assert "rate ratio 0.72 (95 %-interval 0.61 tot 0.85), randomisatie-p 0.004 (significant" in iama
    assert (
        "WDQ 0.10, p 0.400; 1 afwijking(en)" in iama
        and "`lights` (versie 1, stepped wedge, 6 buurten" in iama
    )
    assert iama.count("onder het doel van 0.80: een uitkomst zonder aangetoond effect zegt weinig") == 1
    html = (tmp_path / "out" / "model_card.html").read_text(encoding="utf-8")
    assert "<td>youth-work</td>" in html and "registered, not analysed yet" in html
    assert html.count("below the target 0.80: a null result says little") == 1
    for text in (card, iama, html):
        assert not re.search(r"\b(None|nan|NaN)\b", text)
    # Without trials the documents say that acting on the forecast is untested.
    with Store(audited[0], read_only=True) as store:
        write_documents(store, tmp_path / "plain", run_id=audited[1])
    assert "No field trial is registered" in (tmp_path / "plain" / "model_card.md").read_text(
        encoding="utf-8"
    )
    assert "geen. Of handelen" in (tmp_path / "plain" / "iama.md").read_text(encoding="utf-8")
