"""Scenario specs are validated strictly; the Monte-Carlo core gives paired, reproducible differences."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from pulsetwin.exceptions import SchemaError
from pulsetwin.studies.scenario import (
    base_rates_from_frames,
    check_covariates,
    exposure_from_frames,
    run_scenario,
)
from pulsetwin.studies.scenario_spec import load_spec, parse_spec

EXAMPLE = Path(__file__).parents[3] / "examples" / "scenario_patrol_topk.yaml"
CODES = [f"BU091701{n:02d}" for n in range(6)]
RATES = [1.0, 2.0, 0.5, 4.0, 1.0, 0.0]


def _spec(**changes: object) -> dict[str, object]:
    spec: dict[str, object] = {
        "name": "test",
        "category": "burglary_residential",
        "periods": 8,
        "runs": 20,
        "seed": 3,
        "detection": {"report_rate": 1.0, "discovery_rate": 0.5},
        "baseline": {"policy": {"kind": "uniform", "k": 2}},
        "scenario": {"policy": {"kind": "top_k", "k": 2}},
    }
    spec.update(changes)
    return spec


@pytest.fixture
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Six buurten (one without incidents) and ten weeks of counts equal to RATES."""
    areas = pd.DataFrame(
        {
            "area_code": ["GM0917", *CODES],
            "name": ["Heerlen", *CODES],
            "level": ["gemeente"] + ["buurt"] * 6,
            "parent_code": ["", *["GM0917"] * 6],
            "geometry": "POINT (0 0)",
        }
    )
    weeks = pd.date_range("2024-01-01", periods=10, freq="W-MON")
    rows = [
        (code, week, "W", "burglary_residential", int(rate), "police")
        for code, rate in zip(CODES[:5], [1, 2, 0, 4, 1], strict=True)
        for week in weeks
    ]
    incidents = pd.DataFrame(
        rows, columns=["area_code", "period_start", "freq", "category", "count", "source"]
    )
    incidents.loc[(incidents["area_code"] == CODES[2]) & (incidents.index % 2 == 0), "count"] = 1
    return areas, incidents


def test_the_example_spec_parses() -> None:
    spec = load_spec(EXAMPLE)
    assert spec.scenario.policy.kind == "top_k"
    assert spec.scenario.interventions[0].low == pytest.approx(-0.15)


