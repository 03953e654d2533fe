"""The truth table against what was recorded and what happened, and the observation model."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pulsetwin.twin import TwinCity
from pulsetwin.twin.parameters import CATEGORIES

KEYS = ["area_code", "period_start", "freq", "category"]


def _joined(city: TwinCity) -> pd.DataFrame:
    return city.tables["incidents"].merge(city.tables["truth"], on=KEYS, validate="one_to_one")


def test_recorded_totals_match_intensity(city: TwinCity) -> None:
    # The truth is E[N | history before the period], so N - intensity sums to a mean-zero martingale. Its
    # variance exceeds the Poisson one by at most the cascade factor 1 / (1 - n)^2 <= 2.1; allow 4 such sd.
    joined = _joined(city)
    totals = joined.groupby(["freq", "category"])[["count", "intensity"]].sum()
    z = (totals["count"] - totals["intensity"]) / np.sqrt(2.1 * totals["intensity"])
    assert (z.abs() < 4).all(), z


def test_pearson_dispersion_near_one(city: TwinCity) -> None:
    joined = _joined(city)
    pearson = (
        ((joined["count"] - joined["intensity"]) ** 2 / joined["intensity"]).groupby(joined["freq"]).mean()
    )
    assert pearson.between(0.85, 1.5).all(), pearson


def test_offence_totals_match_offence_intensity(city: TwinCity) -> None:
    truth = city.tables["truth"]
    monthly = truth[truth["freq"] == "M"].groupby("category")["offence_intensity"].sum()
    happened = city.offences.groupby("category", observed=True).size()
    z = (happened - monthly) / np.sqrt(2.1 * monthly)
    assert (z.abs() < 4).all(), z


def test_truth_ratio_is_the_recording_probability(city: TwinCity) -> None:
    truth = city.tables["truth"]
    ratio = (truth["intensity"] / truth["offence_intensity"]).groupby(truth["category"]).agg(["min", "max"])
    for cat in CATEGORIES:
        if cat.observation == "report":
            assert np.allclose(ratio.loc[cat.slug], cat.record_prob)
        else:
            assert ratio.loc[cat.slug, "max"] > 1.5 * ratio.loc[cat.slug, "min"]


def test_reported_share_matches_reporting_rate(city: TwinCity) -> None:
    share = city.offences.groupby("category", observed=True)["recorded"].agg(["mean", "size"])
    for cat in CATEGORIES:
        if cat.observation == "report":
            mean, size = share.loc[cat.slug]
            se = np.sqrt(cat.record_prob * (1 - cat.record_prob) / size)
            assert abs(mean - cat.record_prob) < 4 * se, cat.slug


def test_police_records_follow_patrol(city: TwinCity) -> None:
    offences = city.offences.merge(
        city.latent[["area_code", "patrol"]].astype({"area_code": "category"}), on="area_code"
    )
    high = offences["patrol"] > offences["patrol"].quantile(0.67)
    low = offences["patrol"] < offences["patrol"].quantile(0.33)
    for slug in ("drugs", "public_order"):
        mine = offences["category"] == slug
        assert (
            offences.loc[mine & high, "recorded"].mean() > 1.5 * offences.loc[mine & low, "recorded"].mean()
        )


def test_offspring_share_recovers_branching_ratio(city: TwinCity) -> None:
    # In a stationary Hawkes process a fraction n of all events are offspring.
    offspring = (
        (city.offences["generation"] > 0)
        .groupby(city.offences["category"], observed=True)
        .agg(["mean", "size"])
    )
    for cat in CATEGORIES:
        mean, size = offspring.loc[cat.slug]
        se = np.sqrt(cat.branching * (1 - cat.branching) / size)
        assert abs(mean - cat.branching) < 4 * se + 0.01, cat.slug
