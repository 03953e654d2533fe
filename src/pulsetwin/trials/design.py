"""Design a trial on a forecast run: eligible buurten, blocks, the seeded allocation and the simulated power."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from pulsetwin.exceptions import ParameterError, SchemaError, StoreError
from pulsetwin.features.spatial import has_geometry
from pulsetwin.store.database import Store
from pulsetwin.store.fold_forecasts import read_fold_forecasts
from pulsetwin.store.runs import RunKind, RunRecord
from pulsetwin.trials.allocation import Scheme, allocation_hash, build_blocks
from pulsetwin.trials.displacement import Adjacency
from pulsetwin.trials.power import (
    Dispersion,
    FoldTotals,
    Power,
    displacement_power,
    measure_dispersion,
    simulate_power,
)
from pulsetwin.trials.spec import TrialSpec

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class TrialDesign:
    """Everything the pre-registration states: the units with block, forecast and arm, the periods, power."""

    spec: TrialSpec
    run: RunRecord
    periods: tuple[pd.Timestamp, ...]
    units: pd.DataFrame
    """``area_code, wijk, expected, block, treated`` per eligible buurt; a crossover and a stepped wedge have one
    row per buurt and period (sorted by buurt, then period), with ``period_start``."""
    power: Power
    outcome_rows_at_design: int
    dispersion: Dispersion | None = None
    """What the power simulation drew from (None for a design read back from elsewhere)."""

    @property
    def scheme(self) -> Scheme:
        """How the design randomises (also for the re-draws of the analysis)."""
        return Scheme.of(self.spec.to_dict()["design"], len(self.periods))

    @property
    def trial_id(self) -> str:
        """The trial's id: the spec's name."""
        return self.spec.name

    @property
    def allocation_hash(self) -> str:
        """SHA-256 of the allocation (see :func:`allocation_hash`)."""
        return allocation_hash(unit_keys(self.units), self.units["treated"].to_numpy())


def unit_keys(units: pd.DataFrame) -> list[str]:
    """One key per randomised unit: the buurt code, or ``code@period`` in a crossover."""
    if "period_start" not in units:
        return units["area_code"].astype(str).tolist()
    starts = pd.to_datetime(units["period_start"]).dt.date.astype(str)
    return (units["area_code"].astype(str) + "@" + starts).tolist()


def cell_units(units: pd.DataFrame, forecasts: pd.DataFrame, periods: tuple[pd.Timestamp, ...],
               category: str) -> pd.DataFrame:  # fmt: skip
    """One row per eligible buurt and trial period with that period's forecast, sorted by buurt then period;
    each buurt is a block (crossover, stepped wedge)."""
    rows = forecasts[(forecasts["category"] == category) & forecasts["period_start"].isin(periods)]
    means = rows.groupby(["area_code", "period_start"])["mean"].sum().rename("expected").reset_index()
    cells = units.drop(columns="expected").merge(means, on="area_code", how="left")
    cells = cells.sort_values(["area_code", "period_start"], kind="stable").reset_index(drop=True)
    return cells.assign(block=cells["area_code"])


def trial_periods(run: RunRecord, forecasts: pd.DataFrame, count: int) -> tuple[pd.Timestamp, ...]:
    """The first ``count`` forecast periods of the run; refuses a run whose horizon is shorter."""
    starts = sorted(pd.to_datetime(forecasts["period_start"]).unique())
    if len(starts) < count:
        raise ParameterError(
            f"the trial lasts {count} periods but run '{run.run_id}' forecasts only {len(starts)}. "
            f"Fix: forecast with --horizon {count} or more, or shorten outcome.periods"
        )
    return tuple(pd.Timestamp(s) for s in starts[:count])


def eligible_units(store: Store, forecasts: pd.DataFrame, periods: tuple[pd.Timestamp, ...], share: float,
                   category: str) -> pd.DataFrame:  # fmt: skip
    """The top ``share`` of buurten by forecast total of ``category`` over ``periods`` (at least 4)."""
    rows = forecasts[(forecasts["category"] == category) & forecasts["period_start"].isin(periods)]
    areas = store.read("areas")
    buurten = areas.loc[areas["level"] == "buurt", ["area_code", "parent_code"]]
    totals = rows.groupby("area_code")["mean"].sum()
    totals = totals[totals.index.isin(buurten["area_code"]) & (totals > 0)].sort_values(
        ascending=False, kind="stable"
    )
    count = math.ceil(share * len(totals))
    if count < 4:
        raise ParameterError(
            f"eligible.top_share {share} of {len(totals)} forecast buurten gives {count} buurten; a randomised "
            "trial needs at least 4. Fix: raise eligible.top_share"
        )
    chosen = totals.iloc[:count]
    wijk = buurten.set_index("area_code")["parent_code"].reindex(chosen.index)
    return pd.DataFrame({"area_code": chosen.index.astype(str), "wijk": wijk.fillna("none").to_numpy(),
                         "expected": chosen.to_numpy(dtype=float)})  # fmt: skip


def history_table(store: Store, run: RunRecord, category: str, codes: list[str]) -> pd.DataFrame:
    """Counts of ``category`` per buurt (rows) and period (columns) before the run's origin."""
    incidents = store.read("incidents", where={"freq": run.freq, "category": category})
    origin = pd.Timestamp(str(run.origin))
    before = incidents[pd.to_datetime(incidents["period_start"]) < origin]
    table = before.pivot_table(index="area_code", columns="period_start", values="count", aggfunc="sum")
    return table.reindex(codes).fillna(0.0)


