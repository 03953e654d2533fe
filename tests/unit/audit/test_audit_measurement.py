"""Measurement bias on the Lum & Isaac scenario: naive flags fail the exposure band, mitigated ones pass."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pulsetwin.audit.bias_scenario import lum_isaac_scenario
from pulsetwin.audit.disparity import quantile_groups
from pulsetwin.audit.measurement import (
    citizen_only,
    detection_rates,
    flag_shift,
    mitigation_comparison,
    recording_bias,
    reweight,
)

BAND = (0.8, 1.25)


@pytest.fixture(scope="module")
def scenario() -> dict[str, object]:
    sc = lum_isaac_scenario(n_areas=4000, n_periods=12, seed=11)
    tables = sc.tables
    values = tables["protected"].set_index("area_code")["value"]
    cov = tables["covariates"]
    residents = cov[cov["variable"] == "AantalInwoners"].set_index("area_code")["value"]
    return {"tables": tables, "values": values, "residents": residents, "origin": sc.origin}


def test_naive_fails_and_mitigated_pass_the_exposure_band(scenario: dict[str, object]) -> None:
    tables = scenario["tables"]
    assert isinstance(tables, dict)
    result = mitigation_comparison(
        tables["incidents"], tables["truth"], scenario["values"], scenario["residents"],  # type: ignore[arg-type]
        origin=scenario["origin"], top_k=0.2, bins=4, band=BAND,  # type: ignore[arg-type]
    )  # fmt: skip
    naive = result["naive"].table["exposure_ratio"]
    assert "exposure" in result["naive"].out_of_band
    assert naive.iloc[-1] > 2.0, "the highest-share group is flagged far more often"
    assert np.all(np.diff(naive.to_numpy()) > 0), "exposure rises with the protected share"
    for name in ("citizen_only", "reweighted"):
        ratios = result[name].table["exposure_ratio"].to_numpy()
        assert "exposure" not in result[name].out_of_band, (name, ratios)
        assert np.all((ratios >= BAND[0]) & (ratios <= BAND[1]))


def test_recording_bias_finds_police_categories_only(scenario: dict[str, object]) -> None:
    tables = scenario["tables"]
    assert isinstance(tables, dict)
    groups = quantile_groups(scenario["values"], 4)  # type: ignore[arg-type]
    bias = recording_bias(tables["truth"], groups, scenario["residents"])  # type: ignore[arg-type]
    citizen = bias[bias["category"] == "burglary_residential"]
    police = bias[bias["category"] == "drugs"].sort_values("group")
    assert (citizen["verdict"] == "ok").all()
    np.testing.assert_allclose(citizen["recording_ratio"], 0.5)
    assert police["verdict"].iloc[0] == "under" and police["verdict"].iloc[-1] == "over"
    # equal true rates across groups: the true rate per 1,000 residents differs by sampling only
    true = bias.groupby("category")["true_per_1000"].agg(["min", "max"])
    assert (true["max"] / true["min"] < 1.15).all()
    shift = flag_shift(tables["truth"], groups, scenario["residents"], top_k=0.2)  # type: ignore[arg-type]
    assert shift["exposure_shift"].iloc[-1] > 0.1 > -0.1 > shift["exposure_shift"].iloc[0]


def test_reweight_recovers_uniform_detection() -> None:
    incidents = pd.DataFrame(
        {"area_code": ["A", "B", "A", "B"], "category": ["drugs", "drugs", "burglary_residential"] * 1 + ["vandalism"],
         "count": pd.array([10, 40, 5, 5], dtype="Int64")}
    )  # fmt: skip
    detection = pd.Series(
        [0.2, 0.8], index=pd.MultiIndex.from_tuples([("A", "drugs"), ("B", "drugs")], names=["area_code", "category"])
    )  # fmt: skip
    out = reweight(incidents, detection)
    np.testing.assert_allclose(out["count"], [25.0, 25.0, 5.0, 5.0])
    assert citizen_only(incidents)["category"].tolist() == ["burglary_residential", "vandalism"]


def test_detection_rates_from_truth() -> None:
    truth = pd.DataFrame(
        {
            "area_code": ["A", "A"],
            "category": ["drugs", "drugs"],
            "period_start": pd.to_datetime(["2024-01-01", "2024-02-01"]),
            "intensity": [1.0, 3.0],
            "offence_intensity": [4.0, 4.0],
        }
    )
    assert detection_rates(truth).loc[("A", "drugs")] == pytest.approx(0.5)
