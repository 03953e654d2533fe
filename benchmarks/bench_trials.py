"""Do the trial's estimators keep their promises? Simulated trials on the heerlen twin and the independent city.

For each city a forecast run (12-month historical mean) is made at ``ORIGIN`` and the example trial spec is
designed on it as a cluster and as a crossover trial (eligible buurten, blocks, NB dispersion, stated power).
Then, per setting, many trials are
simulated with the twin test bed (:func:`pulsetwin.trials.testbed.simulate_trial_outcomes`: truth intensity x
the true rate ratio in treated buurten, x (1 + displacement) in adjacent buurten, Poisson counts), each with a
fresh allocation by the design's own procedure, and analysed with the registered estimators:

- coverage of the 90 % interval of the true rate ratio (target 85-95 %),
- rejection rate of the 5 % randomisation test under no effect (target <= 7 %),
- rejection rate at the powered effect vs the design's stated power (target within +-0.10),
- share of trials in which displacement is detected (randomisation test of the buffer next to treated vs
  next to control buurten at 5 %, positive change), with and without planted displacement; and how often the
  WDQ is interpretable (treated buurten improved).

Run:  .venv/bin/python benchmarks/bench_trials.py [--quick]     (writes benchmarks/results/trials.json)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from pulsetwin.store.database import Store
from pulsetwin.trials.allocation import draw_allocation, redraw_allocations
from pulsetwin.trials.design import TrialDesign, design_trial
from pulsetwin.trials.displacement import Adjacency, assess_displacement
from pulsetwin.trials.estimate import randomisation_p, rate_ratio
from pulsetwin.trials.spec import PowerSpec, load_spec
from pulsetwin.trials.testbed import simulate_trial_outcomes

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "trials.json"
ORIGIN = pd.Timestamp("2022-07-01")
PERIODS = 6


@dataclass(frozen=True)
class Setting:
    """One row of the table: the true rate ratio and the planted displacement."""

    name: str
    effect: float
    displacement: float


def city_tables(city: str) -> dict[str, pd.DataFrame]:
    """The canonical tables of the heerlen twin or of the independent city (monthly, two years)."""
    if city == "heerlen":
        from pulsetwin.twin.generate import generate_twin

        tables = dict(generate_twin("heerlen", seed=3, years=2).tables)
        del tables["events"]
        return tables
    sys.path.insert(0, str(ROOT / "tests"))
    from independent_city import generate_city

    return dict(generate_city(n_areas=100, years=2, freq="M", seed=7).tables)


def forecast_run(store: Store, incidents: pd.DataFrame) -> None:
    """A 12-month historical-mean forecast from ``ORIGIN`` for ``PERIODS`` months, stored as run ``fc``."""
    monthly = incidents[(incidents["freq"] == "M") & (pd.to_datetime(incidents["period_start"]) < ORIGIN)]
    recent = monthly[pd.to_datetime(monthly["period_start"]) >= ORIGIN - pd.DateOffset(months=12)]
    mean = recent.groupby(["area_code", "category"])["count"].mean().clip(lower=0.01)
    starts = pd.DataFrame({"period_start": pd.date_range(ORIGIN, periods=PERIODS, freq="MS").date})
    frame = mean.rename("mean").reset_index().merge(starts, how="cross")
    store.save_run(
        "forecast", model="naive_hist", params={}, run_id="fc", origin=ORIGIN, freq="M", horizon=PERIODS
    )
    frame = frame.assign(run_id="fc", model="naive_hist", q05=0.0, q50=frame["mean"].round(),
                         q95=frame["mean"] + 2 * np.sqrt(frame["mean"]))  # fmt: skip
    store.import_frames({"forecasts": frame}, source="run:fc")


def build_city(city: str, folder: Path) -> tuple[Path, dict[str, pd.DataFrame]]:
    """The city's store (incidents up to ``ORIGIN``) with its forecast run; the full tables for the truth."""
    tables = city_tables(city)
    incidents = tables["incidents"]
    tables["incidents"] = incidents[pd.to_datetime(incidents["period_start"]) < ORIGIN]
    path = folder / f"{city}.duckdb"
    with Store(path) as store:
        store.import_frames(tables, source=f"bench:{city}")
        forecast_run(store, tables["incidents"])
    return path, tables


def design_on(path: Path, category: str, simulations: int, kind: str) -> TrialDesign:
    """The example trial's design (``kind`` cluster or crossover) on the city's forecast run."""
    spec = load_spec(ROOT / "examples" / "trial.yaml")
    blocks = spec.design.blocks if kind == "cluster" else ()
    spec = replace(spec, outcome=replace(spec.outcome, category=category, secondary=()),
                   design=replace(spec.design, type=kind, blocks=blocks),
                   power=PowerSpec(spec.power.effect, spec.power.target, simulations))  # fmt: skip
    with Store(path, read_only=True) as store:
        return design_trial(store, "fc", spec)


