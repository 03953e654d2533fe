"""The release gate: audit a forecast run (skill, disparity, proxies, measurement bias) against a policy,
record the audit as a run, and mark the forecast run ``blocked`` when a blocking finding is present.

Verdicts and exit codes of ``pulsetwin audit`` (:data:`EXIT_CODES`): ``passed`` (0), ``blocked`` (1) and
``insufficient`` (3): a check the policy blocks on could not be evaluated (a group below ``min_areas``, a zero
or undefined reference rate), so the run can be neither passed nor blocked: it "cannot be assessed". Exit code 2
stays the command line's code for bad input. The policy key ``insufficient`` can turn such findings into blocks
(``block``) or, explicitly, into warnings (``warn``).

Realised outcomes: when the store holds incidents for every forecast period, the forecast is compared with
them. Otherwise (a true forecast of the future) the forecasts the run stored for its last backtest fold (the
run's model, with the same parameters, fitted at that fold's origin: :mod:`pulsetwin.evaluation.fold_forecasts`)
are compared with what was recorded there: the same model and horizon, one fold earlier. The audit only reads
them; a run stored without them (by an older PulseTwin) is refused with the fix, re-running the forecast.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import yaml

from pulsetwin.audit.attributes import attribute_values, audit_year, covariate_values
from pulsetwin.audit.disparity import (
    METRICS,
    MIN_AREAS,
    DisparityResult,
    area_outcomes,
    audit_disparity,
    quantile_groups,
)
from pulsetwin.audit.measurement import has_offence_truth, measurement_summary, mitigation_comparison
from pulsetwin.audit.proxies import ProxyResult, model_features, proxy_strength
from pulsetwin.exceptions import ParameterError, SchemaError, StoreError
from pulsetwin.schema.params import Integer, NoneOr, Number, Options, Rule, read_key
from pulsetwin.schema.variables import INCOME, RESIDENTS, VariableNames, has_variable, missing_variable
from pulsetwin.store.fold_forecasts import read_fold_forecasts
from pulsetwin.store.runs import RunKind, RunStatus

if TYPE_CHECKING:
    from pulsetwin.store.database import Store
    from pulsetwin.store.runs import RunRecord

BLOCKED = RunStatus.BLOCKED
PASSED = RunStatus.PASSED
INSUFFICIENT = RunStatus.INSUFFICIENT
EXIT_CODES = {PASSED: 0, BLOCKED: 1, INSUFFICIENT: 3}
"""Exit code of ``pulsetwin audit`` per verdict (2 is the command line's code for bad input)."""
ON_INSUFFICIENT = ("cannot_assess", "block", "warn")
"""What a blocking check without enough data does: verdict ``insufficient``, a block, or only a warning."""
_POLICY_KEYS = {
    "top_k",
    "threshold",
    "bins",
    "reference",
    "band",
    "proxy",
    "block",
    "min_areas",
    "insufficient",
    "variables",
}
_PROXY_KEYS = {"r2_warn", "r2_block", "folds", "repeats", "trees"}
FINDING_CODES = (
    "no_skill",
    *(f"{g}_{m}_out_of_band" for g in ("protected", "income") for m in METRICS),
    "proxy_r2_warn",
    "proxy_r2_block",
    "measurement_bias",
    "mitigation_fails_band",
)
INSUFFICIENT_CODES = tuple(f"{g}_{m}_insufficient" for g in ("protected", "income") for m in METRICS)
"""Codes of disparity checks that could not be evaluated (governed by the policy key ``insufficient``)."""
_DEPENDS_ON = {"protected": ("protected_", "proxy_", "measurement_", "mitigation_"), "income": ("income_",)}
"""Prefixes of the finding codes each grouping's data is needed for. A grouping the store cannot supply (no
protected table, no income variable) gets the finding ``<grouping>_unavailable``, governed by ``insufficient``
like the codes above when the policy blocks on any of these checks."""
AFFLUENT = "affluent"
"""Income reference group: the most affluent bin, ``highest`` or ``lowest`` by ``variables.income_direction``."""


@dataclass(frozen=True)
class Policy:
    """Which findings block, and the parameters of the audit (see ``default_policy.yaml`` for every key)."""

    top_k: float | None
    threshold: float | None
    bins: int
    reference: dict[str, str]
    band: tuple[float, float]
    proxy: dict[str, float]
    block: tuple[str, ...]
    source: str
    min_areas: int = MIN_AREAS
    insufficient: str = "cannot_assess"
    variables: VariableNames = field(default_factory=VariableNames)

    def income_reference(self) -> str:
        """The income reference group as a bin rule or label (``affluent`` resolved by the income direction)."""
        reference = self.reference["income"]
        if reference != AFFLUENT:
            return reference
        return "highest" if self.variables.income_direction == "higher" else "lowest"

    def to_dict(self) -> dict[str, Any]:
        """Plain form for the audit record."""
        return {
            "top_k": self.top_k, "threshold": self.threshold, "bins": self.bins, "reference": self.reference,
            "band": list(self.band), "proxy": self.proxy, "block": list(self.block), "source": self.source,
            "min_areas": self.min_areas, "insufficient": self.insufficient, "variables": self.variables.to_dict(),
        }  # fmt: skip


def load_policy(path: str | Path | None = None) -> Policy:
    """Read a policy YAML (default: the shipped ``default_policy.yaml``); unknown keys and codes are refused."""
    if path is None:
        text = resources.files("pulsetwin.audit").joinpath("default_policy.yaml").read_text(encoding="utf-8")
        source = "default_policy.yaml"
    else:
        text, source = Path(path).read_text(encoding="utf-8"), str(path)
    raw = yaml.safe_load(text) or {}

    def fail(what: str, value: object) -> SchemaError:
        return SchemaError(
            what, where=_where(source, value), fix="see src/pulsetwin/audit/default_policy.yaml"
        )

    if not isinstance(raw, dict) or set(raw) - _POLICY_KEYS:
        raise fail(f"policy keys must be among {sorted(_POLICY_KEYS)}", sorted(set(raw) - _POLICY_KEYS))
    given = raw.get("proxy") or {}
    if not isinstance(given, dict) or set(given) - _PROXY_KEYS:
        raise fail(f"proxy keys must be among {sorted(_PROXY_KEYS)}", sorted(set(given) - _PROXY_KEYS))
    proxy = {
        key: read_key(given, key, rule, file=source, fix=_POLICY_FIX, prefix="proxy.", default=default)
        for key, (rule, default) in _PROXY_RULES.items()
    }
    block = tuple(raw.get("block") or ())
    unknown = [code for code in block if code not in FINDING_CODES]
    if unknown:
        raise fail(f"block must list finding codes among {list(FINDING_CODES)}", unknown)
    band = tuple(float(b) for b in raw.get("band", (0.8, 1.25)))
    if len(band) != 2 or not 0 < band[0] <= 1 <= band[1]:
        raise fail("band must be [low, high] with 0 < low <= 1 <= high", raw.get("band"))
    reference = {"protected": "lowest", "income": AFFLUENT, **(raw.get("reference") or {})}
    values = {
        key: read_key(raw, key, rule, file=source, fix=_POLICY_FIX, default=default)
        for key, (rule, default) in _POLICY_RULES.items()
    }
    top_k, threshold = values["top_k"], values["threshold"]
    if threshold is not None:
        top_k = None
    min_areas, on_insufficient = values["min_areas"], values["insufficient"]
    return Policy(
        top_k=None if top_k is None else float(top_k), threshold=None if threshold is None else float(threshold),
        bins=values["bins"], reference=reference, band=(band[0], band[1]), proxy=proxy, block=block,
        source=source, min_areas=min_areas, insufficient=str(on_insufficient),
        variables=VariableNames.from_mapping(raw.get("variables"), source=source),
    )  # fmt: skip


_POLICY_FIX = "see src/pulsetwin/audit/default_policy.yaml"
_SHARE = Number(low=0.0, high=1.0)
_POLICY_RULES: dict[str, tuple[Rule, object]] = {
    "top_k": (NoneOr(Number(low=0.0, high=1.0, closed="right")), 0.1),
    "threshold": (NoneOr(Number(finite=True)), None),
    "bins": (Integer(low=2), 4),
    "min_areas": (Integer(low=1, say="an integer >= 1 (fewest areas per group for a ratio)"), MIN_AREAS),
    "insufficient": (Options(ON_INSUFFICIENT), "cannot_assess"),
}
"""Scalar policy keys: rule and default."""
_PROXY_RULES: dict[str, tuple[Rule, object]] = {
    "r2_warn": (_SHARE, 0.3),
    "r2_block": (_SHARE, 0.6),
    "folds": (Integer(low=2), 5),
    "repeats": (Integer(low=1), 5),
    "trees": (Integer(low=1), 100),
}
"""Keys of the ``proxy`` block: rule and default."""


def _where(source: str, value: object) -> Any:
    """A Location naming the policy file."""
    from pulsetwin.exceptions import Location

    return Location(file=source, value=value)


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


# ------------------------------------------------------------------------------------------ realised outcomes
def realised_outcomes(
    store: Store, run: RunRecord, forecasts: pd.DataFrame, frames: dict[str, pd.DataFrame]
) -> tuple[pd.Series, pd.Series, dict[str, Any]]:
    """Forecast and realised totals per area, and how the realised outcomes were obtained."""
    incidents = frames["incidents"]
    periods = pd.DatetimeIndex(sorted(forecasts["period_start"].unique()))
    recorded = set(pd.DatetimeIndex(incidents["period_start"].unique()))
    if all(p in recorded for p in periods):
        mode, origin, used = "forecast_periods", periods[0], forecasts
    else:
        used, origin = _last_fold(store, run)
        mode = "last_backtest_fold"
        periods = pd.DatetimeIndex(sorted(used["period_start"].unique()))
    codes = pd.Index(sorted(used["area_code"].unique()))
    categories = sorted(used["category"].unique())
    forecast = used.groupby("area_code")["mean"].sum().reindex(codes)
    mask = incidents["period_start"].isin(periods) & incidents["category"].isin(categories)
    window = incidents[mask]
    counts = window["count"].astype("Float64")
    observed = counts.fillna(0.0).astype(np.float64).groupby(window["area_code"]).sum()
    observed = observed.reindex(codes, fill_value=0.0)
    info = {
        "mode": mode, "origin": origin.date().isoformat(), "periods": [p.date().isoformat() for p in periods],
        "areas": len(codes), "categories": categories, "withheld_cells": int(counts.isna().sum()),
    }  # fmt: skip
    return forecast, observed, info


def _last_fold(store: Store, run: RunRecord) -> tuple[pd.DataFrame, pd.Timestamp]:
    """The forecasts the run stored for its last backtest fold (the same model and horizon, one fold earlier)
    and that fold's origin; refused for a run stored without them."""
    stored = read_fold_forecasts(store, run.run_id)
    if not stored.empty:
        return stored, pd.Timestamp(stored["origin"].iloc[0])
    folds = (run.metrics.get("backtest") or {}).get("folds") or []
    if not folds:
        raise StoreError(
            f"run '{run.run_id}' forecasts periods without recorded incidents and has no backtest folds to "
            "audit on. Fix: audit a run made by `pulsetwin forecast` (it backtests first)"
        )
    raise StoreError(
        f"run '{run.run_id}' forecasts periods without recorded incidents, so the audit judges it on its last "
        f"backtest fold (origin {folds[-1]}), but the run holds no forecasts of that fold: it was stored by an "
        "older PulseTwin, which left them to the audit to recompute. Fix: re-run `pulsetwin forecast` with the "
        "same options and audit the new run"
    )


# ------------------------------------------------------------------------------------------ the audit
def audit_run(
    store: Store,
    run_id: str,
    *,
    policy: Policy | None = None,
    top_k: float | None = None,
    threshold: float | None = None,
    seed: int = 0,
    actor: str = "audit",
) -> AuditReport:
    """Measure skill, disparity (protected attributes and income), proxies and measurement bias of a run."""
    from pulsetwin.store.frames import load_frames
    from pulsetwin.store.protected import read_protected

    pol = policy or load_policy()
    if top_k is not None or threshold is not None:
        pol = replace(pol, top_k=top_k, threshold=threshold)
    run = _get_run(store, run_id)
    if run.kind != "forecast":
        raise ParameterError(f"run '{run_id}' is a {run.kind} run; the audit needs a forecast run")
    if run.freq is None:
        raise StoreError(f"run '{run_id}' records no freq. Fix: audit a run made by `pulsetwin forecast`")
    freq = run.freq
    forecasts = store.read("forecasts", where={"run_id": run_id})
    if forecasts.empty:
        raise StoreError(f"run '{run_id}' has no stored forecasts. Fix: re-run `pulsetwin forecast`")
    frames = load_frames(store, freq)
    forecast, observed, realised = realised_outcomes(store, run, forecasts, frames)
    origin = pd.Timestamp(realised["origin"])
    codes = forecast.index
    names = pol.variables
    if not has_variable(frames["covariates"], names.residents):
        raise missing_variable(frames["covariates"], RESIDENTS, names.residents)
    residents = covariate_values(frames["covariates"], names.residents, origin, codes)
    outcomes = area_outcomes(forecast, observed, residents, top_k=pol.top_k, threshold=pol.threshold)
    rule = {"top_k": pol.top_k, "threshold": pol.threshold, "flagged": int(outcomes["flagged"].sum())}
    protected = read_protected(store, actor=actor)
    attrs = []
    unavailable: dict[str, str] = {}
    if protected.empty:
        unavailable["protected"] = (
            "the store holds no protected attributes (audit-only table 'protected'), so whom the flagged areas "
            "single out cannot be assessed. Fix: import the protected table (e.g. `pulsetwin fetch cbs`)"
        )
    else:
        year = audit_year(protected["year"], origin, "protected")
        attrs = [
            attribute_values(protected, a, year, codes)
            for a in sorted(protected.query("year == @year")["attribute"].unique())
        ]
    disparity: list[DisparityResult] = []
    for attr in attrs:
        detail = {"year": attr.year, "definition": attr.definition, "missing_areas": len(attr.missing)}
        disparity.append(
            audit_disparity(
                outcomes,
                attr.values,
                grouping="protected",
                attribute=attr.attribute,
                bins=pol.bins,
                reference=pol.reference["protected"],
                band=pol.band,
                detail=detail,
                min_areas=pol.min_areas,
            )
        )
    income = None
    if has_variable(frames["covariates"], names.income):
        assert names.income is not None
        income = covariate_values(frames["covariates"], names.income, origin, codes)
    if income is not None and income.notna().any():
        disparity.append(
            audit_disparity(
                outcomes,
                income.dropna(),
                grouping="income",
                attribute=str(income.name),
                bins=pol.bins,
                reference=pol.income_reference(),
                band=pol.band,
                detail={"missing_areas": int(income.isna().sum()), "direction": names.income_direction},
                min_areas=pol.min_areas,
            )
        )
    else:
        named = "names no income variable" if names.income is None else f"names '{names.income}'"
        held = "no value of it for the forecast areas" if income is not None else "no such variable"
        unavailable["income"] = (
            f"the income grouping cannot be assessed: the policy {named} ({INCOME.meaning}) and the covariates "
            f"hold {held}. Fix: import it, or name your income variable and its direction in the "
            "policy (variables: income: NAME, income_direction: higher|lower)"
        )
    seen = frames["incidents"][frames["incidents"]["category"].isin(realised["categories"])]
    features = model_features(seen, frames["covariates"], frames["areas"], origin=origin, freq=freq)
    features = features.reindex(codes).fillna(0.0)
    proxies = [
        proxy_strength(
            features,
            a.values,
            attribute=a.attribute,
            folds=int(pol.proxy["folds"]),
            repeats=int(pol.proxy["repeats"]),
            trees=int(pol.proxy["trees"]),
            seed=seed,
        )
        for a in attrs
    ]
    measurement, mitigation = _measurement(frames, attrs, residents, outcomes, origin, realised, pol)
    findings = _findings(run, disparity, proxies, measurement, mitigation, pol)
    findings += _unavailable_findings(unavailable, pol)
    return AuditReport(
        run_id, run.model, freq, rule, realised, _skill(run), disparity, proxies, measurement, mitigation,
        findings, pol,
    )  # fmt: skip


def _measurement(
    frames: dict[str, pd.DataFrame], attrs: list[Any], residents: pd.Series, outcomes: pd.DataFrame,
    origin: pd.Timestamp, realised: dict[str, Any], pol: Policy,
) -> tuple[dict[str, Any] | None, dict[str, DisparityResult] | None]:  # fmt: skip
    """Recording bias and the mitigation before/after, on twin data with offence intensities only."""
    truth = frames.get("truth")
    if not attrs or not has_offence_truth(truth):
        return None, None
    assert truth is not None
    codes = set(outcomes["area_code"])
    cats = realised["categories"]
    truth = truth[
        truth["area_code"].isin(codes) & truth["category"].isin(cats) & (truth["period_start"] < origin)
    ]
    if "freq" in truth.columns:
        truth = truth[truth["freq"] == frames["incidents"]["freq"].iloc[0]]
    first = attrs[0]
    groups = quantile_groups(first.values, pol.bins)
    top_k = pol.top_k if pol.top_k is not None else float(outcomes["flagged"].mean()) or 0.1
    summary = measurement_summary(truth, groups, residents, top_k=top_k, band=pol.band)
    summary["attribute"] = first.attribute
    end = pd.Timestamp(realised["periods"][-1])
    incidents = frames["incidents"]
    used = incidents[
        incidents["area_code"].isin(codes)
        & incidents["category"].isin(cats)
        & (incidents["period_start"] <= end)
    ]
    mitigation = mitigation_comparison(
        used, truth, first.values, residents, origin=origin, top_k=top_k, bins=pol.bins, band=pol.band,
        attribute=first.attribute, min_areas=pol.min_areas,
    )  # fmt: skip
    return summary, mitigation


def _skill(run: RunRecord) -> dict[str, Any]:
    """The run's skill against the best naive baseline, as recorded by the forecast."""
    skill = dict(run.metrics.get("skill") or {})
    return {"status": run.status, "baseline": run.metrics.get("baseline"), **skill}


def _findings(
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


def _unavailable_findings(unavailable: dict[str, str], pol: Policy) -> list[Finding]:
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


def gate(
    store: Store,
    run_id: str,
    *,
    policy: Policy | None = None,
    top_k: float | None = None,
    threshold: float | None = None,
    seed: int = 0,
    actor: str = "audit",
) -> tuple[AuditReport, str]:
    """Audit ``run_id``, store the audit as a run of kind ``audit``, log blocking findings and mark the
    forecast run ``blocked`` (or restore ``ok``/``no_skill`` when a previously blocked run now passes).

    An audit that cannot assess a blocking check gets status ``insufficient`` and an ``audit_insufficient`` log
    record; the forecast run keeps its status (a blocked run stays blocked: it has not been shown to pass).
    Returns the report and the audit run's id.
    """
    report = audit_run(store, run_id, policy=policy, top_k=top_k, threshold=threshold, seed=seed, actor=actor)
    run = _get_run(store, run_id)
    with store.transaction():
        record = store.save_run(
            RunKind.AUDIT, model=run.model,
            params={"forecast_run": run_id, "policy": report.policy.to_dict(), "seed": seed},
            data_hash=run.data_hash, metrics=report.to_dict(), status=report.status,
            origin=run.origin, freq=run.freq, horizon=run.horizon, actor=actor,
        )  # fmt: skip
        if report.blocked:
            blocking = [f.code for f in report.findings if f.blocking]
            store.log.append(actor, "audit_block", run_id, {"audit_run": record.run_id, "findings": blocking})
            if run.status != BLOCKED:
                store.set_run_status(run_id, BLOCKED, actor=actor)
        elif report.status == INSUFFICIENT:
            unassessed = [f.code for f in report.findings if f.cannot_assess]
            store.log.append(
                actor, "audit_insufficient", run_id, {"audit_run": record.run_id, "findings": unassessed}
            )
        elif run.status == BLOCKED:
            low = (run.metrics.get("skill") or {}).get("skill_lo")
            store.set_run_status(
                run_id, RunStatus.OK if low is not None and low > 0 else RunStatus.NO_SKILL, actor=actor
            )
    return report, record.run_id


def _get_run(store: Store, run_id: str) -> RunRecord:
    """``store.get_run``, then a fully consumed query: ``get_run`` leaves a DuckDB result half-fetched, which
    makes the next relation query of the store fail (reported to the store's owner)."""
    run = store.get_run(run_id)
    store.runs()
    return run


def latest_run(store: Store, kind: str) -> str:
    """The id of the most recent run of ``kind``."""
    runs = store.runs()
    chosen = runs[runs["kind"] == kind]
    if chosen.empty:
        raise StoreError(f"no {kind} run in the store. Fix: run `pulsetwin {kind}` first")
    return str(chosen["run_id"].iloc[-1])
