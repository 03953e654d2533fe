"""Scenarios: a patrol policy and/or an intervention, simulated as Monte-Carlo runs against a baseline.

Both arms run the closed patrol loop (:mod:`pulsetwin.studies.loop`) from the same base rates and, run by run,
the same random seed (common random numbers), so a difference per area is the scenario's doing, not noise of
two unrelated draws. Effects of interventions are never invented: the spec must state a range for each, and
every run draws its effect uniformly inside that range.

YAML spec format (unknown keys are refused, so a typo cannot be ignored silently)::

    name: top-10 patrol against uniform patrol   # required, free text
    category: burglary_residential               # required: the incidents category that sets the base rates
    freq: W                                      # W (default) or M
    periods: 52                                  # required: horizon in periods
    runs: 200                                    # Monte-Carlo runs (default 200; --runs overrides)
    seed: 7                                      # default 0 (--seed overrides)
    base_rates: observed                         # observed (default): mean recorded count per period in the
                                                 # store; truth: the twin's truth table (offence_intensity)
    history_periods: 52                          # optional: only the last N periods set the base rates
    detection:                                   # optional
      report_rate: 1.0                           # recorded citizen reports per offence (default 1.0)
      discovery_rate: 0.0                        # recorded discoveries per offence at full patrol (default 0)
      deterrence: 0.0                            # relative drop of offences at full patrol (default 0: off)
    baseline:
      policy: {kind: uniform, k: 10}             # uniform | proportional | top_k | top_k_explore (+ epsilon)
      learner: naive                             # naive (default) | ipw | reported_only
    scenario:                                    # at least a policy, a learner or an intervention
      policy: {kind: top_k, k: 10}               # default: the baseline policy
      learner: naive                             # default: the baseline learner
      interventions:
        - kind: rate                             # change the offence rate of the category ...
          areas: [BU09170101, BU09170102]        # ... in these areas (or: all)
          effect: {low: -0.30, high: -0.05}      # relative change, REQUIRED, low <= high, low >= -1
        - kind: covariate                        # change a covariate ...
          variable: street_lighting              # ... that exists in the covariates table
          areas: all
          change: 0.1                            # by this much, in the covariate's own units
          effect_per_unit: {low: -0.5, high: 0}  # change of the log offence rate per unit, REQUIRED
    exposure:                                    # optional audit of resident exposure (audit-only data)
      attribute: migration_background_share     # a share in [0, 1] in the protected table
      population: population                     # covariate holding residents per area

Notes
-----
Common random numbers for scenario comparison: Law (2015), Simulation Modeling and Analysis, ch. 11. The
feedback loop follows Ensign et al. (2018).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from pulsetwin.exceptions import Location, SchemaError, bad_parameter
from pulsetwin.executor import map_tasks
from pulsetwin.metrics.allocation import exposure_disparity, gini, lock_in, misallocation
from pulsetwin.schema.params import REQUIRED, Integer, Number, Options, Rule, Text, check_param, read_key
from pulsetwin.schema.periods import Freq
from pulsetwin.studies.loop import LEARNERS, simulate_loop
from pulsetwin.studies.policies import POLICY_KINDS, Policy

OUTCOMES = ("offences", "recorded", "patrol")
METRICS = ("patrol_gini", "lock_in", "misallocation", "exposure_disparity")
_TOP_KEYS = {"name", "category", "freq", "periods", "runs", "seed", "base_rates", "history_periods"}
_TOP_KEYS |= {"detection", "baseline", "scenario", "exposure"}
FIX = "correct this key of the scenario spec (see examples/scenario_patrol_topk.yaml)"
RATE = Number(low=0.0, finite=True)
SHARE = Number(low=0.0, high=1.0, closed="left", finite=True)
FINITE = Number(finite=True)


@dataclass(frozen=True)
class Intervention:
    """One stated change: ``kind`` rate or covariate, in ``areas`` (None: all), with an effect range."""

    kind: str
    areas: tuple[str, ...] | None
    low: float
    high: float
    variable: str | None = None
    change: float = 1.0

    def multiplier(self, effect: np.ndarray) -> np.ndarray:
        """The offence-rate multiplier for drawn effects (relative change, or log-rate change per unit)."""
        return np.asarray(1.0 + effect if self.kind == "rate" else np.exp(effect * self.change))

    def describe(self) -> str:
        """Plain words, e.g. ``offence rate x (1 + [-0.3, -0.05]) in 2 areas``."""
        where = "all areas" if self.areas is None else f"{len(self.areas)} area(s)"
        if self.kind == "rate":
            return f"offence rate changed by {self.low:+.0%} to {self.high:+.0%} in {where}"
        return (
            f"covariate '{self.variable}' changed by {self.change:g}, stated to move the log offence rate by "
            f"{self.low:g} to {self.high:g} per unit, in {where}"
        )


@dataclass(frozen=True)
class Arm:
    """A policy and a learner; the scenario arm may add interventions."""

    policy: Policy
    learner: str = "naive"
    interventions: tuple[Intervention, ...] = ()


@dataclass(frozen=True)
class ScenarioSpec:
    """A parsed, validated scenario spec (see the module docstring for the YAML format)."""

    name: str
    category: str
    periods: int
    baseline: Arm
    scenario: Arm
    freq: Freq = Freq.W
    runs: int = 200
    seed: int = 0
    base_rates: str = "observed"
    history_periods: int | None = None
    report_rate: float = 1.0
    discovery_rate: float = 0.0
    deterrence: float = 0.0
    exposure: dict[str, str] | None = None
    file: str | None = None


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


@dataclass(frozen=True)
class ChunkTask:
    """A picklable batch of Monte-Carlo runs with its own seed."""

    spec: ScenarioSpec
    base_rates: np.ndarray
    targets: tuple[np.ndarray, ...]
    runs: int
    seed: np.random.SeedSequence
    population: np.ndarray | None = None
    group_share: np.ndarray | None = None


def load_spec(path: str | Path) -> ScenarioSpec:
    """Read and validate a YAML scenario spec."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise SchemaError(f"cannot read the spec: {error.strerror}", where=Location(file=file)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        row = mark.line + 1 if mark is not None else None
        raise SchemaError("valid YAML", where=Location(file=file, row=row), fix=str(error)) from None
    return parse_spec(data, file=file)


