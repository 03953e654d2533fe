"""report.html: Dutch first with English on the switch, both statuses, no 'None', the fairness section."""

from __future__ import annotations

import re
from datetime import datetime

import pandas as pd

from pulsetwin.audit.release import release_status, skill_status
from pulsetwin.reports.html import render_report
from pulsetwin.store.runs import RunRecord

SUMMARY = [
    {"model": "naive_hist", "naive": True, "skill": 0.0, "skill_lo": 0.0, "skill_hi": 0.0, "gap_share": None},
    {
        "model": "naive_last",
        "naive": True,
        "skill": -3.7,
        "skill_lo": -4.0,
        "skill_hi": -3.5,
        "gap_share": None,
    },
    {"model": "glm", "naive": False, "skill": 0.058, "skill_lo": 0.033, "skill_hi": 0.085, "gap_share": None},
]
METRICS = {"baseline": "naive_hist", "level": 0.95, "backtest": {"summary": SUMMARY, "folds": []},
           "skill": {"skill": 0.058, "skill_lo": 0.033, "skill_hi": 0.085}}  # fmt: skip


def test_dutch_first_english_on_the_switch_and_no_none() -> None:
    run = RunRecord("forecast-1", datetime(2026, 1, 1), "forecast", "glm", {}, None, None, METRICS, "blocked",
                    None, "W", 4)  # fmt: skip
    finding = {"code": "no_skill", "message": "m", "blocking": True, "detail": {}}
    payload = {"status": "blocked", "findings": [finding], "disparity": []}
    audit = RunRecord("audit-1", datetime(2026, 1, 2), "audit", None, {"forecast_run": "forecast-1"}, None, None,
                      payload, "blocked", None, None, None)  # fmt: skip
    page = render_report(
        run_id="forecast-1", model="glm", status="blocked", metrics=METRICS,
        forecasts=pd.DataFrame(columns=["area_code", "period_start", "mean"]), areas=pd.DataFrame(),
        origin=None, freq="W", data_hash="0" * 64, code_version="test",
        skill=skill_status(run), release=release_status(run, audit),
        audit=audit.metrics,
    )  # fmt: skip
    assert page.startswith('<!DOCTYPE html>\n<html lang="nl">')
    nl, en = page.index("<div lang='nl' class='lang'>"), page.index("<div lang='en' class='lang' hidden>")
    assert nl < en
    assert "Het model Poisson-regressie doet het beter dan de beste naïeve vuistregel" in page[nl:en]
    assert "Niet vrijgegeven: het audit blokkeert deze run." in page[nl:en]
    assert "The model Poisson regression beats the best naive rule" in page[en:]
    assert "Wat de maten betekenen" in page and "What the measures mean" in page
    tables = re.findall(r"<table.*?</table>", page, flags=re.S)
    assert tables and not any("None" in t for t in tables)  # gap_share without an oracle reads "–"
    # the skill axis is set by the real models: the naive rule far below is named, not plotted
    assert "buiten de schaal: het aantal van de vorige periode -3.70" in page
    assert "off the scale: last period's count -3.70" in page
    # the tables name models and measures in words; the code is only the model cell's tooltip
    visible = [re.sub(r"<[^>]+>", " ", t) for t in tables]
    assert not [c for t in visible for c in re.findall(r"\b[a-z0-9]+_[a-z0-9_]+\b", t)], visible
    assert "Poisson-regressie" in visible[0] and "vaardigheid, ondergrens" in visible[0]
    assert "<span title='glm'>Poisson-regressie</span>" in tables[0]
