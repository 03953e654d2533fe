"""Registered field trials as the log holds them: the latest pre-registration of each trial and its latest
analysis.

The pre-registration (``trial_register``) and every analysis (``trial_analyse``) are log records, so the API
reads them from the log table, never from files anyone could edit. An analysis counts for a trial only when it
analysed the version registered last.
"""

from __future__ import annotations

import json
from typing import Any

from pulsetwin.api.errors import not_found
from pulsetwin.api.services.backend import Backend

VIEW = "view_trials"


def _records(backend: Backend, trial_id: str | None) -> list[tuple[int, Any, str, str, dict[str, Any]]]:
    """``(seq, at, action, subject, detail)`` of every registration and analysis (of one trial), oldest first."""
    from pulsetwin.trials.analysis import ANALYSE  # here, not at server start: trials loads statsmodels
    from pulsetwin.trials.registration import REGISTER

    where = "action IN (?, ?)" + (" AND subject = ?" if trial_id is not None else "")
    params: list[object] = [REGISTER, ANALYSE, *([trial_id] if trial_id is not None else [])]
    rows = backend.read_sql(
        f'SELECT seq, "at", action, subject, detail_json FROM log WHERE {where} ORDER BY seq', params
    )
    return [(int(s), at, str(a), str(subj), json.loads(d)) for s, at, a, subj, d in rows]


def _trials(backend: Backend, trial_id: str | None) -> dict[str, dict[str, Any]]:
    """Per trial id: the latest registration (``seq``, ``at``, ``detail``) and the latest analysis of it."""
    from pulsetwin.trials.registration import REGISTER

    found: dict[str, dict[str, Any]] = {}
    for seq, at, action, subject, detail in _records(backend, trial_id):
        if action == REGISTER:
            found[subject] = {"seq": seq, "at": at, "detail": detail, "analysis": None}
        elif subject in found and detail.get("version") == found[subject]["detail"]["version"]:
            found[subject]["analysis"] = {"seq": seq, "at": at, "result": detail}
    return found


def _summary(trial_id: str, entry: dict[str, Any]) -> dict[str, Any]:
    """The list row of one trial."""
    detail = entry["detail"]
    doc = detail["document"]
    power = doc["power"]
    spec = doc["spec"]
    units = doc["units"]
    return {
        "trial_id": trial_id,
        "version": int(detail["version"]),
        "registered_at": entry["at"],
        "registration_seq": entry["seq"],
        "design_type": str(spec["design"]["type"]),
        "units": len({u["area_code"] for u in units}),
        "power": float(power["power"]),
        "power_target": float(power["target"]),
        "effect": float(power["effect"]),
        "status": "analysed" if entry["analysis"] is not None else "registered",
    }


def _result(analysis: dict[str, Any]) -> dict[str, Any]:
    """The parts of a logged analysis a reader needs: effect, test, displacement and deviations."""
    result = analysis["result"]
    moved = result["displacement"]
    return {
        "analysed_at": analysis["at"],
        "analysis_seq": analysis["seq"],
        "outcome": str(result["outcome"]),
        "rate_ratio": result["rate_ratio"],
        "p_value": float(result["p_value"]),
        "alpha": float(result["alpha"]),
        "observed": result["observed"],
        "expected": result["expected"],
        "wdq": moved.get("wdq"),
        "displacement_p_value": moved.get("p_value"),
        "displacement_reading": str(moved["reading"]),
        "deviations": [str(d) for d in result["deviations"]],
        "sentence": str(result["sentence"]),
    }


def list_trials(backend: Backend, actor: str) -> list[dict[str, Any]]:
    """Every registered trial (its latest version), in order of first registration; the view is logged."""
    rows = [_summary(trial_id, entry) for trial_id, entry in _trials(backend, None).items()]
    backend.log_writer.write(actor, VIEW, "trials", {"trials": len(rows)})
    return rows


def trial_detail(backend: Backend, trial_id: str, actor: str) -> dict[str, Any]:
    """The pre-registration summary, allocation counts and latest analysis of ``trial_id``; the view is logged.

    404 when no such trial is registered."""
    entry = _trials(backend, trial_id).get(trial_id)
    if entry is None:
        raise not_found("trial", trial_id)
    detail = entry["detail"]
    doc = detail["document"]
    spec = doc["spec"]
    units = doc["units"]
    treated = [u for u in units if u["treated"]]
    out = {
        **_summary(trial_id, entry),
        "registration_sha256": str(detail["sha256"]),
        "allocation_sha256": str(doc["allocation_sha256"]),
        "hypothesis": str(doc["hypothesis"]),
        "intervention": str(spec["intervention"]["description"]),
        "intervention_kind": str(spec["intervention"]["kind"]),
        "run_id": str(doc["run_id"]),
        "freq": str(doc["freq"]),
        "periods": [str(p) for p in doc["periods"]],
        "primary_outcome": str(doc["primary_outcome"]["category"]),
        "secondary_outcomes": [str(s) for s in doc["secondary_outcomes"]],
        "alpha": float(spec["alpha"]),
        "mde": None if doc["power"]["mde"] is None else float(doc["power"]["mde"]),
        "blocks": len({u["block"] for u in units}),
        "allocation": {
            "units": len(units),
            "treated": len(treated),
            "control": len(units) - len(treated),
            "treated_buurten": len({u["area_code"] for u in treated}),
            "control_buurten": len({u["area_code"] for u in units if not u["treated"]}),
        },
        "result": None if entry["analysis"] is None else _result(entry["analysis"]),
    }
    backend.log_writer.write(actor, VIEW, trial_id, {"version": out["version"]})
    return out
