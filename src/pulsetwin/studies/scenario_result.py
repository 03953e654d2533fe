"""Scenario results: the outcome tables, the plain-words summary and the JSON form of a simulated scenario.

The simulation (:mod:`pulsetwin.studies.scenario`) hands over per-run outcomes of both arms, keyed
``<arm>.<outcome>``; this module reduces them to arm means and the distribution of the paired difference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pulsetwin.studies.scenario_spec import Arm, ScenarioSpec

OUTCOMES = ("offences", "recorded", "patrol")
METRICS = ("patrol_gini", "lock_in", "misallocation", "exposure_disparity")


@dataclass(frozen=True)
class ScenarioResult:
    """Outcome distributions of a scenario against its baseline.

    Attributes
    ----------
    areas
        One row per area and outcome (``offences``, ``recorded``, ``patrol``, totals over the horizon):
        ``area_code, outcome, baseline_mean, scenario_mean, diff_mean, diff_q05, diff_q95``.
    metrics
        One row per loop metric (per-period means): ``metric, baseline_mean, scenario_mean, diff_mean,
        diff_q05, diff_q95``.
    summary
        Plain-words summary of what is and is not known.
    """

    spec: ScenarioSpec
    runs: int
    seed: int
    areas: pd.DataFrame
    metrics: pd.DataFrame
    summary: list[str] = field(default_factory=list)


def summarise(spec: ScenarioSpec, merged: Mapping[str, np.ndarray], codes: list[str], runs: int) -> list[str]:
    """Plain-words lines: what was simulated, what the runs show, and what they cannot know."""
    unit = spec.freq.words
    source = "the twin truth" if spec.base_rates == "truth" else "recorded counts"
    lines = [
        f"Scenario '{spec.name}': {runs} paired runs of {spec.periods} {unit} in {len(codes)} areas, "
        f"category '{spec.category}', base rates from {source}.",
        f"Baseline: {_arm_words(spec.baseline)}. Scenario: {_arm_words(spec.scenario)}.",
    ]
    for intervention in spec.scenario.interventions:
        lines.append(
            f"You stated: {intervention.describe()}. The tool drew each run's effect uniformly in that "
            "range; it did not estimate it, and the results hold only as far as the stated range does."
        )
    for outcome, label in (("offences", "expected offences"), ("recorded", "recorded incidents")):
        diff = merged[f"scenario.{outcome}"].sum(axis=1) - merged[f"baseline.{outcome}"].sum(axis=1)
        base = merged[f"baseline.{outcome}"].sum(axis=1).mean()
        q05, q95 = np.quantile(diff, [0.05, 0.95])
        lines.append(
            f"Total {label} over the horizon: {diff.mean():+.1f} against a baseline of {base:.1f} "
            f"(90% of runs between {q05:+.1f} and {q95:+.1f})."
        )
    if not spec.scenario.interventions and spec.deterrence == 0:
        lines.append(
            "No intervention and no deterrence: offences are the same in both arms. Differences in recorded "
            "incidents come from where patrols look, not from more or less crime."
        )
    lines.extend(
        [
            "Known: what follows from the stated rates, detection assumptions and effect ranges, with the "
            "spread of chance over the runs.",
            "Not known: whether the stated effects hold; displacement to other areas or categories; trends "
            "and seasonality (rates are constant over the horizon); reporting changes caused by patrols.",
        ]
    )
    if spec.base_rates == "observed":
        lines.append(
            "Base rates are recorded counts, which already carry past patrol and reporting patterns; they "
            "are not the true amount of crime."
        )
    return lines


def result_payload(result: ScenarioResult) -> dict[str, Any]:
    """JSON-ready form of a result (spec echo, summary, tables as records)."""
    spec = result.spec
    return {
        "name": spec.name,
        "category": spec.category,
        "freq": spec.freq,
        "periods": spec.periods,
        "runs": result.runs,
        "seed": result.seed,
        "baseline": _arm_words(spec.baseline),
        "scenario": _arm_words(spec.scenario),
        "interventions": [i.describe() for i in spec.scenario.interventions],
        "summary": result.summary,
        "metrics": result.metrics.to_dict(orient="records"),
        "areas": result.areas.to_dict(orient="records"),
    }


def area_table(merged: Mapping[str, np.ndarray], codes: list[str]) -> pd.DataFrame:
    """Per area and outcome: arm means and the distribution of the paired difference."""
    frames = []
    for outcome in OUTCOMES:
        base, scen = merged[f"baseline.{outcome}"], merged[f"scenario.{outcome}"]
        diff = scen - base
        q05, q95 = np.quantile(diff, [0.05, 0.95], axis=0)
        frames.append(
            pd.DataFrame(
                {
                    "area_code": codes,
                    "outcome": outcome,
                    "baseline_mean": base.mean(axis=0),
                    "scenario_mean": scen.mean(axis=0),
                    "diff_mean": diff.mean(axis=0),
                    "diff_q05": q05,
                    "diff_q95": q95,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def metric_table(merged: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Per loop metric: arm means and the distribution of the paired difference."""
    rows = []
    for metric in METRICS:
        if f"baseline.{metric}" not in merged:
            continue
        base, scen = merged[f"baseline.{metric}"], merged[f"scenario.{metric}"]
        diff = scen - base
        q05, q95 = np.quantile(diff, [0.05, 0.95])
        rows.append([metric, base.mean(), scen.mean(), diff.mean(), q05, q95])
    columns = ["metric", "baseline_mean", "scenario_mean", "diff_mean", "diff_q05", "diff_q95"]
    return pd.DataFrame(rows, columns=columns)


def _arm_words(arm: Arm) -> str:
    """E.g. ``top_k patrol (k=10), naive learner``."""
    extra = f", epsilon={arm.policy.epsilon:g}" if arm.policy.kind == "top_k_explore" else ""
    return f"{arm.policy.kind} patrol (k={arm.policy.k:g}{extra}), {arm.learner} learner"