def parse_spec(data: object, *, file: str | None = None) -> ScenarioSpec:
    """Validate a spec mapping (as loaded from YAML) and return the typed spec."""
    top = _mapping(data, "", file)
    _refuse_unknown(top, _TOP_KEYS, "", file)
    name = _read(top, "name", Text(), file)
    category = _read(top, "category", Text(), file)
    freq = _read(top, "freq", Options(("W", "M")), file, default="W")
    base_rates = _read(top, "base_rates", Options(("observed", "truth")), file, default="observed")
    detection = _mapping(top.get("detection", {}), "detection", file)
    _refuse_unknown(detection, {"report_rate", "discovery_rate", "deterrence"}, "detection", file)
    baseline = _arm(top.get("baseline"), "baseline", None, file)
    scenario = _arm(top.get("scenario"), "scenario", baseline, file)
    if scenario == baseline:
        raise _spec_error(
            "a scenario that differs from the baseline (policy, learner or interventions)",
            file,
            "scenario",
            None,
        )
    exposure = top.get("exposure")
    if exposure is not None:
        exposure = _mapping(exposure, "exposure", file)
        _refuse_unknown(exposure, {"attribute", "population"}, "exposure", file)
        exposure = {
            key: _read(exposure, key, Text(), file, "exposure.") for key in ("attribute", "population")
        }
    history = top.get("history_periods")
    return ScenarioSpec(
        name=name,
        category=category,
        periods=_read(top, "periods", Integer(low=1), file),
        baseline=baseline,
        scenario=scenario,
        freq=Freq(freq),
        runs=_read(top, "runs", Integer(low=1), file, default=200),
        seed=_read(top, "seed", Integer(low=0), file, default=0),
        base_rates=str(base_rates),
        history_periods=None if history is None else _read(top, "history_periods", Integer(low=1), file),
        report_rate=float(_read(detection, "report_rate", RATE, file, "detection.", default=1.0)),
        discovery_rate=float(_read(detection, "discovery_rate", RATE, file, "detection.", default=0.0)),
        deterrence=float(_read(detection, "deterrence", SHARE, file, "detection.", default=0.0)),
        exposure=exposure,
        file=file,
    )


