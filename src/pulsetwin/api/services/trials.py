"""Registered field trials as the log holds them: the latest pre-registration of each trial and its latest
analysis.

The trials are read by :func:`pulsetwin.audit.documents.trials.trial_results` on this thread's read cursor:
the same reading as the model card, the IAMA draft and the report (from the log table, never from files anyone
could edit; an analysis counts only when it analysed the version registered last). This module shapes it into
the API's responses and logs the view.
"""

from __future__ import annotations

from typing import Any

from pulsetwin.api.errors import not_found
from pulsetwin.api.services.backend import Backend
from pulsetwin.audit.documents.trials import trial_results

VIEW = "view_trials"


def _trials(backend: Backend, trial_id: str | None) -> list[dict[str, Any]]:
    """Every registered trial (or only ``trial_id``) as :func:`trial_results` reads it."""
    return backend.read(lambda cursor: trial_results(cursor, trial_id))


def _summary(trial: dict[str, Any]) -> dict[str, Any]:
    """The list row of one trial."""
    return {
        "trial_id": trial["trial_id"],
        "version": trial["version"],
        "registered_at": trial["registered_at"],
        "registration_seq": trial["registered_seq"],
        "design_type": trial["design"],
        "units": trial["units"],
        "power": trial["stated_power"],
        "power_target": trial["target_power"],
        "effect": trial["effect"],
        "status": "analysed" if trial["analysis"] is not None else "registered",
    }


def _result(analysis: dict[str, Any]) -> dict[str, Any]:
    """The parts of a logged analysis a reader needs: effect, test, displacement and deviations."""
    moved = analysis["displacement"]
    return {
        "analysed_at": analysis["at"],
        "analysis_seq": analysis["seq"],
        "outcome": analysis["outcome"],
        "rate_ratio": analysis["rate_ratio"],
        "p_value": analysis["p_value"],
        "alpha": analysis["alpha"],
        "observed": analysis["observed"],
        "expected": analysis["expected"],
        "wdq": moved["wdq"],
        "displacement_p_value": moved["p_value"],
        "displacement_reading": str(moved["reading"]),
        "deviations": analysis["deviations"],
        "sentence": analysis["sentence"],
    }


def list_trials(backend: Backend, actor: str) -> list[dict[str, Any]]:
    """Every registered trial (its latest version), in order of first registration; the view is logged."""
    rows = [_summary(trial) for trial in _trials(backend, None)]
    backend.log_writer.write(actor, VIEW, "trials", {"trials": len(rows)})
    return rows


def trial_detail(backend: Backend, trial_id: str, actor: str) -> dict[str, Any]:
    """The pre-registration summary, allocation counts and latest analysis of ``trial_id``; the view is logged.

    404 when no such trial is registered."""
    found = _trials(backend, trial_id)
    if not found:
        raise not_found("trial", trial_id)
    (trial,) = found
    out = {
        **_summary(trial),
        "registration_sha256": trial["sha256"],
        "allocation_sha256": trial["allocation_sha256"],
        "hypothesis": trial["hypothesis"],
        "intervention": str(trial["intervention"]),
        "intervention_kind": str(trial["intervention_kind"]),
        "run_id": trial["run_id"],
        "freq": trial["freq"],
        "periods": trial["period_starts"],
        "primary_outcome": trial["outcome"],
        "secondary_outcomes": trial["secondary_outcomes"],
        "alpha": trial["alpha"],
        "mde": trial["mde"],
        "blocks": trial["blocks"],
        "allocation": trial["allocation"],
        "result": None if trial["analysis"] is None else _result(trial["analysis"]),
    }
    backend.log_writer.write(actor, VIEW, trial_id, {"version": out["version"]})
    return out
