"""The release gate: audit a forecast run (skill, disparity, proxies, measurement bias) against a policy,
record the audit as a run, and mark the forecast run ``blocked`` when a blocking finding is present.

Verdicts and exit codes of ``pulsetwin audit`` (:data:`pulsetwin.audit.findings.EXIT_CODES`): ``passed`` (0),
``blocked`` (1) and ``insufficient`` (3): a check the policy blocks on could not be evaluated (a group below
``min_areas``, a zero or undefined reference rate), so the run can be neither passed nor blocked: it "cannot be
assessed". Exit code 2 stays the command line's code for bad input. The policy key ``insufficient`` can turn
such findings into blocks (``block``) or, explicitly, into warnings (``warn``). The policy lives in
:mod:`pulsetwin.audit.policy`, the findings and the report in :mod:`pulsetwin.audit.findings`.

Realised outcomes: when the store holds incidents for every forecast period, the forecast is compared with
them. Otherwise (a true forecast of the future) the forecasts the run stored for its last backtest fold (the
run's model, with the same parameters, fitted at that fold's origin: :mod:`pulsetwin.evaluation.fold_forecasts`)
are compared with what was recorded there: the same model and horizon, one fold earlier. The audit only reads
them; a run stored without them (by an older PulseTwin) is refused with the fix, re-running the forecast.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pulsetwin.audit.attributes import attribute_values, audit_year, covariate_values
from pulsetwin.audit.disparity import (
    DisparityResult,
    area_outcomes,
    audit_disparity,
    quantile_groups,
)
from pulsetwin.audit.findings import (
    BLOCKED,
    INSUFFICIENT,
    AuditReport,
    derive_findings,
    unavailable_findings,
)
from pulsetwin.audit.measurement import has_offence_truth, measurement_summary, mitigation_comparison
from pulsetwin.audit.policy import Policy, load_policy
from pulsetwin.audit.proxies import model_features, proxy_strength
from pulsetwin.exceptions import ParameterError, StoreError
from pulsetwin.schema.variables import INCOME, RESIDENTS, has_variable, missing_variable
from pulsetwin.store.fold_forecasts import read_fold_forecasts
from pulsetwin.store.runs import RunKind, RunStatus

if TYPE_CHECKING:
    from pulsetwin.store.database import Store
    from pulsetwin.store.runs import RunRecord


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
    findings = derive_findings(run, disparity, proxies, measurement, mitigation, pol)
    findings += unavailable_findings(unavailable, pol)
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