def base_rates_from_frames(
    spec: ScenarioSpec, areas: pd.DataFrame, incidents: pd.DataFrame, truth: pd.DataFrame | None = None
) -> pd.Series:
    """Offences per period and area that drive both arms, indexed by ``area_code``.

    ``observed``: the mean recorded count per period of the spec's category and frequency (sources summed;
    withheld counts skipped); areas of the same level without any incident get 0. ``truth``: the mean of the
    twin's ``offence_intensity`` (or ``intensity`` where absent).
    """
    where = Location(file=spec.file, column="category", value=spec.category)
    chosen = incidents[(incidents["category"] == spec.category) & (incidents["freq"] == spec.freq)]
    if chosen.empty:
        raise SchemaError(
            f"incidents of category '{spec.category}' with freq '{spec.freq}' in the store",
            where=where,
            fix="import them, or choose a category the store holds",
        )
    levels = areas.loc[areas["area_code"].isin(chosen["area_code"].unique()), "level"].unique()
    if len(levels) != 1:
        raise SchemaError(
            f"incident areas of one level that exist in the areas table (found levels {sorted(levels)})",
            where=where,
            fix="import the areas of the incidents, or use incidents of one level",
        )
    codes = areas.loc[areas["level"] == levels[0], "area_code"].sort_values().tolist()
    if spec.base_rates == "truth":
        return _truth_rates(spec, truth, codes)
    starts = np.sort(chosen["period_start"].unique())
    if spec.history_periods is not None:
        starts = starts[-spec.history_periods :]
        chosen = chosen[chosen["period_start"].isin(starts)]
    known = chosen.dropna(subset=["count"])
    per_cell = known.groupby(["area_code", "period_start"])["count"].sum()
    withheld = set(chosen["area_code"]) - set(known["area_code"])
    if withheld:
        raise SchemaError(
            f"at least one known count per area; only withheld counts for {sorted(withheld)[:5]}",
            where=where,
            fix="drop these areas from the incidents, or use base_rates: truth on a twin",
        )
    periods_known = known.groupby("area_code")["period_start"].nunique()
    total = per_cell.groupby(level="area_code").sum()
    rate = (total / periods_known.reindex(total.index)).reindex(codes, fill_value=0.0)
    return rate.astype(float).rename("rate")


def check_covariates(spec: ScenarioSpec, covariates: pd.DataFrame | None) -> None:
    """Refuse covariate interventions on variables the covariates table does not hold."""
    for n, intervention in enumerate(spec.scenario.interventions):
        if intervention.kind != "covariate":
            continue
        known = set() if covariates is None else set(covariates["variable"].unique())
        if intervention.variable not in known:
            raise SchemaError(
                f"a covariate the store holds (known: {', '.join(sorted(known)[:8]) or 'none'})",
                where=Location(
                    file=spec.file,
                    column=f"scenario.interventions[{n}].variable",
                    value=intervention.variable,
                ),
                fix="import the covariate, or correct its name",
            )


def exposure_from_frames(
    spec: ScenarioSpec, covariates: pd.DataFrame, protected: pd.DataFrame
) -> tuple[pd.Series, pd.Series]:
    """Residents per area (covariate) and the audited group's share (protected), latest year of each.

    Audit-only: the protected share is used to measure exposure, never fed to the loop's forecaster.
    """
    if spec.exposure is None:
        raise bad_parameter("spec", "exposure_from_frames", "a spec with an 'exposure' section", spec.name)
    population = _latest(covariates, spec.exposure["population"], spec.file, "exposure.population")
    share = _latest(protected, spec.exposure["attribute"], spec.file, "exposure.attribute")
    if share.lt(0).any() or share.gt(1).any():
        raise SchemaError(
            "a protected attribute that is a share in [0, 1]",
            where=Location(file=spec.file, column="exposure.attribute", value=spec.exposure["attribute"]),
        )
    return population, share


def _latest(frame: pd.DataFrame, variable: str, file: str | None, column: str) -> pd.Series:
    """The latest-year value per area of a long table's ``variable`` (``attribute`` for protected)."""
    key = "variable" if "variable" in frame.columns else "attribute"
    rows = frame[frame[key] == variable].dropna(subset=["value"])
    if rows.empty:
        raise SchemaError(
            f"rows of '{variable}' in the {'covariates' if key == 'variable' else 'protected'} table",
            where=Location(file=file, column=column, value=variable),
            fix="import them, or name another variable",
        )
    latest = rows.sort_values("year").groupby("area_code")["value"].last()
    return latest.astype(float)


def draw_multipliers(
    interventions: Sequence[Intervention], targets: Sequence[np.ndarray], runs: int, rng: np.random.Generator
) -> np.ndarray:
    """Offence-rate multipliers ``(runs, areas)``; each run draws each effect uniformly in its range."""
    areas = targets[0].size if targets else 0
    out = np.ones((runs, areas))
    for intervention, target in zip(interventions, targets, strict=True):
        effect = rng.uniform(intervention.low, intervention.high, size=(runs, 1))
        out *= np.where(target[None, :], intervention.multiplier(effect), 1.0)
    return out