def run_crossover(design: TrialDesign, tables: dict[str, pd.DataFrame], setting: Setting, trials: int,
                  draws: int) -> dict[str, float]:  # fmt: skip
    """Simulate ``trials`` crossover trials: coverage and rejection rate (displacement is not assessable)."""
    units = design.units
    codes = units["area_code"].to_numpy()
    starts = pd.to_datetime(units["period_start"]).to_numpy()
    cells = pd.MultiIndex.from_arrays([codes, starts])
    category = design.spec.outcome.category
    truth = tables["truth"]
    truth = truth[(truth["category"] == category) & (truth["freq"] == "M")]
    expected = units["expected"].to_numpy()
    share = design.spec.design.treated_share
    covered = rejected = 0
    for trial in range(trials):
        treated = draw_allocation(
            units["block"], share, np.random.default_rng(np.random.SeedSequence([trial, 10]))
        )
        outcomes = simulate_trial_outcomes(
            truth, tables["areas"], treated=sorted(set(codes[treated])), units=sorted(set(codes)),
            category=category, periods=list(design.periods), freq="M", effect=setting.effect, seed=10_000 + trial,
            treated_cells=list(zip(codes[treated], starts[treated], strict=True)),
        )  # fmt: skip
        keys = pd.MultiIndex.from_arrays([outcomes["area_code"], pd.to_datetime(outcomes["period_start"])])
        y = (
            pd.Series(outcomes["count"].to_numpy(), index=keys)
            .reindex(cells)
            .fillna(0.0)
            .to_numpy(dtype=float)
        )
        estimate = rate_ratio(y, expected, treated, units["block"], size=design.power.size, level=0.9)
        covered += estimate.lower <= setting.effect <= estimate.upper
        redraws = redraw_allocations(units["block"], share, draws, seed=trial)
        rejected += randomisation_p(y, expected, treated, redraws) <= design.spec.alpha
    nan = float("nan")
    return {"coverage_90": covered / trials, "rejection_5pct": rejected / trials, "displacement_detected": nan,
            "wdq_interpretable": nan}  # fmt: skip


def run_setting(design: TrialDesign, tables: dict[str, pd.DataFrame], setting: Setting, trials: int,
                draws: int) -> dict[str, float]:  # fmt: skip
    """Simulate ``trials`` trials of ``setting``; coverage, rejection and WDQ-displacement rates."""
    units = design.units
    codes = units["area_code"].tolist()
    category = design.spec.outcome.category
    truth = tables["truth"]
    truth = truth[(truth["category"] == category) & (truth["freq"] == "M")]
    areas = tables["areas"]
    periods = list(design.periods)
    monthly = tables["incidents"][tables["incidents"]["freq"] == "M"]
    before = sorted(pd.to_datetime(monthly["period_start"]).unique())[-PERIODS:]
    history = monthly[
        (monthly["category"] == category) & pd.to_datetime(monthly["period_start"]).isin(before)
    ]
    before_totals = history.groupby("area_code")["count"].sum()
    expected = units["expected"].to_numpy()
    adjacency = Adjacency.build(areas, codes)
    covered = rejected = displaced = interpretable = 0
    for trial in range(trials):
        treated = draw_allocation(units["block"], design.spec.design.treated_share,
                                  np.random.default_rng(np.random.SeedSequence([trial, 10])))  # fmt: skip
        treated_codes = [c for c, t in zip(codes, treated, strict=True) if t]
        outcomes = simulate_trial_outcomes(
            truth, areas, treated=treated_codes, units=codes, category=category, periods=periods, freq="M",
            effect=setting.effect, displacement=setting.displacement, seed=10_000 + trial,
        )  # fmt: skip
        after_totals = outcomes.groupby("area_code")["count"].sum()
        y = after_totals.reindex(codes).fillna(0.0).to_numpy(dtype=float)
        estimate = rate_ratio(y, expected, treated, units["block"], size=design.power.size, level=0.9)
        covered += estimate.lower <= setting.effect <= estimate.upper
        redraws = redraw_allocations(units["block"], design.spec.design.treated_share, draws, seed=trial)
        rejected += randomisation_p(y, expected, treated, redraws) <= design.spec.alpha
        moved = assess_displacement(before_totals, after_totals, adjacency, treated, redraws)
        interpretable += moved["wdq"] is not None
        displaced += moved["p_value"] <= design.spec.alpha and moved["buffer_log_change"] > 0
    return {"coverage_90": covered / trials, "rejection_5pct": rejected / trials,
            "displacement_detected": displaced / trials, "wdq_interpretable": interpretable / trials}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="40 trials per setting instead of 200 (a check)."
    )
    args = parser.parse_args()
    trials, draws, simulations = (40, 199, 100) if args.quick else (200, 499, 400)
    cities = (("heerlen", "violence"), ("independent", "vandalism"))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for city, category in cities:
            start = time.perf_counter()
            path, tables = build_city(city, Path(tmp))
            for kind in ("cluster", "crossover"):
                design = design_on(path, category, simulations, kind)
                effect = design.spec.power.effect
                settings = [Setting("no effect", 1.0, 0.0), Setting("powered effect", effect, 0.0)]
                if kind == "cluster":
                    settings.append(Setting("effect + displacement 0.5", effect, 0.5))
                for setting in settings:
                    run = run_setting if kind == "cluster" else run_crossover
                    measured = run(design, tables, setting, trials, draws)
                    rows.append({"city": city, "design": kind, "category": category, "setting": setting.name,
                                 "true_rate_ratio": setting.effect, "displacement": setting.displacement,
                                 "units": len(design.units), "blocks": int(design.units["block"].nunique()),
                                 "nb_size": design.power.size, "stated_power": design.power.power,
                                 "trials": trials, **measured, "seconds": time.perf_counter() - start})  # fmt: skip
    header = (
        "city",
        "design",
        "setting",
        "RR",
        "units",
        "stated power",
        "rejects",
        "cover 90%",
        "displacement found",
        "WDQ ok",
    )
    print(" | ".join(header))
    for r in rows:
        print(f"{r['city']} | {r['design']} | {r['setting']} | {r['true_rate_ratio']} | {r['units']} | "
              f"{r['stated_power']:.2f} | "
              f"{r['rejection_5pct']:.3f} | {r['coverage_90']:.3f} | {r['displacement_detected']:.3f} | "
              f"{r['wdq_interpretable']:.3f}")  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"quick": args.quick, "rows": rows}, indent=2), encoding="utf-8")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
