"""The measured values every document is filled from: the forecast run, its latest audit, the data, the log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import yaml

from pulsetwin.audit.documents.trials import trial_results
from pulsetwin.audit.gate import latest_run
from pulsetwin.exceptions import Location, SchemaError, StoreError
from pulsetwin.schema.categories import BY_SLUG, origin_of
from pulsetwin.schema.params import refuse_unknown_keys
from pulsetwin.store.privacy_budget import read_budgets
from pulsetwin.store.runs import RunKind

if TYPE_CHECKING:
    from pulsetwin.store.database import Store

TO_ANSWER = "**[TE BEANTWOORDEN / TO ANSWER]**"
ORGANISATION_KEYS = (
    "organization", "contact_email", "website", "url", "lawful_basis", "process_index_url", "provider",
    "publiccode", "status", "begin_date", "end_date", "source_id", "tags",
)  # fmt: skip
ORG_FIX = "remove or rename the unknown keys"


def read_organisation(path: str | Path | None) -> dict[str, str]:
    """Organisation facts no measurement can give (name, contact, lawful basis), from a YAML file."""
    if path is None:
        return {}
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(raw, dict):
        raise SchemaError(
            "an organisation file must be a YAML mapping of facts",
            where=Location(file=str(path)),
            fix=ORG_FIX,
        )
    refuse_unknown_keys(raw, set(ORGANISATION_KEYS), file=str(path), fix=ORG_FIX, word="organisation keys")
    return {str(k): str(v) for k, v in raw.items()}


def _audit_for(store: Store, run_id: str) -> dict[str, Any]:
    """The metrics of the latest audit run of forecast run ``run_id``."""
    runs = store.runs()
    audits = runs[runs["kind"] == RunKind.AUDIT]
    matching = [
        (str(r.run_id), json.loads(str(r.metrics_json)))
        for r in audits.itertuples()
        if json.loads(str(r.params_json)).get("forecast_run") == run_id
    ]
    if not matching:
        raise StoreError(
            f"forecast run '{run_id}' has not been audited. Fix: run `pulsetwin audit --run {run_id}` first"
        )
    audit_id, metrics = matching[-1]
    return {"run_id": audit_id, **metrics}


def build_context(
    store: Store, *, run_id: str | None = None, organisation: dict[str, str] | None = None
) -> dict[str, Any]:
    """Everything the templates need, measured from the store (no judgement is made here)."""
    rid = run_id or latest_run(store, "forecast")
    runs = store.runs()
    row = runs[runs["run_id"] == rid]
    if row.empty:
        raise StoreError(f"no run '{rid}' in the store. Fix: list runs with `pulsetwin log show`")
    run = row.iloc[0]
    metrics = json.loads(run["metrics_json"])
    params = json.loads(run["params_json"])
    audit = _audit_for(store, rid)
    summary = pd.DataFrame(metrics.get("backtest", {}).get("summary", []))
    incidents = store.read("incidents", where={"freq": run["freq"]})
    areas = store.read("areas")
    gemeente = areas[areas["level"] == "gemeente"]
    categories = sorted(incidents["category"].unique())
    org = dict(organisation or {})
    name = org.get("organization") or (
        f"Gemeente {gemeente['name'].iloc[0]}"
        if len(gemeente) == 1
        else TO_ANSWER + " naam van de organisatie"
    )
    provenance = store.provenance()
    return {
        "to_answer": TO_ANSWER,
        "organisation": {**org, "organization": name},
        "run": {
            "run_id": rid, "model": run["model"], "status": run["status"], "created_at": str(run["created_at"]),
            "freq": run["freq"], "horizon": int(run["horizon"]), "origin": str(pd.Timestamp(run["origin"]).date()),
            "code_version": run["code_version"] or "not recorded",
            "data_hash": run["data_hash"] or "not recorded", "params": params,
        },
        "skill": {"baseline": metrics.get("baseline"), "level": metrics.get("level"), **(metrics.get("skill") or {})},
        "backtest": {
            "folds": metrics.get("backtest", {}).get("folds", []),
            "summary": summary.to_dict(orient="records"),
        },
        "audit": audit,
        "data": {
            "areas": int((areas["level"] == "buurt").sum()), "area_levels": areas["level"].value_counts().to_dict(),
            "incident_rows": len(incidents),
            "first_period": str(incidents["period_start"].min().date()),
            "last_period": str(incidents["period_start"].max().date()),
            "categories": [
                {"slug": c, "label_nl": BY_SLUG[c].label_nl if c in BY_SLUG else c, "origin": origin_of(c)}
                for c in categories
            ],
            "sources": _data_sources(provenance),
        },
        "privacy_budget": read_budgets(store).to_dict(orient="records"),
        "log": _log_state(store),
        "trials": trial_results(store),
    }  # fmt: skip


def _log_state(store: Store) -> dict[str, Any]:
    """Whether the hash-chained log verifies, and how many records it holds."""
    result = store.log.verify()
    return {"ok": result.ok, "records": result.n_records, "reason": result.reason}


def _data_sources(provenance: pd.DataFrame) -> list[str]:
    """Sources of imported data (forecast runs and public releases left out)."""
    if provenance.empty:
        return []
    sources = provenance["source"].astype(str)
    keep = ~sources.str.startswith("run:") & (sources != "public_release")
    return sorted(sources[keep].unique().tolist())