def simulate_chunk(task: ChunkTask) -> dict[str, np.ndarray]:
    """Run one batch of paired baseline/scenario runs; return per-run outcomes and metrics."""
    spec = task.spec
    effect_seed, loop_seed = task.seed.spawn(2)
    areas = task.base_rates.size
    multipliers = (
        draw_multipliers(
            spec.scenario.interventions, task.targets, task.runs, np.random.default_rng(effect_seed)
        )
        if spec.scenario.interventions
        else np.ones((task.runs, areas))
    )
    out: dict[str, np.ndarray] = {}
    for arm_name, arm, rates in (
        ("baseline", spec.baseline, task.base_rates[None, None, :]),
        ("scenario", spec.scenario, (task.base_rates[None, :] * multipliers)[:, None, :]),
    ):
        result = simulate_loop(
            rates,
            periods=spec.periods,
            policy=arm.policy,
            learner=arm.learner,  # type: ignore[arg-type]
            runs=task.runs,
            report_rate=spec.report_rate,
            discovery_rate=spec.discovery_rate,
            deterrence=spec.deterrence,
            prior_counts=task.base_rates,
            seed=loop_seed,
        )
        out[f"{arm_name}.offences"] = result.offence_rate.sum(axis=1)
        out[f"{arm_name}.recorded"] = result.recorded.sum(axis=1).astype(float)
        out[f"{arm_name}.patrol"] = result.allocation.sum(axis=1)
        out[f"{arm_name}.patrol_gini"] = np.nanmean(gini(result.allocation), axis=1)
        out[f"{arm_name}.lock_in"] = (
            lock_in(result.flagged).mean(axis=1) if spec.periods > 1 else np.ones(task.runs)
        )
        out[f"{arm_name}.misallocation"] = np.nanmean(
            misallocation(result.allocation, result.offence_rate), axis=1
        )
        if task.population is not None and task.group_share is not None:
            disparity = exposure_disparity(result.allocation, task.population, task.group_share)
            out[f"{arm_name}.exposure_disparity"] = np.nanmean(disparity, axis=1)
    return out