def test_an_intervention_without_effect_range_is_refused(tmp_path: Path) -> None:
    spec = _spec(
        scenario={"policy": {"kind": "top_k", "k": 2}, "interventions": [{"kind": "rate", "areas": "all"}]}
    )
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    with pytest.raises(SchemaError, match="never invents effect sizes") as error:
        load_spec(path)
    assert "spec.yaml" in str(error.value)
    assert "scenario.interventions[0].effect" in str(error.value)


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"periods": 0}, "periods"),
        ({"freq": "D"}, "freq"),
        ({"colour": "red"}, "colour"),
        ({"baseline": {"policy": {"kind": "nearest", "k": 2}}}, "baseline.policy.kind"),
        ({"baseline": {"policy": {"kind": "top_k", "k": 1.5}}}, "baseline.policy"),
        ({"scenario": {}}, "scenario"),
        ({"scenario": {"learner": "oracle"}}, "scenario.learner"),
        ({"detection": {"deterrence": 1.5}}, "detection.deterrence"),
        (
            {
                "scenario": {
                    "interventions": [{"kind": "rate", "areas": "all", "effect": {"low": 0.1, "high": 0}}]
                }
            },
            "scenario.interventions[0].effect",
        ),
        (
            {
                "scenario": {
                    "interventions": [{"kind": "rate", "areas": "all", "effect": {"low": -2, "high": 0}}]
                }
            },
            "scenario.interventions[0].effect.low",
        ),
    ],
)
def test_bad_specs_name_the_key(changes: dict[str, object], where: str) -> None:
    with pytest.raises(SchemaError) as error:
        parse_spec(_spec(**changes), file="s.yaml")
    assert f"column '{where}'" in str(error.value)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nperiods: [1,\n", encoding="utf-8")
    with pytest.raises(SchemaError, match=r"broken\.yaml"):
        load_spec(path)


def test_base_rates_are_mean_recorded_counts_with_zero_for_quiet_areas(
    frames: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    areas, incidents = frames
    rates = base_rates_from_frames(parse_spec(_spec()), areas, incidents)
    assert rates.index.tolist() == CODES
    np.testing.assert_allclose(rates.to_numpy(), [1.0, 2.0, 0.5, 4.0, 1.0, 0.0])


def test_base_rates_skip_withheld_counts(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    areas, incidents = frames
    incidents = incidents.astype({"count": "Int64"})
    incidents.loc[(incidents["area_code"] == CODES[3]) & (incidents.index % 2 == 1), "count"] = pd.NA
    rates = base_rates_from_frames(parse_spec(_spec()), areas, incidents)
    assert rates[CODES[3]] == pytest.approx(4.0)


def test_a_category_missing_from_the_store_is_refused(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    areas, incidents = frames
    with pytest.raises(SchemaError, match="violence"):
        base_rates_from_frames(parse_spec(_spec(category="violence")), areas, incidents)


def test_truth_rates_need_a_truth_table(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    areas, incidents = frames
    with pytest.raises(SchemaError, match="truth"):
        base_rates_from_frames(parse_spec(_spec(base_rates="truth")), areas, incidents, None)


def test_policy_only_scenario_changes_where_patrols_look_not_offences() -> None:
    rates = pd.Series(RATES, index=CODES)
    result = run_scenario(parse_spec(_spec()), rates, scheduler="serial")
    offences = result.areas[result.areas["outcome"] == "offences"]
    np.testing.assert_allclose(offences["diff_mean"], 0.0, atol=1e-12)
    patrol = result.areas[result.areas["outcome"] == "patrol"].set_index("area_code")
    assert patrol.loc[CODES[3], "diff_mean"] > 0  # top-k sends patrols to the busiest area
    np.testing.assert_allclose(patrol["baseline_mean"], 8 * 2 / 6)
    assert "No intervention" in " ".join(result.summary)


def test_a_point_rate_effect_scales_offences_in_its_areas_only() -> None:
    rates = pd.Series(RATES, index=CODES)
    spec = parse_spec(
        _spec(
            scenario={
                "interventions": [
                    {"kind": "rate", "areas": [CODES[1]], "effect": {"low": -0.5, "high": -0.5}}
                ]
            }
        )
    )
    result = run_scenario(spec, rates, scheduler="serial")
    offences = result.areas[result.areas["outcome"] == "offences"].set_index("area_code")
    assert offences.loc[CODES[1], "diff_mean"] == pytest.approx(-0.5 * 2.0 * 8)
    assert offences.drop(index=CODES[1])["diff_mean"].abs().max() == pytest.approx(0.0)
    assert "You stated" in " ".join(result.summary)


def test_an_effect_range_gives_a_spread_inside_the_range() -> None:
    rates = pd.Series(RATES, index=CODES)
    spec = parse_spec(
        _spec(
            scenario={
                "interventions": [{"kind": "rate", "areas": "all", "effect": {"low": -0.4, "high": 0.0}}]
            }
        )
    )
    result = run_scenario(spec, rates, runs=200, scheduler="serial")
    row = result.areas[
        (result.areas["outcome"] == "offences") & (result.areas["area_code"] == CODES[3])
    ].iloc[0]
    base = 4.0 * 8
    assert -0.4 * base <= row["diff_q05"] < row["diff_mean"] < row["diff_q95"] <= 0.0
    assert row["diff_mean"] == pytest.approx(-0.2 * base, rel=0.1)


def test_unknown_intervention_areas_are_refused() -> None:
    rates = pd.Series(RATES, index=CODES)
    spec = parse_spec(
        _spec(
            scenario={
                "interventions": [{"kind": "rate", "areas": ["BU99999999"], "effect": {"low": 0, "high": 0}}]
            }
        )
    )
    with pytest.raises(SchemaError, match="BU99999999"):
        run_scenario(spec, rates, scheduler="serial")


def test_results_do_not_depend_on_where_tasks_run() -> None:
    rates = pd.Series(RATES, index=CODES)
    spec = parse_spec(_spec())
    serial = run_scenario(spec, rates, runs=30, chunk_size=10, scheduler="serial")
    pooled = run_scenario(spec, rates, runs=30, chunk_size=10, scheduler="local")
    pd.testing.assert_frame_equal(serial.areas, pooled.areas)
    pd.testing.assert_frame_equal(serial.metrics, pooled.metrics)


def test_covariate_interventions_need_a_known_covariate() -> None:
    spec = parse_spec(
        _spec(
            scenario={
                "interventions": [
                    {
                        "kind": "covariate",
                        "variable": "lighting",
                        "areas": "all",
                        "change": 1.0,
                        "effect_per_unit": {"low": -0.1, "high": 0.0},
                    }
                ]
            }
        )
    )
    covariates = pd.DataFrame({"area_code": CODES, "year": 2024, "variable": "population", "value": 100.0})
    with pytest.raises(SchemaError, match="lighting"):
        check_covariates(spec, covariates)
    point = spec.scenario.interventions[0]
    np.testing.assert_allclose(point.multiplier(np.array([-0.1])), np.exp(-0.1))


def test_exposure_disparity_is_measured_when_asked() -> None:
    spec = parse_spec(_spec(exposure={"attribute": "group_share", "population": "population"}))
    covariates = pd.DataFrame({"area_code": CODES, "year": 2024, "variable": "population", "value": 100.0})
    protected = pd.DataFrame(
        {
            "area_code": CODES,
            "year": 2024,
            "attribute": "group_share",
            "value": [0.1, 0.1, 0.1, 0.9, 0.1, 0.1],
        }
    )
    population, share = exposure_from_frames(spec, covariates, protected)
    result = run_scenario(
        spec, pd.Series(RATES, index=CODES), scheduler="serial", population=population, group_share=share
    )
    row = result.metrics.set_index("metric").loc["exposure_disparity"]
    assert row["baseline_mean"] == pytest.approx(1.0)
    assert row["scenario_mean"] > 1.0  # top-k patrols the busiest area, where the group lives
