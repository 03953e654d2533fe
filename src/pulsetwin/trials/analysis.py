"""Analyse a registered trial exactly as pre-registered, and list every deviation from the registration."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pulsetwin.audit.documents.trials import ANALYSE
from pulsetwin.exceptions import ParameterError, StoreError
from pulsetwin.features.spatial import has_geometry
from pulsetwin.store.database import Store
from pulsetwin.store.logpage import read_log_records
from pulsetwin.trials.allocation import Scheme
from pulsetwin.trials.burden import burden
from pulsetwin.trials.displacement import Adjacency, assess_displacement
from pulsetwin.trials.estimate import randomisation_p, rate_ratio
from pulsetwin.trials.registration import (
    REFUSED,
    Registration,
    file_matches,
    latest_registration,
    registrations,
)


def period_counts(store: Store, freq: str, category: str, periods: list[pd.Timestamp]) -> pd.DataFrame:
    """Counts of ``category`` per buurt (rows) and period (columns) for ``periods`` (sources summed)."""
    incidents = store.read("incidents", where={"freq": freq, "category": category})
    incidents = incidents.assign(period_start=pd.to_datetime(incidents["period_start"]))
    rows = incidents[incidents["period_start"].isin(periods)]
    return rows.pivot_table(index="area_code", columns="period_start", values="count", aggfunc="sum")


def analyse_trial(store: Store, trial_id: str, *, actor: str = "cli") -> dict[str, Any]:
    """The pre-registered analysis of the latest version of ``trial_id``, logged as ``trial_analyse``."""
    reg = latest_registration(store, trial_id)
    doc = reg.document
    spec = doc["spec"]
    units = pd.DataFrame(doc["units"])
    periods = [pd.Timestamp(p) for p in doc["periods"]]
    category = doc["primary_outcome"]["category"]
    deviations = _registration_deviations(store, reg)
    scheme = Scheme.of(spec["design"], len(periods))
    redraws = scheme.redraw(units, int(spec["design"]["randomisations"]), int(spec["seed"]))
    registered = units["expected"] if "period_start" in units else units.set_index("area_code")["expected"]
    primary = _outcome(store, doc, units, category, redraws, registered, deviations, scheme)
    secondary = []
    for other in doc["secondary_outcomes"]:
        try:
            secondary.append(_outcome(store, doc, units, other, redraws, None, deviations, scheme))
        except (StoreError, ParameterError) as error:
            deviations.append(f"secondary outcome {other} not analysed: {error}")
    observed = [pd.Timestamp(p) for p in primary["periods_analysed"]]
    displacement = (
        {"reading": f"not assessed: in a {scheme.kind.replace('_', ' ')} every buurt is treated in some periods, "
         "so no buurt is only next to control buurten", "p_value": None}
        if "period_start" in units else _displacement(store, doc, units, category, observed, redraws)
    )  # fmt: skip
    bore = burden(store, units, periods[0], actor=actor)
    result = {
        "trial_id": trial_id, "version": reg.version, "registration_sha256": reg.sha256, **primary,
        "alpha": float(spec["alpha"]), "secondary": secondary, "displacement": displacement, "burden": bore,
        "deviations": deviations,
    }  # fmt: skip
    result["sentence"] = sentence(result)
    store.log.append(actor, ANALYSE, trial_id, result)
    return result


def _outcome(store: Store, doc: dict[str, Any], units: pd.DataFrame, category: str, redraws: np.ndarray,
             registered: pd.Series | None, deviations: list[str], scheme: Scheme) -> dict[str, Any]:  # fmt: skip
    """Rate ratio and randomisation p of one outcome; appends what deviates from the registration.

    ``registered`` holds the registered forecast totals of the primary outcome (None for secondary ones, whose
    offsets are read from the run as stored).
    """
    periods = [pd.Timestamp(p) for p in doc["periods"]]
    counts = period_counts(store, doc["freq"], category, periods)
    observed = [p for p in periods if p in counts.columns]
    if not observed:
        raise StoreError(
            f"the store holds no {category} counts for any registered period ({doc['periods'][0]} to "
            f"{doc['periods'][-1]}). Fix: import the incidents of the trial period, then analyse"
        )
    missing = [p.date().isoformat() for p in periods if p not in counts.columns]
    if missing:
        deviations.append(f"{category}: no data for registered periods {', '.join(missing)}; the analysis uses "
                          "the observed periods with the forecast offset of those periods only")  # fmt: skip
    forecasts = store.read("forecasts", where={"run_id": doc["run_id"], "category": category})
    if forecasts.empty:
        raise StoreError(f"run {doc['run_id']} holds no forecast of {category} for the offset")
    forecasts = forecasts.assign(period_start=pd.to_datetime(forecasts["period_start"]))
    per_period = forecasts.pivot_table(
        index="area_code", columns="period_start", values="mean", aggfunc="sum"
    )
    if "period_start" in units:
        y, expected = _crossover_cells(units, counts, per_period, observed, category, registered, deviations)
    else:
        y, expected = _cluster_totals(units, counts, per_period, periods, observed, category, registered,
                                      deviations)  # fmt: skip
    treated = units["treated"].to_numpy(dtype=bool)
    spec = doc["spec"]
    trend = scheme.period_index(units)
    estimate = rate_ratio(y, expected, treated, units["block"], size=float(doc["power"]["nb_size"]),
                          level=1.0 - float(spec["alpha"]), periods=trend)  # fmt: skip
    return {
        "outcome": category, "periods_analysed": [p.date().isoformat() for p in observed],
        "observed": {"treated": float(y[treated].sum()), "control": float(y[~treated].sum())},
        "expected": {"treated": float(expected[treated].sum()), "control": float(expected[~treated].sum())},
        "rate_ratio": asdict(estimate), "p_value": randomisation_p(y, expected, treated, redraws, trend),
    }  # fmt: skip


def _cluster_totals(units: pd.DataFrame, counts: pd.DataFrame, per_period: pd.DataFrame,
                    periods: list[pd.Timestamp], observed: list[pd.Timestamp], category: str,
                    registered: pd.Series | None, deviations: list[str]) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Outcome and forecast totals per buurt over the observed periods (cluster design)."""
    codes = units["area_code"].tolist()
    per_period = per_period.reindex(index=codes, columns=periods)
    if registered is not None:
        now = per_period.sum(axis=1)
        if not np.allclose(now.to_numpy(), registered.to_numpy(), rtol=1e-6):
            deviations.append("the stored forecasts of the run differ from the registered expected counts; the "
                              "registered values are used")  # fmt: skip
            per_period = per_period.mul(registered / now, axis=0)
    expected = per_period[observed].sum(axis=1).to_numpy()
    table = counts.reindex(index=codes, columns=observed)
    gaps = int(table.isna().sum().sum())
    if gaps:
        deviations.append(
            f"{category}: {gaps} buurt-periods of the observed periods have no row; counted as 0"
        )
    return table.fillna(0.0).sum(axis=1).to_numpy(), expected