def run_scenario(
    spec: ScenarioSpec,
    base_rates: pd.Series,
    *,
    runs: int | None = None,
    seed: int | None = None,
    scheduler: str | None = None,
    chunk_size: int = 25,
    population: pd.Series | None = None,
    group_share: pd.Series | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ScenarioResult:
    """Simulate ``runs`` paired Monte-Carlo runs through :func:`pulsetwin.executor.map_tasks`.

    The runs are cut into tasks of ``chunk_size`` runs, each with a seed spawned from ``seed``; the result
    depends on ``seed``, ``runs`` and ``chunk_size`` only, not on where the tasks ran. ``population`` and
    ``group_share`` (indexed by area code) switch on the exposure-disparity metric.
    """
    total = spec.runs if runs is None else runs
    root = spec.seed if seed is None else seed
    for name, value in (("runs", total), ("chunk_size", chunk_size)):
        check_param(name, "run_scenario", Integer(low=1, say="a positive integer"), value)
    codes = base_rates.index.astype(str).tolist()
    rates = base_rates.to_numpy(dtype=float)
    if rates.size < 2 or not np.all(np.isfinite(rates)) or np.any(rates < 0):
        raise bad_parameter("base_rates", "run_scenario", "at least two finite rates >= 0", rates.size)
    for arm in (spec.baseline, spec.scenario):
        if arm.policy.k > rates.size:
            raise _spec_error(
                f"a patrol budget k of at most the {rates.size} areas", spec.file, "policy.k", arm.policy.k
            )
    targets = tuple(_targets(i, codes, spec.file, n) for n, i in enumerate(spec.scenario.interventions))
    pop, share = _exposure_arrays(codes, population, group_share)
    sizes = [chunk_size] * (total // chunk_size) + ([total % chunk_size] if total % chunk_size else [])
    seeds = np.random.SeedSequence(root).spawn(len(sizes))
    tasks = [
        ChunkTask(spec, rates, targets, size, s, pop, share) for size, s in zip(sizes, seeds, strict=True)
    ]
    batches = _batches(tasks, 4 if progress is not None else 1)
    parts: list[dict[str, np.ndarray]] = []
    for batch in batches:
        parts.extend(map_tasks(simulate_chunk, batch, scheduler=scheduler))
        if progress is not None:
            progress(sum(t.runs for t in tasks[: len(parts)]), total)
    merged = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    return ScenarioResult(
        spec=spec,
        runs=total,
        seed=root,
        areas=_area_table(merged, codes),
        metrics=_metric_table(merged),
        summary=summarise(spec, merged, codes, total),
    )


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


def _area_table(merged: Mapping[str, np.ndarray], codes: list[str]) -> pd.DataFrame:
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


def _metric_table(merged: Mapping[str, np.ndarray]) -> pd.DataFrame:
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


def _batches(tasks: list[ChunkTask], count: int) -> list[list[ChunkTask]]:
    """Split tasks into up to ``count`` consecutive batches (for progress reports)."""
    size = max(1, math.ceil(len(tasks) / count))
    return [tasks[i : i + size] for i in range(0, len(tasks), size)]


def _targets(intervention: Intervention, codes: list[str], file: str | None, index: int) -> np.ndarray:
    """Boolean mask of the intervention's areas, refusing unknown codes."""
    if intervention.areas is None:
        return np.ones(len(codes), dtype=bool)
    unknown = sorted(set(intervention.areas) - set(codes))
    if unknown:
        raise _spec_error(
            "area codes of the simulated areas", file, f"scenario.interventions[{index}].areas", unknown[:5]
        )
    return np.isin(np.asarray(codes), np.asarray(intervention.areas))


def _exposure_arrays(
    codes: list[str], population: pd.Series | None, group_share: pd.Series | None
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Align population and group share to the simulated areas (both or neither)."""
    if population is None and group_share is None:
        return None, None
    if population is None or group_share is None:
        raise bad_parameter("population", "run_scenario", "given together with group_share", population)
    pop = population.reindex(codes)
    share = group_share.reindex(codes)
    missing = sorted(set(pop.index[pop.isna()]) | set(share.index[share.isna()]))
    if missing:
        raise bad_parameter(
            "population", "run_scenario", "a population and group share for every area", missing[:5]
        )
    return pop.to_numpy(dtype=float), share.to_numpy(dtype=float)


def _truth_rates(spec: ScenarioSpec, truth: pd.DataFrame | None, codes: list[str]) -> pd.Series:
    """Mean true offence intensity per area from the twin's truth table."""
    if truth is None or truth.empty:
        raise SchemaError(
            "a truth table (only a twin has one) for base_rates: truth",
            where=Location(file=spec.file, column="base_rates", value="truth"),
            fix="use base_rates: observed, or import a twin",
        )
    rows = truth[truth["category"] == spec.category]
    if "freq" in rows and rows["freq"].notna().any():
        rows = rows[rows["freq"] == spec.freq]
    if rows.empty:
        raise SchemaError(
            f"truth rows of category '{spec.category}' and freq '{spec.freq}'",
            where=Location(file=spec.file, column="category", value=spec.category),
        )
    if spec.history_periods is not None:
        starts = np.sort(rows["period_start"].unique())[-spec.history_periods :]
        rows = rows[rows["period_start"].isin(starts)]
    values = rows["intensity"]
    if "offence_intensity" in rows:
        values = rows["offence_intensity"].fillna(rows["intensity"])
    rate = values.groupby(rows["area_code"]).mean().reindex(codes, fill_value=0.0)
    return rate.astype(float).rename("rate")


def _arm(data: object, path: str, default: Arm | None, file: str | None) -> Arm:
    """Parse the baseline or scenario arm."""
    if data is None and default is None:
        raise _spec_error("a mapping with a policy", file, path, None)
    arm = _mapping(data if data is not None else {}, path, file)
    allowed = {"policy", "learner"} | ({"interventions"} if default is not None else set())
    _refuse_unknown(arm, allowed, path, file)
    if "policy" in arm:
        policy = _policy(arm["policy"], f"{path}.policy", file)
    elif default is not None:
        policy = default.policy
    else:
        raise _spec_error("a policy, e.g. {kind: uniform, k: 10}", file, f"{path}.policy", None)
    learner = arm.get("learner", default.learner if default is not None else "naive")
    if learner not in LEARNERS:
        raise _spec_error(f"one of {', '.join(LEARNERS)}", file, f"{path}.learner", learner)
    raw = arm.get("interventions", [])
    if not isinstance(raw, list):
        raise _spec_error("a list of interventions", file, f"{path}.interventions", raw)
    interventions = tuple(
        _intervention(item, f"{path}.interventions[{n}]", file) for n, item in enumerate(raw)
    )
    return Arm(policy=policy, learner=str(learner), interventions=interventions)


def _policy(data: object, path: str, file: str | None) -> Policy:
    """Parse ``{kind, k, epsilon}`` into a Policy, turning parameter errors into spec errors."""
    mapping = _mapping(data, path, file)
    _refuse_unknown(mapping, {"kind", "k", "epsilon"}, path, file)
    kind = mapping.get("kind")
    if kind not in POLICY_KINDS:
        raise _spec_error(f"one of {', '.join(POLICY_KINDS)}", file, f"{path}.kind", kind)
    try:
        return Policy(kind, mapping.get("k"), mapping.get("epsilon", 0.0))  # type: ignore[arg-type]
    except (ValueError, TypeError) as error:
        raise _spec_error(str(error), file, path, dict(mapping)) from None


def _intervention(data: object, path: str, file: str | None) -> Intervention:
    """Parse one intervention; refuse it without a user-supplied effect range."""
    item = _mapping(data, path, file)
    kind = item.get("kind")
    if kind not in ("rate", "covariate"):
        raise _spec_error("'rate' or 'covariate'", file, f"{path}.kind", kind)
    range_key = "effect" if kind == "rate" else "effect_per_unit"
    allowed = {"kind", "areas", range_key} | ({"variable", "change"} if kind == "covariate" else set())
    _refuse_unknown(item, allowed, path, file)
    if range_key not in item:
        raise SchemaError(
            f"an effect range you supply: '{range_key}: {{low: ..., high: ...}}'. PulseTwin never invents "
            "effect sizes",
            where=Location(file=file, column=f"{path}.{range_key}"),
            fix=f"add '{range_key}: {{low: -0.2, high: -0.05}}' (your numbers) from a study or a stated "
            "assumption, and say where it comes from",
        )
    effect = _mapping(item[range_key], f"{path}.{range_key}", file)
    _refuse_unknown(effect, {"low", "high"}, f"{path}.{range_key}", file)
    low = float(_read(effect, "low", FINITE, file, f"{path}.{range_key}."))
    high = float(_read(effect, "high", FINITE, file, f"{path}.{range_key}."))
    if low > high:
        raise _spec_error("low <= high", file, f"{path}.{range_key}", {"low": low, "high": high})
    if kind == "rate" and low < -1:
        raise _spec_error(
            "a relative change >= -1 (-1 removes all offences)", file, f"{path}.effect.low", low
        )
    areas = item.get("areas", "all")
    if areas != "all" and (
        not isinstance(areas, list) or not areas or not all(isinstance(a, str) for a in areas)
    ):
        raise _spec_error("'all' or a non-empty list of area codes", file, f"{path}.areas", areas)
    if kind == "rate":
        return Intervention("rate", None if areas == "all" else tuple(areas), low, high)
    variable = _read(item, "variable", Text(), file, f"{path}.")
    change = float(_read(item, "change", FINITE, file, f"{path}."))
    return Intervention("covariate", None if areas == "all" else tuple(areas), low, high, variable, change)


def _mapping(data: object, path: str, file: str | None) -> Mapping[str, Any]:
    """Refuse anything but a mapping with string keys."""
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise _spec_error("a mapping of keys to values", file, path or "(top level)", data)
    return data


def _refuse_unknown(data: Mapping[str, Any], allowed: set[str], path: str, file: str | None) -> None:
    """Refuse keys the format does not know (typos must not be ignored)."""
    unknown = sorted(set(data) - allowed)
    if unknown:
        where = f"{path}.{unknown[0]}" if path else unknown[0]
        raise _spec_error(f"one of the keys {', '.join(sorted(allowed))}", file, where, unknown[0])


def _read(
    data: Mapping[str, Any],
    key: str,
    rule: Rule,
    file: str | None,
    prefix: str = "",
    *,
    default: object = REQUIRED,
) -> Any:
    """One key of the spec, checked by ``rule`` (see :func:`pulsetwin.schema.params.read_key`)."""
    return read_key(data, key, rule, file=file, fix=FIX, prefix=prefix, default=default)


def _spec_error(expected: str, file: str | None, column: str, value: object) -> SchemaError:
    """A spec error naming the file and the key path."""
    return SchemaError(expected, where=Location(file=file, column=column, value=value))