def fold_totals(store: Store, run: RunRecord, category: str, history: pd.DataFrame) -> FoldTotals | None:
    """The run's forecasts of ``category`` at its last backtest fold and the counts recorded there, summed per
    buurt of ``history`` (:func:`history_table`: the fold lies before the run's origin, so its counts are
    there) that the fold forecasts; None when the run keeps no fold forecasts of the category (a run stored
    before PulseTwin kept them)."""
    rows = read_fold_forecasts(store, run.run_id)
    rows = rows[rows["category"] == category]
    if rows.empty:
        return None
    forecast = rows.groupby("area_code")["mean"].sum().reindex(history.index).fillna(0.0)
    starts = pd.DatetimeIndex(rows["period_start"].unique())
    observed = history.loc[:, pd.to_datetime(history.columns).isin(starts)].sum(axis=1)
    kept = (forecast > 0).to_numpy()
    return FoldTotals(observed.to_numpy(dtype=float)[kept], forecast.to_numpy(dtype=float)[kept], len(starts),
                      pd.Timestamp(rows["origin"].min()))  # fmt: skip


def _with_displacement(store: Store, run: RunRecord, spec: TrialSpec, forecasts: pd.DataFrame,
                       periods: tuple[pd.Timestamp, ...], units: pd.DataFrame, scheme: Scheme,
                       dispersion: Dispersion, power: Power) -> Power:  # fmt: skip
    """``power`` with the displacement test's simulated power added (unchanged when buurten have no geometry).

    Before: each buurt's counts over the periods just before the run's origin, as many as the trial lasts (as
    the analysis takes them); after: the run's forecast totals of the trial periods.
    """
    areas = store.read("areas")
    buurten = areas.loc[areas["level"] == "buurt", "area_code"].astype(str).tolist()
    if not has_geometry(areas, buurten):
        return power
    adjacency = Adjacency.build(areas, units["area_code"].tolist())
    codes = adjacency.codes.tolist()
    history = history_table(store, run, spec.outcome.category, codes)
    rows = forecasts[
        (forecasts["category"] == spec.outcome.category) & forecasts["period_start"].isin(periods)
    ]
    forecast = rows.groupby("area_code")["mean"].sum().reindex(codes).fillna(0.0).to_numpy(dtype=float)
    rate = displacement_power(
        units, scheme, adjacency, history.iloc[:, -len(periods) :].sum(axis=1).to_numpy(dtype=float), forecast,
        dispersion, displacement=spec.power.displacement, alpha=spec.alpha, simulations=spec.power.simulations,
        seed=spec.seed,
    )  # fmt: skip
    return replace(power, displacement=spec.power.displacement, displacement_power=rate)


def design_trial(store: Store, run_id: str, spec: TrialSpec) -> TrialDesign:
    """Compute the design of ``spec`` on forecast run ``run_id`` (nothing is written)."""
    if not NAME.match(spec.name):
        raise SchemaError(
            f"trial name '{spec.name}' must be 1-64 letters, digits, '-' or '_' (it becomes the trial id)",
            fix="rename the trial in the spec's name field",
        )
    run = store.get_run(run_id)
    if run.kind != RunKind.FORECAST or run.origin is None:
        raise ParameterError(f"run '{run_id}' is a {run.kind} run; a trial is designed on a forecast run")
    forecasts = store.read("forecasts", where={"run_id": run_id})
    category = spec.outcome.category
    if forecasts.empty or category not in set(forecasts["category"]):
        held = ", ".join(sorted(set(forecasts["category"]))) or "nothing"
        raise StoreError(
            f"run '{run_id}' holds no forecast of category '{category}' (it holds {held}). "
            "Fix: choose outcome.category among these, or forecast that category"
        )
    forecasts = forecasts.assign(period_start=pd.to_datetime(forecasts["period_start"]))
    periods = trial_periods(run, forecasts, spec.outcome.periods)
    units = eligible_units(store, forecasts, periods, spec.top_share, category)
    history = history_table(store, run, category, units["area_code"].tolist())
    dispersion = measure_dispersion(history, spec.outcome.periods, fold_totals(store, run, category, history))
    if spec.design.type == "cluster":
        units["block"] = build_blocks(units, spec.design.blocks).to_numpy()
    else:
        units = cell_units(units, forecasts, periods, category)
    scheme = Scheme.of(spec.to_dict()["design"], len(periods))
    units["treated"] = scheme.draw(units, np.random.default_rng(np.random.SeedSequence([spec.seed, 0])))
    power = simulate_power(
        units, scheme, dispersion, effect=spec.power.effect, alpha=spec.alpha, target=spec.power.target,
        simulations=spec.power.simulations, seed=spec.seed,
    )  # fmt: skip
    if spec.design.type == "cluster":
        power = _with_displacement(store, run, spec, forecasts, periods, units, scheme, dispersion, power)
    present = store.read("incidents", where={"freq": run.freq, "category": category,
                                              "area_code": units["area_code"].unique().tolist()})  # fmt: skip
    in_trial = int(pd.to_datetime(present["period_start"]).isin(periods).sum())
    return TrialDesign(spec, run, periods, units, power, in_trial, dispersion)
