"""report.html's field-trial section, from the trials as :func:`trial_results` reads them from the log."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pandas as pd

from pulsetwin.audit.documents.trials import ANALYSE, REGISTER, trial_results
from pulsetwin.reports.html import render_report
from pulsetwin.reports.trials import trials_section
from pulsetwin.store.database import Store

HOSTILE = "<script>alert('x')</script> & co"
SUMMARY = [{"model": "naive_hist", "naive": True, "skill": 0.0, "skill_lo": 0.0, "skill_hi": 0.0}]


def visible(section: str) -> str:
    """The text a reader sees: tags and plotly's script dropped, entities read, spaces folded."""
    section = re.sub(r"<script.*?</script>", " ", section, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", section)).split())


def registration(
    version: int = 1,
    *,
    intervention: str | None = "street lights",
    design: str = "cluster",
    power: float = 0.83,
    target: float = 0.8,
) -> dict[str, Any]:
    """A ``trial_register`` log detail with the fields :func:`trial_results` reads; a ``power`` below
    ``target`` is recorded as accepted, as ``register(allow_underpowered=True)`` records it."""
    spec: dict[str, Any] = {"design": {"type": design}, "alpha": 0.05}
    if intervention is not None:
        spec["intervention"] = {"description": intervention, "kind": "benefit"}
    units = [{"area_code": f"BU{i:08d}", "block": f"b{i // 4}", "treated": i % 2 == 0} for i in range(8)]
    document = {"run_id": "fc", "hypothesis": "fewer incidents", "spec": spec, "units": units,
                "allocation_sha256": "cd" * 32, "freq": "M", "periods": ["2024-01-01", "2024-06-01"],
                "primary_outcome": {"category": "violence"}, "secondary_outcomes": [],
                "power": {"power": power, "effect": 0.7, "target": target, "mde": None,
                          "underpowered_accepted": power < target}}  # fmt: skip
    return {"version": version, "sha256": "ab" * 32, "document": document, "files": "prereg"}


def analysis(deviations: list[str], displacement: dict[str, Any], version: int = 1) -> dict[str, Any]:
    """A ``trial_analyse`` log detail (rate ratio 0.72, interval 0.61 to 0.85, p 0.004)."""
    return {"version": version, "outcome": "violence",
            "rate_ratio": {"estimate": 0.72, "lower": 0.61, "upper": 0.85, "level": 0.95},
            "p_value": 0.004, "alpha": 0.05, "observed": {"treated": 18.0, "control": 25.0},
            "expected": {"treated": 25.0, "control": 25.0},
            "sentence": "Rate ratio treated vs control 0.72 (logged).",
            "displacement": displacement, "deviations": deviations}  # fmt: skip


def logged(tmp_path: Path, *records: tuple[str, str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The trials of a fresh store whose log holds ``records`` (action, subject, detail)."""
    with Store(tmp_path / "t.duckdb") as store:
        for action, subject, detail in records:
            store.log.append("analyst", action, subject, detail)
        return trial_results(store)


def test_no_trial_says_none_is_registered_and_how_to_start_one() -> None:
    nl, en = visible(trials_section([], "nl")), visible(trials_section([], "en"))
    assert nl.startswith("Veldproeven Er is nog geen veldproef geregistreerd")
    assert en.startswith("Field trials No field trial has been registered")
    assert "pulsetwin trial design --run RUN --spec trial.yaml" in nl and "pulsetwin trial design" in en


def test_the_page_carries_the_section_in_both_languages_only_when_trials_were_read() -> None:
    metrics = {"baseline": "naive_hist", "backtest": {"summary": SUMMARY, "folds": []}}
    common: dict[str, Any] = {
        "run_id": "r", "model": "naive_hist", "status": "no_skill", "metrics": metrics,
        "forecasts": pd.DataFrame(columns=["area_code", "period_start", "mean"]), "areas": pd.DataFrame(),
        "origin": None, "freq": "W", "data_hash": "0" * 64, "code_version": "test",
    }  # fmt: skip
    page = render_report(**common, trials=[])
    nl, en = page.index("<div lang='nl'"), page.index("<div lang='en'")
    assert "id='trials-nl'" in page[nl:en] and "Er is nog geen veldproef geregistreerd" in page[nl:en]
    assert "id='trials-en'" in page[en:] and "No field trial has been registered" in page[en:]
    assert "id='trials-" not in render_report(**common)  # not read: not claimed either way


def test_registered_not_analysed_says_so_plainly(tmp_path: Path) -> None:
    trials = logged(tmp_path, (REGISTER, "lights", registration(design="stepped_wedge")))
    nl, en = trials_section(trials, "nl"), trials_section(trials, "en")
    assert (
        "Geregistreerd, nog niet geanalyseerd" in visible(nl)
        and "pulsetwin trial analyse --trial lights" in nl
    )
    assert (
        "Registered, not analysed yet" in visible(en) and "Rate ratio per" not in en
    )  # no plot without a result
    assert "getrapte invoering" in visible(nl) and "stepped wedge" in visible(en)
    assert "Logregel 1, SHA-256 " + "ab" * 32 in visible(nl) and "Log record 1, SHA-256" in visible(en)
    assert "8 buurten" in visible(nl) and "83 % kans" in visible(nl) and "rate ratio 0,70" in visible(nl)


def test_an_analysis_of_an_older_version_is_not_shown_as_the_result(tmp_path: Path) -> None:
    trials = logged(
        tmp_path,
        (REGISTER, "lights", registration(1)),
        (ANALYSE, "lights", analysis([], {"reading": "no change", "wdq": 0.0, "p_value": 0.5})),
        (REGISTER, "lights", registration(2)),
    )
    assert "nog niet geanalyseerd" in visible(trials_section(trials, "nl"))


def test_every_deviation_is_listed_and_all_text_is_escaped(tmp_path: Path) -> None:
    deviations = ["violence: 2 buurt-periods have no row; counted as 0", f"edited {HOSTILE}"]
    moved = {"reading": "diffusion of benefits to adjacent buurten (WDQ 0.40)", "wdq": 0.4, "p_value": 0.2}
    trials = logged(
        tmp_path,
        (REGISTER, HOSTILE, registration(intervention=HOSTILE)),
        (ANALYSE, HOSTILE, analysis(deviations, moved)),
    )
    for lang in ("nl", "en"):
        section = trials_section(trials, lang)
        assert "<script>alert" not in section and html.escape(HOSTILE) in section
        text = visible(section)
        assert all(d in text for d in deviations) and section.count("<li>") == 2
        assert text.count(HOSTILE) == 3  # the trial id, the intervention, the deviation
    nl, en = visible(trials_section(trials, "nl")), visible(trials_section(trials, "en"))
    assert "Rate ratio 0,72 (95%-interval 0,61 tot 0,85)" in nl and "28 % lager" in nl and "p = 0,004" in nl
    assert "Afwijkingen van de preregistratie: 2" in nl
    assert "het effect straalde uit naar de buren (WDQ 0,40)" in nl
    assert "Rate ratio 0.72 (95 % interval 0.61 to 0.85)" in en and "28 % lower" in en
    assert "Deviations from the pre-registration: 2" in en and moved["reading"] in en
    assert "Rate ratio treated vs control 0.72 (logged)." in nl and "Rate ratio treated vs control 0.72" in en


def test_displacement_not_assessed_gives_the_logged_reason(tmp_path: Path) -> None:
    reason = "not assessed: the stored buurten have no geometry, so their neighbours are unknown"
    trials = logged(
        tmp_path,
        (REGISTER, "t", registration(intervention=None)),
        (ANALYSE, "t", analysis([], {"reading": reason, "p_value": None})),
    )
    nl, en = visible(trials_section(trials, "nl")), visible(trials_section(trials, "en"))
    assert f"niet beoordeeld (reden zoals gelogd, in het Engels: {reason})" in nl and f"{reason}." in en
    assert (
        "Afwijkingen van de preregistratie: geen" in nl and "Deviations from the pre-registration: none" in en
    )
    assert "Interventie:" not in nl and "Intervention:" not in en  # none registered: none claimed


def test_a_trial_registered_below_its_target_power_says_a_null_result_says_little(tmp_path: Path) -> None:
    trial, at = logged(
        tmp_path,
        (REGISTER, "lights", registration(power=0.41, target=0.9)),
        (REGISTER, "cameras", registration(power=0.83, target=0.8)),
    )
    assert trial["target_power"] == 0.9 and trial["below_target"] is True
    nl, en = visible(trials_section([trial], "nl")), visible(trials_section([trial], "en"))
    assert "het doel was 90 %" in nl and "the target was 90 %" in en
    assert (
        "Geregistreerd met 41 % onderscheidend vermogen, onder het doel van 90 %: een uitkomst zonder " in nl
    )
    assert "aangetoond effect zegt weinig" in nl and "--allow-underpowered" in nl
    assert "Registered with 41 % power, below the 90 % target: a null result says little" in en
    assert "--allow-underpowered" in en
    assert at["target_power"] == 0.8 and at["below_target"] is False
    for lang in ("nl", "en"):
        text = visible(trials_section([at], lang))
        assert "83 %" in text and "80 %" in text  # the target is stated either way ...
        assert "Onder het doel" not in text and "Below target" not in text  # ... the warning only below it
        assert "allow-underpowered" not in text
