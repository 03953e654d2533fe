"""Audit findings: their codes, how they follow from the audit's measurements and the policy, and the report.

A finding is blocking when the policy lists its code; a check the policy blocks on that could not be evaluated
follows the policy key ``insufficient``. The report's verdict (:attr:`AuditReport.status`) and the exit codes
of ``pulsetwin audit`` (:data:`EXIT_CODES`) follow from the findings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from pulsetwin.audit.disparity import METRICS, DisparityResult
from pulsetwin.audit.proxies import ProxyResult
from pulsetwin.store.runs import RunStatus

if TYPE_CHECKING:
    from pulsetwin.audit.policy import Policy
    from pulsetwin.store.runs import RunRecord

BLOCKED = RunStatus.BLOCKED
PASSED = RunStatus.PASSED
INSUFFICIENT = RunStatus.INSUFFICIENT
EXIT_CODES = {PASSED: 0, BLOCKED: 1, INSUFFICIENT: 3}
"""Exit code of ``pulsetwin audit`` per verdict (2 is the command line's code for bad input)."""
FINDING_CODES = (
    "no_skill",
    *(f"{g}_{m}_out_of_band" for g in ("protected", "income") for m in METRICS),
    "proxy_r2_warn",
    "proxy_r2_block",
    "measurement_bias",
    "mitigation_fails_band",
)
_DEPENDS_ON = {"protected": ("protected_", "proxy_", "measurement_", "mitigation_"), "income": ("income_",)}
"""Prefixes of the finding codes each grouping's data is needed for. A grouping the store cannot supply (no
protected table, no income variable) gets the finding ``<grouping>_unavailable``, governed by ``insufficient``
like the ``<grouping>_<metric>_insufficient`` findings when the policy blocks on any of these checks."""


@dataclass(frozen=True)
class Finding:
    """One audit finding; ``blocking`` when the policy lists its code; ``cannot_assess`` when it is a check the
    policy blocks on that could not be evaluated (policy ``insufficient: cannot_assess``)."""

    code: str
    message: str
    blocking: bool
    detail: dict[str, Any] = field(default_factory=dict)
    cannot_assess: bool = False


@dataclass(frozen=True)
class AuditReport:
    """Everything one audit measured, the findings, and whether the run is blocked."""

    run_id: str
    model: str | None
    freq: str
    rule: dict[str, Any]
    realised: dict[str, Any]
    skill: dict[str, Any]
    disparity: list[DisparityResult]
    proxies: list[ProxyResult]
    measurement: dict[str, Any] | None
    mitigation: dict[str, DisparityResult] | None
    findings: list[Finding]
    policy: Policy

    @property
    def blocked(self) -> bool:
        """True when any finding blocks."""
        return any(f.blocking for f in self.findings)

    @property
    def status(self) -> RunStatus:
        """The verdict: ``blocked``, else ``insufficient`` (a blocking check cannot be assessed), else ``passed``."""
        if self.blocked:
            return BLOCKED
        return INSUFFICIENT if any(f.cannot_assess for f in self.findings) else PASSED

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (stored as the audit run's metrics)."""
        return {
            "forecast_run": self.run_id, "model": self.model, "freq": self.freq, "rule": self.rule,
            "realised": self.realised, "skill": self.skill,
            "disparity": [d.to_dict() for d in self.disparity],
            "proxies": [p.to_dict() for p in self.proxies],
            "measurement": self.measurement,
            "mitigation": None if self.mitigation is None else {k: v.to_dict() for k, v in self.mitigation.items()},
            "findings": [
                {"code": f.code, "message": f.message, "blocking": f.blocking, "detail": f.detail,
                 "cannot_assess": f.cannot_assess}
                for f in self.findings
            ],
            "blocked": self.blocked, "status": self.status, "policy": self.policy.to_dict(),
        }  # fmt: skip


def derive_findings(
    run: RunRecord, disparity: list[DisparityResult], proxies: list[ProxyResult],
    measurement: dict[str, Any] | None, mitigation: dict[str, DisparityResult] | None, pol: Policy,
) -> list[Finding]:  # fmt: skip
    """Every finding, each marked blocking when the policy lists its code."""
    found: list[tuple[str, str, dict[str, Any]]] = []
    skill = run.metrics.get("skill") or {}
    low = skill.get("skill_lo")
    if low is None or not low > 0:
        found.append(
            (
                "no_skill",
                f"model {run.model} does not beat the best naive baseline "
                f"({run.metrics.get('baseline')}): skill interval lower bound {low}",
                {"skill": skill},
            )
        )
    for result in disparity:
        for metric, groups in result.out_of_band.items():
            ratios = {g: _num(result.judged_ratio(metric, g)) for g in groups}
            fixed = [g for g in groups if g in result.corrected.get(metric, [])]
            found.append(
                (
                    f"{result.grouping}_{metric}_out_of_band",
                    f"{result.attribute}: {metric} ratio vs {result.reference} outside {list(result.band)} for "
                    + ", ".join(f"{g} ({r})" for g, r in ratios.items())
                    + (
                        " (the reference rate is 0: corrected ratio, difference "
                        + ", ".join(f"{_num(result.table.loc[g, f'{metric}_diff'])}" for g in fixed)
                        + ")"
                        if fixed
                        else ""
                    ),
                    {"attribute": result.attribute, "ratios": ratios},
                )
            )
    for proxy in proxies:
        for code, limit in (
            ("proxy_r2_block", pol.proxy["r2_block"]),
            ("proxy_r2_warn", pol.proxy["r2_warn"]),
        ):
            if proxy.r2 > limit:
                top = [str(i) for i in proxy.importance.index[:3]]
                found.append(
                    (
                        code,
                        f"the model features predict {proxy.attribute} with cross-validated R² "
                        f"{proxy.r2:.2f} > {limit}; carried most by {', '.join(top)}",
                        {"attribute": proxy.attribute, "r2": proxy.r2, "top_features": top},
                    )
                )
                break
    if measurement is not None and measurement["biased_cells"]:
        cells = [
            f"{r['group']}/{r['category']} ({r['verdict']}, x{r['relative']:.2f})"
            for r in measurement["recording_bias"]
            if r["verdict"] != "ok"
        ]
        found.append(
            (
                "measurement_bias",
                "recording mis-states the true rate for " + "; ".join(cells[:8]),
                {"cells": cells},
            )
        )
    if mitigation is not None:
        failing = [k for k, v in mitigation.items() if k != "naive" and "exposure" in v.out_of_band]
        if failing and len(failing) == len(mitigation) - 1:
            found.append(
                (
                    "mitigation_fails_band",
                    "exposure stays outside the band after every mitigation",
                    {"variants": failing},
                )
            )
    findings = [Finding(code, message, code in pol.block, detail) for code, message, detail in found]
    return findings + _insufficient_findings(disparity, pol)


def _insufficient_findings(disparity: list[DisparityResult], pol: Policy) -> list[Finding]:
    """One finding per grouping and metric whose ratio could not be assessed for some group.

    When the policy blocks on that metric's out-of-band code the check could not be evaluated, so the finding
    follows the policy key ``insufficient``: ``cannot_assess`` (verdict insufficient), ``block`` or ``warn``.
    """
    out = []
    for result in disparity:
        for metric, reasons in result.insufficient.items():
            guarded = f"{result.grouping}_{metric}_out_of_band" in pol.block
            message = (
                f"{result.attribute}: the {metric} ratio vs {result.reference} cannot be assessed for "
                f"{len(reasons)} of {len(result.table)} groups: " + "; ".join(reasons.values())
            )
            detail = {"attribute": result.attribute, "min_areas": result.min_areas, "groups": reasons}
            out.append(
                Finding(
                    f"{result.grouping}_{metric}_insufficient",
                    message,
                    guarded and pol.insufficient == "block",
                    detail,
                    cannot_assess=guarded and pol.insufficient == "cannot_assess",
                )
            )
    return out


def unavailable_findings(unavailable: dict[str, str], pol: Policy) -> list[Finding]:
    """One finding per grouping the store cannot supply; it cannot be assessed (policy ``insufficient``) when
    the policy blocks on any check of that grouping, else it is a warning."""
    out = []
    for grouping, message in unavailable.items():
        guarded = [code for code in pol.block if code.startswith(_DEPENDS_ON[grouping])]
        out.append(
            Finding(
                f"{grouping}_unavailable",
                message,
                bool(guarded) and pol.insufficient == "block",
                {"grouping": grouping, "blocking_checks": guarded},
                cannot_assess=bool(guarded) and pol.insufficient == "cannot_assess",
            )
        )
    return out


def _num(value: object) -> object:
    """A ratio for messages (inf kept as text)."""
    number = float(value)  # type: ignore[arg-type]
    return "inf" if np.isinf(number) else round(number, 3)
