"""Pre-registration: the design written as JSON and Markdown, its SHA-256 logged before the trial starts.

The log record ``trial_register`` carries the whole JSON document and its hash, so the analysis reads the
pre-registration from the tamper-evident log, not from a file anyone could edit. A second registration of the
same trial id with another allocation is refused (and the refusal logged) unless it is declared as a new,
reasoned version.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from pulsetwin.audit.documents.trials import REGISTER
from pulsetwin.exceptions import ConflictError, ParameterError, StoreError
from pulsetwin.store.database import Store
from pulsetwin.store.log import LogRecord, canonical_detail
from pulsetwin.store.logpage import read_log_records
from pulsetwin.trials.design import TrialDesign
from pulsetwin.trials.power import RANGE_LEVEL, Dispersion

REFUSED = "trial_refused"
ANALYSIS_PLAN = (
    "Primary: two-sided randomisation-inference test of the sharp null of no effect, statistic = log ratio of "
    "observed-to-forecast totals, treated vs control, allocations re-drawn by the registered blocked procedure. "
    "Estimate: rate ratio with a Wald interval from a negative-binomial GLM (dispersion fixed at the registered "
    "value) with log forecast total as offset and one intercept per block. Secondary outcomes: the same "
    "estimators (primary dispersion), exploratory, without multiplicity correction. Displacement: Weighted "
    "Displacement Quotient of the buurten adjacent to treated buurten, their trend taken from the buurten "
    "adjacent to control buurten, and a randomisation test of that buffer contrast. Burden: treated share per "
    "quartile group of each audit-only protected attribute."
)
WEDGE_PLAN = (
    "Stepped wedge: the same tests over buurt-periods, the allocation re-drawn by the registered wedge "
    "procedure (sequences balanced over forecast rank); the randomisation statistic is the weighted mean over "
    "periods of the within-period log ratio (vertical analysis) and the rate-ratio GLM has one intercept per "
    "buurt and per period. Displacement is not assessed (every buurt is treated from its step on)."
)
STOPPING_RULE = "No interim analysis; the trial runs all registered periods and is analysed once."


@dataclass(frozen=True)
class Registration:
    """A registered version of a trial: its document, hash and log sequence number, where its files were
    written, and the reason given when it replaced an earlier version (None for the first)."""

    trial_id: str
    version: int
    document: dict[str, Any]
    sha256: str
    seq: int
    files: str
    replaces_reason: str | None

    @classmethod
    def from_record(cls, record: LogRecord) -> Registration:
        """The registration a ``trial_register`` log record holds."""
        detail = record.detail
        replaces = detail.get("replaces")
        return cls(record.subject, int(detail["version"]), detail["document"], str(detail["sha256"]),
                   record.seq, str(detail["files"]), None if replaces is None else str(replaces["reason"]))  # fmt: skip


def underpowered(design: TrialDesign) -> bool:
    """Whether the simulated power falls below the spec's target (80 % unless set otherwise)."""
    return design.power.power < design.power.target


def document(design: TrialDesign, *, allow_underpowered: bool = False) -> dict[str, Any]:
    """The pre-registration as a JSON-ready mapping."""
    spec = design.spec
    units = design.units
    return {
        "trial_id": design.trial_id,
        "hypothesis": spec.hypothesis,
        "spec": spec.to_dict(),
        "run_id": design.run.run_id,
        "freq": design.run.freq,
        "periods": [p.date().isoformat() for p in design.periods],
        "units": [
            {
                "area_code": str(r["area_code"]),
                "wijk": str(r["wijk"]),
                "block": str(r["block"]),
                "expected": round(float(r["expected"]), 6),
                "treated": bool(r["treated"]),
                **(
                    {"period_start": pd.Timestamp(r["period_start"]).date().isoformat()}
                    if "period_start" in r
                    else {}
                ),
            }
            for r in units.to_dict("records")
        ],
        "allocation_sha256": design.allocation_hash,
        "power": {
            "effect": design.power.effect,
            "power": design.power.power,
            "target": design.power.target,
            "mde": design.power.mde,
            "simulations": design.power.simulations,
            "nb_size": design.power.size,
            "between_size": design.power.between,
            "displacement": design.power.displacement,
            "displacement_power": design.power.displacement_power,
            "power_range": None if design.power.power_range is None else list(design.power.power_range),
            "power_range_level": RANGE_LEVEL,
            "underpowered_accepted": allow_underpowered and underpowered(design),
            "nb_size_source": (
                "maximum likelihood on single past periods around each buurt's own mean (crossover and stepped "
                "wedge: pulsetwin.trials.power.measure_within_size)"
                if design.spec.design.type != "cluster"
                else "the between-buurt size and the within-buurt size summed over the trial's periods "
                "(pulsetwin.trials.power.measure_dispersion)"
            ),
            **_dispersion_source(design.dispersion),
            "simulation_model": (
                "Poisson(forecast x effect x u x v): u a persistent Gamma factor per buurt (between_size), v a "
                "Gamma factor per unit (nb_size), both measured out of sample (dispersion_source)"
            ),
        },
        "primary_outcome": {"category": spec.outcome.category, "periods": spec.outcome.periods},
        "secondary_outcomes": list(spec.outcome.secondary),
        "analysis": ANALYSIS_PLAN + (" " + WEDGE_PLAN if spec.design.type == "stepped_wedge" else ""),
        "stopping_rule": STOPPING_RULE,
        "outcome_rows_at_registration": design.outcome_rows_at_design,
    }


