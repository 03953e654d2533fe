"""Scenarios: a patrol policy and/or an intervention, simulated as Monte-Carlo runs against a baseline.

Both arms run the closed patrol loop (:mod:`pulsetwin.studies.loop`) from the same base rates and, run by run,
the same random seed (common random numbers), so a difference per area is the scenario's doing, not noise of
two unrelated draws. Effects of interventions are never invented: the spec must state a range for each, and
every run draws its effect uniformly inside that range.

The spec format lives in :mod:`pulsetwin.studies.scenario_spec`; the result tables and summary in
:mod:`pulsetwin.studies.scenario_result`.

Notes
-----
Common random numbers for scenario comparison: Law (2015), Simulation Modeling and Analysis, ch. 11. The
feedback loop follows Ensign et al. (2018).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pulsetwin.exceptions import Location, SchemaError, bad_parameter
from pulsetwin.executor import map_tasks
from pulsetwin.metrics.allocation import exposure_disparity, gini, lock_in, misallocation
from pulsetwin.schema.params import Integer, check_param
from pulsetwin.studies.loop import simulate_loop
from pulsetwin.studies.scenario_result import ScenarioResult, area_table, metric_table, summarise
from pulsetwin.studies.scenario_spec import Intervention, ScenarioSpec, spec_error


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
            raise spec_error(
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
        areas=area_table(merged, codes),
        metrics=metric_table(merged),
        summary=summarise(spec, merged, codes, total),
    )


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
        raise spec_error(
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
