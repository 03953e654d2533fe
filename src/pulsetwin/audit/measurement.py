"""Measurement bias: where recording over- or under-states what happened, what that does to flags, and the
before/after of two mitigations (citizen-reported categories only; police-initiated counts reweighted by
estimated detection).

Recorded crime is a sample of crime whose inclusion probability differs by category and place (police-initiated
categories follow patrol effort). On twin data the truth table carries both the expected recorded count
(``intensity``) and the expected count of offences (``offence_intensity``), so the bias is measured exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pulsetwin.audit.disparity import (
    BAND,
    MIN_AREAS,
    DisparityResult,
    area_outcomes,
    audit_disparity,
    group_rates,
)
from pulsetwin.exceptions import ParameterError, SchemaError
from pulsetwin.schema.categories import origin_of

CITIZEN = "citizen"
POLICE = "police"


def has_offence_truth(truth: pd.DataFrame | None) -> bool:
    """True when a truth table with known offence intensities is present (twin data)."""
    return bool(
        truth is not None
        and "offence_intensity" in truth.columns
        and truth["offence_intensity"].notna().any()
    )


def recording_bias(
    truth: pd.DataFrame, groups: pd.Series, residents: pd.Series, band: tuple[float, float] = BAND
) -> pd.DataFrame:
    """Per group and category: true and recorded rates per 1,000 residents per period, and their ratio.

    ``relative`` divides a group's recording ratio by the category's overall one: above the band the record
    over-states the group's share of the category, below it under-states it.
    """
    t = truth.dropna(subset=["offence_intensity"])
    label = groups.reindex(t["area_code"].to_numpy()).to_numpy()
    keep = pd.notna(label)
    t = t.loc[keep].assign(group=label[keep])
    per_area = t.groupby(["group", "category", "area_code"], sort=True)[
        ["intensity", "offence_intensity"]
    ].sum()
    per_area["residents"] = residents.reindex(per_area.index.get_level_values("area_code")).to_numpy()
    n_periods = t.groupby("category")["period_start"].nunique()
    sums = per_area.groupby(["group", "category"], sort=True).sum()
    periods = n_periods.reindex(sums.index.get_level_values("category")).to_numpy()
    out = pd.DataFrame(index=sums.index)
    out["true_per_1000"] = (
        1000.0 * sums["offence_intensity"].to_numpy() / sums["residents"].to_numpy() / periods
    )
    out["recorded_per_1000"] = 1000.0 * sums["intensity"].to_numpy() / sums["residents"].to_numpy() / periods
    out["recording_ratio"] = sums["intensity"] / sums["offence_intensity"]
    overall = t.groupby("category")["intensity"].sum() / t.groupby("category")["offence_intensity"].sum()
    out["relative"] = (
        out["recording_ratio"].to_numpy()
        / overall.reindex(sums.index.get_level_values("category")).to_numpy()
    )
    low, high = band
    out["verdict"] = np.where(out["relative"] > high, "over", np.where(out["relative"] < low, "under", "ok"))
    out["origin"] = [origin_of(str(c)) for c in sums.index.get_level_values("category")]
    return out.reset_index()


def flag_shift(truth: pd.DataFrame, groups: pd.Series, residents: pd.Series, *, top_k: float) -> pd.DataFrame:
    """Per group: flag rate and exposure when flagging on recorded versus on true intensity (all categories)."""
    t = truth.dropna(subset=["offence_intensity"])
    sums = t.groupby("area_code", sort=True)[["intensity", "offence_intensity"]].sum()
    res = residents.reindex(sums.index)
    if res.isna().any():
        raise SchemaError(
            "every area of the truth table needs a number of residents (the residents variable)",
            fix="import the residents covariate for every area",
        )
    parts = {}
    for name, column in (("recorded", "intensity"), ("true", "offence_intensity")):
        outcomes = area_outcomes(sums[column], sums["offence_intensity"], res, top_k=top_k)
        parts[name] = group_rates(outcomes, groups)[["flag_rate", "exposure"]]
    out = parts["recorded"].add_suffix("_recorded").join(parts["true"].add_suffix("_true"))
    out["exposure_shift"] = out["exposure_recorded"] - out["exposure_true"]
    return out.reset_index()


def citizen_only(incidents: pd.DataFrame) -> pd.DataFrame:
    """The incidents of citizen-reported categories (high reporting rates, least enforcement-driven)."""
    keep = incidents["category"].map(lambda c: origin_of(str(c)) == CITIZEN).to_numpy(dtype=bool)
    if not keep.any():
        raise ParameterError("no citizen-reported categories in the incidents; the mitigation cannot run")
    return incidents.loc[keep].reset_index(drop=True)


def detection_rates(truth: pd.DataFrame) -> pd.Series:
    """Estimated recording probability per (area_code, category): recorded over true expected counts."""
    t = truth.dropna(subset=["offence_intensity"])
    sums = t.groupby(["area_code", "category"], sort=True)[["intensity", "offence_intensity"]].sum()
    return (sums["intensity"] / sums["offence_intensity"]).rename("detection")


def reweight(incidents: pd.DataFrame, detection: pd.Series) -> pd.DataFrame:
    """Police-initiated counts divided by their area's detection relative to the category's mean detection.

    Counts become float64 (expected counts on the scale of a uniform detection); other categories are unchanged.
    """
    out = incidents.copy()
    police = out["category"].map(lambda c: origin_of(str(c)) == POLICE).to_numpy(dtype=bool)
    index = pd.MultiIndex.from_arrays([out["area_code"], out["category"]])
    rate = detection.reindex(index).to_numpy()
    mean = detection.groupby(level="category").mean().reindex(out["category"]).to_numpy()
    unknown = police & ~np.isfinite(rate)
    if unknown.any():
        raise SchemaError(
            f"{int(unknown.sum())} police-initiated rows have no detection estimate",
            fix="estimate detection for every (area, category) of the police-initiated incidents",
        )
    weight = np.where(police, mean / np.where(police, rate, 1.0), 1.0)
    out["count"] = out["count"].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan) * weight
    return out


def reference_scores(incidents: pd.DataFrame, origin: pd.Timestamp) -> tuple[pd.Series, pd.Series]:
    """A historical-mean pipeline: per area the mean count per period before ``origin`` (all categories)
    and the realised total from ``origin`` on."""
    counts = incidents["count"].astype("Float64").fillna(0.0).astype(np.float64)
    before = incidents["period_start"] < origin
    n_before = max(int(incidents.loc[before, "period_start"].nunique()), 1)
    codes = pd.Index(sorted(incidents["area_code"].unique()))
    score = counts[before].groupby(incidents.loc[before, "area_code"]).sum().reindex(codes, fill_value=0.0)
    realised = (
        counts[~before].groupby(incidents.loc[~before, "area_code"]).sum().reindex(codes, fill_value=0.0)
    )
    return score / n_before, realised


def mitigation_comparison(
    incidents: pd.DataFrame,
    truth: pd.DataFrame | None,
    values: pd.Series,
    residents: pd.Series,
    *,
    origin: pd.Timestamp,
    top_k: float,
    bins: int = 4,
    band: tuple[float, float] = BAND,
    attribute: str = "protected",
    min_areas: int = MIN_AREAS,
) -> dict[str, DisparityResult]:
    """Disparity of the historical-mean pipeline on naive, citizen-only and (with truth) reweighted counts.

    Notes
    -----
    Mitigations after Lum & Isaac (2016) and Ensign et al. (2018): model on reports that do not depend on
    where police look, or correct counts for the probability of being recorded.
    """
    variants = {"naive": incidents, "citizen_only": citizen_only(incidents)}
    if has_offence_truth(truth):
        assert truth is not None
        variants["reweighted"] = reweight(incidents, detection_rates(truth))
    out = {}
    for name, frame in variants.items():
        score, realised = reference_scores(frame, origin)
        outcomes = area_outcomes(score, realised, residents, top_k=top_k)
        out[name] = audit_disparity(
            outcomes, values, grouping=f"protected ({name})", attribute=attribute, bins=bins, band=band,
            min_areas=min_areas,
        )  # fmt: skip
    return out


def measurement_summary(
    truth: pd.DataFrame,
    groups: pd.Series,
    residents: pd.Series,
    *,
    top_k: float,
    band: tuple[float, float] = BAND,
) -> dict[str, Any]:
    """Recording bias per group and category, and the flag shift, as JSON-ready records."""
    bias = recording_bias(truth, groups, residents, band)
    shift = flag_shift(truth, groups, residents, top_k=top_k)
    return {
        "recording_bias": _records(bias),
        "flag_shift": _records(shift),
        "biased_cells": int((bias["verdict"] != "ok").sum()),
    }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts (NaN as None)."""
    return [
        {
            str(k): (
                None if isinstance(v, float) and np.isnan(v) else (v.item() if hasattr(v, "item") else v)
            )
            for k, v in row.items()
        }
        for row in frame.to_dict(orient="records")
    ]