def _dispersion_source(dispersion: Dispersion | None) -> dict[str, str]:
    """What the simulated sizes were measured on (nothing for a design that does not carry its dispersion)."""
    if dispersion is None:
        return {}
    return {"dispersion_source": dispersion.source, "dispersion_note": dispersion.note}


def digest(doc: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of ``doc`` (the text written to ``preregistration.json``)."""
    return hashlib.sha256(canonical_detail(doc).encode("utf-8")).hexdigest()


def markdown(doc: dict[str, Any], sha256: str, version: int) -> str:
    """A readable pre-registration (English, for the registry and the ethics board)."""
    spec = doc["spec"]
    treated = [u["area_code"] for u in doc["units"] if u["treated"]]
    control = [u["area_code"] for u in doc["units"] if not u["treated"]]
    power = doc["power"]
    mde = "none on the searched grid" if power["mde"] is None else f"{power['mde']:.2f}"
    return "\n".join([
        f"# Pre-registration of trial {doc['trial_id']} (version {version})",
        "",
        f"SHA-256 of preregistration.json: `{sha256}` (logged in the store's tamper-evident log).",
        "",
        f"**Hypothesis.** {doc['hypothesis']}",
        "",
        f"**Intervention.** {spec['intervention']['description']} ({spec['intervention']['kind']}"
        + (f", ethics reference {reference}" if (reference := spec["intervention"]["ethics_reference"]) else "")
        + ").",
        "",
        f"**Units.** The top {spec['top_share']:.0%} of buurten by forecast of run {doc['run_id']}: "
        f"{len({u['area_code'] for u in doc['units']})} buurten in {len({u['block'] for u in doc['units']})} blocks "
        f"({', '.join(spec['design']['blocks']) or 'none'}).",
        "",
        _allocation_line(doc, treated, control),
        "",
        f"**Primary outcome.** {doc['primary_outcome']['category']} over the {len(doc['periods'])} periods "
        f"{doc['periods'][0]} to {doc['periods'][-1]} ({doc['freq']}). Secondary: "
        f"{', '.join(doc['secondary_outcomes']) or 'none'}.",
        "",
        f"**Power.** {power['power']:.0%} for a rate ratio of {power['effect']} at alpha {spec['alpha']} "
        f"({power['simulations']} simulated trials, NB size {power['nb_size']:.3g}); minimum detectable rate "
        f"ratio at {power['target']:.0%} power: {mde}."
        + (f" The displacement test finds a rise of {power['displacement']:.0%} in adjacent buurten in "
           f"{power['displacement_power']:.0%} of simulated trials." if power.get("displacement_power") is not None
           else "")
        + (f" Over the {power['power_range_level']:.0%} interval of the measured between-buurt spread the power "
           f"ranges from {power['power_range'][0]:.0%} to {power['power_range'][1]:.0%}." if power.get("power_range")
           else "")
        + (f" Dispersion: {power['dispersion_note']}." if power.get("dispersion_note") else ""),
        "",
        f"**Analysis.** {doc['analysis']}",
        "",
        f"**Stopping rule.** {doc['stopping_rule']}",
        "",
    ])  # fmt: skip


def _allocation_line(doc: dict[str, Any], treated: list[str], control: list[str]) -> str:
    """The allocation in words: treated and control units, or each buurt's first treated period (wedge)."""
    spec = doc["spec"]
    head = f"**Allocation** (seed {spec['seed']}, SHA-256 `{doc['allocation_sha256']}`): "
    if spec["design"]["type"] != "stepped_wedge":
        return head + f"treated {', '.join(treated)}; control {', '.join(control)}."
    first: dict[str, str] = {}
    for unit in doc["units"]:
        if unit["treated"]:
            first.setdefault(unit["area_code"], unit["period_start"])
    return (
        head + "treated from " + "; ".join(f"{code} {start}" for code, start in sorted(first.items())) + "."
    )


def registrations(store: Store, trial_id: str) -> list[Registration]:
    """Every registered version of ``trial_id``, oldest first, read from the (verified) log."""
    store.log.verify_or_raise()
    return [Registration.from_record(r) for r in read_log_records(store, (REGISTER,), subject=trial_id)]


def register(
    store: Store,
    design: TrialDesign,
    out: Path,
    *,
    new_version: str | None = None,
    allow_underpowered: bool = False,
    actor: str = "cli",
) -> Registration:
    """Write the pre-registration files into ``out`` and log their hash; refuse a silent re-allocation.

    The same document registered again returns the existing registration. A different document for a trial
    id already registered is refused and the refusal logged, unless ``new_version`` gives the reason for a
    new version (logged with the hash of the version it replaces). A design below its target power is refused
    (and logged) unless ``allow_underpowered``; then the document records that it was accepted.
    """
    if underpowered(design) and not allow_underpowered:
        store.log.append(actor, REFUSED, design.trial_id, {"reason": "underpowered", "power": design.power.power,
                                                            "target": design.power.target})  # fmt: skip
        raise ParameterError(
            f"trial '{design.trial_id}' has {design.power.power:.0%} power for a rate ratio of "
            f"{design.power.effect} (target {design.power.target:.0%}); an underpowered trial is likely to "
            "miss a real effect and invites over-reading. The refusal is logged. Fix: add buurten (raise "
            "eligible.top_share), lengthen outcome.periods, or pass --allow-underpowered to register it anyway"
        )
    doc = document(design, allow_underpowered=allow_underpowered)
    sha = digest(doc)
    previous = registrations(store, design.trial_id)
    if previous and previous[-1].sha256 == sha:
        return previous[-1]
    if previous and new_version is None:
        last = previous[-1]
        changed = last.document["allocation_sha256"] != doc["allocation_sha256"]
        store.log.append(actor, REFUSED, design.trial_id, {
            "registered_sha256": last.sha256, "attempted_sha256": sha, "allocation_changed": changed,
            "registered_allocation": last.document["allocation_sha256"],
            "attempted_allocation": doc["allocation_sha256"],
        })  # fmt: skip
        what = "allocation" if changed else "pre-registration"
        raise ConflictError(
            f"trial '{design.trial_id}' is registered (version {last.version}, log record {last.seq}) with "
            f"another {what}; the attempt was refused and logged. Fix: analyse the registered trial, or register "
            "a new version with --new-version 'reason' (logged next to the old one)"
        )
    if new_version is not None and not new_version.strip():
        raise ConflictError("--new-version needs a reason. Fix: say why the trial is registered again")
    version = previous[-1].version + 1 if previous else 1
    out.mkdir(parents=True, exist_ok=True)
    text = canonical_detail(doc)
    (out / "preregistration.json").write_text(text, encoding="utf-8")
    (out / "preregistration.md").write_text(markdown(doc, sha, version), encoding="utf-8")
    detail = {"version": version, "sha256": sha, "document": doc, "files": str(out)}
    if previous:
        detail["replaces"] = {
            "version": previous[-1].version,
            "sha256": previous[-1].sha256,
            "reason": new_version,
        }
    return Registration.from_record(store.log.append(actor, REGISTER, design.trial_id, detail))


def latest_registration(store: Store, trial_id: str) -> Registration:
    """The newest registered version of ``trial_id``; StoreError when there is none."""
    found = registrations(store, trial_id)
    if not found:
        raise StoreError(
            f"no trial '{trial_id}' is registered in this store's log. Fix: run `pulsetwin trial design` first, "
            "or pass the --db the trial was registered in"
        )
    return found[-1]


def file_matches(registration: Registration, out: Path) -> bool | None:
    """Whether ``out/preregistration.json`` still hashes to the logged SHA-256 (None when the file is gone)."""
    path = out / "preregistration.json"
    if not path.is_file():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest() == registration.sha256
