"""Field trials as the tamper-evident log holds them: the one reading of the trial records, shared by the model
card, the IAMA draft, the report and the API.

A trial (:mod:`pulsetwin.trials`) logs its pre-registration (``trial_register``) and its analysis
(``trial_analyse``); the readers state, per trial, what was registered and what the pre-registered analysis
found, deviations included. The action names live here, below the trials package, so documents, API and
trials share one spelling.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pulsetwin.store.logpage import read_log_records

if TYPE_CHECKING:
    from pulsetwin.store.access import Source
    from pulsetwin.store.log import LogRecord

REGISTER = "trial_register"
"""Log action of a trial's pre-registration (its detail holds the whole document and its SHA-256)."""
ANALYSE = "trial_analyse"
"""Log action of a trial's pre-registered analysis (its detail holds the whole result)."""


def trial_results(source: Source, trial_id: str | None = None) -> list[dict[str, Any]]:
    """Per trial id (in order of first registration; only ``trial_id`` when given): the latest registration
    and the latest analysis of the version it registered (an analysis of an earlier version does not count).

    ``source`` is a store or a read cursor of one (the API reads on its own cursor). Each entry:
    ``trial_id``, ``version``, ``registered_seq``, ``registered_at``, ``sha256`` (of the pre-registration),
    ``allocation_sha256``, ``run_id``, ``hypothesis``, ``intervention`` and ``intervention_kind`` (None when
    the registration names none), ``design``, ``units`` (buurten), ``blocks``, ``allocation`` (``units``
    randomised, i.e. buurten or buurt-periods, ``treated``, ``control``, ``treated_buurten``,
    ``control_buurten``), ``freq``, ``periods`` (first – last, as text), ``period_starts`` (list),
    ``outcome``, ``secondary_outcomes``, ``alpha``, ``stated_power``, ``effect`` (powered for),
    ``target_power`` (the power the design was held to), ``below_target`` (registered below it, accepted with
    ``--allow-underpowered``), ``mde`` (None when no effect on the searched grid reaches the target) and
    ``analysis``: None when the latest version has not been analysed, else ``seq``, ``at``, ``outcome``,
    ``rate_ratio``, ``p_value``, ``alpha``, ``observed`` and ``expected`` (per arm), ``sentence``,
    ``displacement`` (``reading``, ``wdq``, ``p_value``; None where not assessed) and ``deviations`` (list).
    """
    entries: dict[str, dict[str, Any]] = {}
    for record in read_log_records(source, (REGISTER, ANALYSE), subject=trial_id):
        if record.action == REGISTER:
            entries[record.subject] = _registered(record)
        elif record.subject in entries:
            result = record.detail
            if int(result["version"]) == entries[record.subject]["version"]:
                entries[record.subject]["analysis"] = _analysed(record, result)
    return list(entries.values())


def _registered(record: LogRecord) -> dict[str, Any]:
    """The entry of one registration record, not analysed yet."""
    detail = record.detail
    doc = detail["document"]
    spec = doc["spec"]
    power = doc["power"]
    intervention = spec.get("intervention") or {}
    units = doc["units"]
    treated = [u for u in units if u["treated"]]
    return {
        "trial_id": record.subject, "version": int(detail["version"]), "registered_seq": record.seq,
        "registered_at": record.at, "sha256": str(detail["sha256"]),
        "allocation_sha256": str(doc["allocation_sha256"]), "run_id": str(doc["run_id"]),
        "hypothesis": str(doc["hypothesis"]), "intervention": intervention.get("description"),
        "intervention_kind": intervention.get("kind"), "design": str(spec["design"]["type"]),
        "units": len({u["area_code"] for u in units}), "blocks": len({u["block"] for u in units}),
        "allocation": {
            "units": len(units), "treated": len(treated), "control": len(units) - len(treated),
            "treated_buurten": len({u["area_code"] for u in treated}),
            "control_buurten": len({u["area_code"] for u in units if not u["treated"]}),
        },
        "freq": str(doc["freq"]), "periods": f"{doc['periods'][0]} – {doc['periods'][-1]}",
        "period_starts": [str(p) for p in doc["periods"]], "outcome": str(doc["primary_outcome"]["category"]),
        "secondary_outcomes": [str(s) for s in doc["secondary_outcomes"]], "alpha": float(spec["alpha"]),
        "stated_power": float(power["power"]), "effect": float(power["effect"]),
        "target_power": float(power["target"]), "below_target": bool(power["underpowered_accepted"]),
        "mde": None if power["mde"] is None else float(power["mde"]), "analysis": None,
    }  # fmt: skip


def _analysed(record: LogRecord, result: dict[str, Any]) -> dict[str, Any]:
    """The ``analysis`` of an entry: the parts of a logged result (``record``'s detail) its readers state."""
    return {
        "seq": record.seq, "at": record.at, "outcome": str(result["outcome"]), "rate_ratio": result["rate_ratio"],
        "p_value": float(result["p_value"]), "alpha": float(result["alpha"]), "observed": result["observed"],
        "expected": result["expected"], "sentence": str(result["sentence"]),
        "displacement": {k: result["displacement"].get(k) for k in ("reading", "wdq", "p_value")},
        "deviations": [str(d) for d in result["deviations"]],
    }  # fmt: skip
