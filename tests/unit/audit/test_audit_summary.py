"""The audit in words and the two statuses: known answers from a real disparity result."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pulsetwin.audit.disparity import audit_disparity
from pulsetwin.audit.release import release_status, skill_status
from pulsetwin.audit.summary import group_label, summarise_audit
from pulsetwin.store.runs import RunRecord


def _outcomes(flag_low: bool) -> tuple[pd.DataFrame, pd.Series]:
    """40 areas of 1,000 residents; the top quarter by share flagged every other area (and, with
    ``flag_low``, every fifth area of the bottom quarter)."""
    codes = [f"BU{i:08d}" for i in range(40)]
    share = pd.Series(np.linspace(0.0, 0.6, 40), index=codes)
    i = np.arange(40)
    flagged = ((i >= 30) & (i % 2 == 0)) | (flag_low & (i < 10) & (i % 5 == 0))
    frame = pd.DataFrame({"area_code": codes, "forecast": 1.0, "observed": 1.0, "residents": 1000.0,
                          "flagged": flagged, "positive": flagged})  # fmt: skip
    return frame, share


def _payload(flag_low: bool) -> dict[str, Any]:
    frame, share = _outcomes(flag_low)
    result = audit_disparity(frame, share, grouping="protected", attribute="migration_background_share")
    finding = {"code": "protected_exposure_out_of_band", "message": "m", "blocking": True,
               "detail": {"attribute": "migration_background_share"}}  # fmt: skip
    return {"status": "blocked", "findings": [finding], "disparity": [result.to_dict()], "proxies": [],
            "policy": {}}  # fmt: skip


def test_exposure_finding_in_words_with_the_ratio() -> None:
    words = summarise_audit(_payload(flag_low=True), "nl")
    # bottom quarter: 2 of 10 areas flagged (exposure 0.2); top quarter: 5 of 10 (0.5): ratio 2.5
    assert words["headline"] == (
        "Inwoners van buurten in het hoogste kwart naar aandeel inwoners met een migratieachtergrond wonen 2,5 "
        "keer zo vaak in een gemarkeerde buurt als inwoners van buurten in het laagste kwart (toegestane band "
        "0,80–1,25)."
    )
    top = words["exposure"][0]["groups"][-1]
    assert top["ratio"] == pytest.approx(2.5) and top["out_of_band"] and not top["corrected"]
    assert top["difference"] == pytest.approx(0.3)
    english = summarise_audit(_payload(flag_low=True), "en")["headline"]
    assert english.startswith("Residents of buurten in the highest quarter") and "2.5 times" in english


def test_a_zero_reference_is_the_worst_case_not_a_gap() -> None:
    words = summarise_audit(_payload(flag_low=False), "en")
    top = words["exposure"][0]["groups"][-1]
    # corrected: (0.5 * 10 + 0.5) / 11 over (0 + 0.5) / 11 = 11
    assert (
        top["corrected"] and top["ratio"] == pytest.approx(11.0) and top["difference"] == pytest.approx(0.5)
    )
    assert "small-count correction" in words["headline"] and "11.0 times" in words["headline"]


def test_group_labels_name_the_quarter() -> None:
    assert group_label("Q4 [0.169, 0.676]", 4, "nl") == "hoogste kwart (0,169–0,676)"
    assert group_label("Q2 [1, 2]", 4, "en", span=False) == "second quarter"
    assert group_label("Q2 [1, 2]", 7, "en") == "Q2/7 (1–2)"


def _run(status: str, skill: dict[str, float] | None, model: str = "glm") -> RunRecord:
    metrics = {"baseline": "naive_hist", "level": 0.95, **({"skill": skill} if skill else {})}
    return RunRecord("forecast-1", datetime(2026, 1, 1), "forecast", model, {}, None, None, metrics, status,
                     None, "W", 4)  # fmt: skip


def test_skill_status_is_separate_from_the_block() -> None:
    blocked = _run("blocked", {"skill": 0.058, "skill_lo": 0.033, "skill_hi": 0.085})
    skill = skill_status(blocked)
    assert skill.state == "beats" and "[0,033, 0,085], geheel boven 0" in skill.sentence("nl")
    assert (
        skill_status(_run("no_skill", {"skill": 0.0, "skill_lo": -0.01, "skill_hi": 0.01})).state
        == "does_not"
    )
    assert skill_status(_run("ok", None)).state == "cannot_assess"
    naive = skill_status(
        _run("no_skill", {"skill": 0.0, "skill_lo": 0.0, "skill_hi": 0.0}, model="naive_hist")
    )
    assert naive.sentence("en").startswith("No model beats the best naive rule")


def test_release_status_names_the_blocking_finding() -> None:
    audit = RunRecord("audit-1", datetime(2026, 1, 2), "audit", None, {"forecast_run": "forecast-1"}, None, None,
                      _payload(flag_low=True), "blocked", None, None, None)  # fmt: skip
    release = release_status(_run("blocked", None), audit)
    assert release.state == "blocked" and release.audit_run == "audit-1"
    assert release.finding_code == "protected_exposure_out_of_band"
    assert "2,5 keer zo vaak" in release.sentence("nl") and "2.5 times" in release.sentence("en")
    assert release_status(_run("ok", None), None).state == "not_audited"
    passed = RunRecord("audit-2", datetime(2026, 1, 2), "audit", None, {"forecast_run": "forecast-1"}, None, None,
                       {"status": "passed", "findings": []}, "passed", None, None, None)  # fmt: skip
    assert release_status(_run("ok", None), passed).state == "released"
