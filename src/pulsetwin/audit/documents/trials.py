"""Field-trial results for the model card and the IAMA draft, read from the tamper-evident log.

A trial (:mod:`pulsetwin.trials`) logs its pre-registration (``trial_register``) and its analysis
(``trial_analyse``); the documents state, per trial, what was registered and what the pre-registered analysis
found, deviations included. The action names live here, below the trials package, so documents and trials
share one spelling.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pulsetwin.store.database import Store

REGISTER = "trial_register"
"""Log action of a trial's pre-registration (its detail holds the whole document and its SHA-256)."""
ANALYSE = "trial_analyse"
"""Log action of a trial's pre-registered analysis (its detail holds the whole result)."""


def trial_results(store: Store) -> list[dict[str, Any]]:
    """Per trial id (in order of first registration): the latest registration and its latest analysis.

    Each entry: ``trial_id``, ``version``, ``run_id``, ``intervention`` and ``intervention_kind`` (None when the
    registration names none), ``design``, ``units`` (buurten), ``periods``, ``outcome``, ``stated_power``,
    ``effect`` (powered for), ``registered_seq``, ``sha256`` and ``analysis``:
    None when the latest version has not been analysed, else ``rate_ratio``, ``p_value``, ``alpha``,
    ``sentence``, ``displacement`` (``reading``, ``wdq``, ``p_value``; None where not assessed), ``deviations``
    (list) and ``seq``.
    """
    entries: dict[str, dict[str, Any]] = {}
    for record in store.log.records():
        if record.action == REGISTER:
            doc = record.detail["document"]
            intervention = doc["spec"].get("intervention") or {}
            entries[record.subject] = {
                "trial_id": record.subject, "version": int(record.detail["version"]), "run_id": doc["run_id"],
                "intervention": intervention.get("description"), "intervention_kind": intervention.get("kind"),
                "design": doc["spec"]["design"]["type"], "units": len({u["area_code"] for u in doc["units"]}),
                "periods": f"{doc['periods'][0]} – {doc['periods'][-1]}", "outcome": doc["primary_outcome"]["category"],
                "stated_power": float(doc["power"]["power"]), "effect": float(doc["power"]["effect"]),
                "registered_seq": record.seq, "sha256": record.detail["sha256"], "analysis": None,
            }  # fmt: skip
        elif record.action == ANALYSE and record.subject in entries:
            entry = entries[record.subject]
            result = record.detail
            if int(result["version"]) == entry["version"]:
                entry["analysis"] = {
                    "rate_ratio": result["rate_ratio"], "p_value": float(result["p_value"]),
                    "alpha": float(result["alpha"]), "sentence": result["sentence"],
                    "displacement": {k: result["displacement"].get(k) for k in ("reading", "wdq", "p_value")},
                    "deviations": list(result["deviations"]),
                    "seq": record.seq,
                }  # fmt: skip
    return list(entries.values())