def _crossover_cells(units: pd.DataFrame, counts: pd.DataFrame, per_period: pd.DataFrame,
                     observed: list[pd.Timestamp], category: str, registered: pd.Series | None,
                     deviations: list[str]) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Outcome and forecast per buurt-period (crossover, stepped wedge); every registered period must be
    observed, since the randomisation test re-draws over all of them."""
    starts = pd.to_datetime(units["period_start"])
    if not starts.isin(observed).all():
        raise StoreError(
            f"a crossover or stepped wedge is analysed on every registered period, but {category} has no data "
            "for some. Fix: import the incidents of all trial periods, then analyse"
        )
    cells = pd.MultiIndex.from_arrays([units["area_code"], starts])
    expected = per_period.stack().reindex(cells).to_numpy(dtype=float)
    if registered is not None and not np.allclose(expected, units["expected"].to_numpy(), rtol=1e-6):
        deviations.append("the stored forecasts of the run differ from the registered expected counts; the "
                          "registered values are used")  # fmt: skip
        expected = units["expected"].to_numpy(dtype=float)
    y = counts.stack().reindex(cells)
    gaps = int(y.isna().to_numpy().sum())
    if gaps:
        deviations.append(f"{category}: {gaps} buurt-periods have no row; counted as 0")
    return y.fillna(0.0).to_numpy(dtype=float), expected


def sentence(result: dict[str, Any]) -> str:
    """The result in one sentence."""
    rr = result["rate_ratio"]
    verdict = "significant" if result["p_value"] <= result["alpha"] else "not significant"
    return (f"Rate ratio treated vs control {rr['estimate']:.2f} ({rr['level']:.0%} interval {rr['lower']:.2f} to "
            f"{rr['upper']:.2f}), randomisation p = {result['p_value']:.3f} ({verdict} at alpha "
            f"{result['alpha']}); {len(result['deviations'])} deviation(s) from the pre-registration.")  # fmt: skip


def _registration_deviations(store: Store, reg: Registration) -> list[str]:
    """Deviations visible in the registration itself: versions, late registration, edited files."""
    found = []
    versions = registrations(store, reg.trial_id)
    if len(versions) > 1:
        reasons = [f"v{v.version}: {v.replaces_reason}" for v in versions if v.replaces_reason is not None]
        found.append(f"the trial was registered {len(versions)} times ({'; '.join(reasons)}); the latest version "
                     "is analysed")  # fmt: skip
    refused = read_log_records(store, (REFUSED,), subject=reg.trial_id)
    if refused:
        found.append(f"{len(refused)} refused attempt(s) to change the registration (log records "
                     f"{', '.join(str(r.seq) for r in refused)})")  # fmt: skip
    rows = int(reg.document["outcome_rows_at_registration"])
    if rows:
        found.append(f"{rows} outcome rows of the trial periods were already stored when the trial was "
                     "registered: it was registered after (part of) the trial period")  # fmt: skip
    matches = file_matches(reg, Path(reg.files))
    if matches is False:
        found.append("preregistration.json on disk no longer matches the logged SHA-256; the logged version "
                     "is used")  # fmt: skip
    return found


def _displacement(store: Store, doc: dict[str, Any], units: pd.DataFrame, category: str,
                  observed: list[pd.Timestamp], redraws: np.ndarray) -> dict[str, Any]:  # fmt: skip
    """Displacement to adjacent buurten: trial periods vs as many periods just before."""
    areas = store.read("areas")
    buurten = areas.loc[areas["level"] == "buurt", "area_code"].astype(str).tolist()
    if not has_geometry(areas, buurten):
        return {"reading": "not assessed: the stored buurten have no geometry, so their neighbours are unknown",
                "p_value": None}  # fmt: skip
    adjacency = Adjacency.build(areas, units["area_code"].tolist())
    incidents = store.read("incidents", where={"freq": doc["freq"], "category": category})
    incidents = incidents.assign(period_start=pd.to_datetime(incidents["period_start"]))
    before_all = sorted(incidents.loc[incidents["period_start"] < min(observed), "period_start"].unique())
    before = before_all[-len(observed) :]
    totals = incidents.groupby(["period_start", "area_code"])["count"].sum()
    per_period = totals.unstack("area_code", fill_value=0)
    result = assess_displacement(per_period.reindex(before).sum(), per_period.reindex(observed).sum(), adjacency,
                                 units["treated"].to_numpy(dtype=bool), redraws)  # fmt: skip
    return {**result, "before_periods": len(before)}
