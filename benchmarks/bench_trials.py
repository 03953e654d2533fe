"""Do the trial's estimators keep their promises? Simulated trials on the heerlen twin and the independent city.

For each city a forecast run (``--model``, default the 12-month mean ``naive_mean_year``) is made at ``ORIGIN`` as
``pulsetwin forecast`` makes one, keeping its model's forecasts at its backtest fold, and the example trial spec
is designed on it as a cluster, a crossover and a stepped-wedge trial (eligible buurten, blocks or steps, the
dispersion measured on the fold forecasts, the stated power). Then, per setting, many trials are simulated,
each with a fresh allocation by the design's own procedure, and analysed with the registered estimators. The
trial period is drawn by each city's own generating process:

- heerlen: the twin's self-exciting process branched at ``ORIGIN`` (:mod:`pulsetwin.twin.branch` through
  :func:`pulsetwin.trials.testbed.simulate_counts`): chains of the primary category start at the true rate
  ratio times their rate in treated cells, at ``1 + displacement`` times in buurten next to treated ones;
- independent city: its truth (the mean given its AR(1) latent state) times the same factors, observed as
  negative-binomial counts with the city's own size for the category.

Measured per setting: coverage of the 90 % interval of the true rate ratio (target 85-95 %), rejection rate of
the 5 % randomisation test under no effect (target <= 7 %) and at the powered effect vs the design's stated
power (target within +-0.10), and the share of trials in which displacement is detected (randomisation test of
the buffer next to treated vs next to control buurten at 5 %, positive change) with and without planted
displacement, and how often the WDQ is interpretable.

Trials run in chunks on the executor's process pool (:func:`pulsetwin.executor.map_tasks`), round by round over
all settings so every setting has about as many trials when ``--deadline`` (UTC ``HH:MM``) stops the run; the
JSON says how many ran.

Run:  .venv/bin/python benchmarks/bench_trials.py [--trials 200] [--deadline 22:25] [--workers 2] [--model glm]
      (writes benchmarks/results/trials.json)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pulsetwin.evaluation.runs import run_forecast
from pulsetwin.evaluation.splits import RollingOrigin
from pulsetwin.executor import map_tasks
from pulsetwin.store.database import Store
from pulsetwin.trials.allocation import Scheme
from pulsetwin.trials.design import TrialDesign, design_trial
from pulsetwin.trials.displacement import Adjacency, assess_displacement
from pulsetwin.trials.estimate import randomisation_p, rate_ratio
from pulsetwin.trials.spec import PowerSpec, load_spec
from pulsetwin.trials.testbed import simulate_counts, trial_edges
from pulsetwin.twin.replay import TwinProcess, replay_twin

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "trials.json"
ORIGIN = pd.Timestamp("2022-07-01")
PERIODS = 6
CHUNK = 20
"""Trials per task; the chunk shares one pool of re-drawn allocations (independent of its trials)."""
DESIGNS = ("cluster", "crossover", "stepped_wedge")


@dataclass(frozen=True)
class Setting:
    """One row of the table: the true rate ratio and the planted displacement."""

    name: str
    effect: float
    displacement: float


@dataclass(frozen=True)
class World:
    """How a city's trial period is drawn: the twin's branched process, or the independent city's truth + NB."""

    codes: np.ndarray
    category: str
    process: TwinProcess | None = None
    edges: np.ndarray | None = None
    mu: np.ndarray | None = None
    """(periods, buurten) truth of the category (independent city)."""
    size: float = np.inf

    def draw(self, treated: np.ndarray, buffer: np.ndarray, setting: Setting,
             rng: np.random.Generator) -> np.ndarray:  # fmt: skip
        """Counts of the category, shape (periods, buurten), ``treated`` (periods, buurten), ``buffer`` (buurten,)."""
        if self.process is not None and self.edges is not None:
            counts = simulate_counts(self.process, self.edges, self.category, treated, buffer, setting.effect,
                                     setting.displacement, rng)  # fmt: skip
            return counts[:, [c.slug for c in self.process.cats].index(self.category), :]
        assert self.mu is not None
        mean = (
            self.mu
            * np.where(treated, setting.effect, 1.0)
            * np.where(buffer, 1.0 + setting.displacement, 1.0)
        )
        if np.isfinite(self.size):
            mean = rng.gamma(self.size, mean / self.size)
        return rng.poisson(mean)


@dataclass(frozen=True)
class Chunk:
    """Trials ``first`` to ``first + count - 1`` of one setting (picklable task of the pool)."""

    key: tuple[str, str, str]
    world: World
    units: pd.DataFrame
    scheme: Scheme
    nb_size: float
    alpha: float
    setting: Setting
    first: int
    count: int
    draws: int
    adjacency: Adjacency | None
    before: pd.Series | None


def run_chunk(chunk: Chunk) -> dict[str, Any]:
    """Simulate and analyse the chunk's trials; sums of covered, rejected, displaced and interpretable."""
    cpu = time.process_time()
    units, scheme, world = chunk.units, chunk.scheme, chunk.world
    position = pd.Index(world.codes).get_indexer(units["area_code"])
    cells = "period_start" in units
    period = scheme.period_index(units)
    k = np.tile(np.arange(PERIODS), len(units) // PERIODS) if cells else None
    expected = units["expected"].to_numpy(dtype=float)
    pool = scheme.redraw(units, chunk.draws, seed=10_000 + chunk.first)
    sums = {"trials": 0, "covered": 0, "rejected": 0, "displaced": 0, "interpretable": 0}
    estimates = []
    for trial in range(chunk.first, chunk.first + chunk.count):
        rng = np.random.default_rng(np.random.SeedSequence([trial, 10]))
        treated = scheme.draw(units, rng)
        mask = np.zeros((PERIODS, world.codes.size), dtype=bool)
        if cells:
            mask[k[treated], position[treated]] = True
        else:
            mask[:, position[treated]] = True
        buffer = np.zeros(world.codes.size, dtype=bool)
        if chunk.adjacency is not None and chunk.setting.displacement:
            near = chunk.adjacency.buffers(treated)[0][0]
            buffer[pd.Index(world.codes).get_indexer(chunk.adjacency.codes[near])] = True
        counts = world.draw(mask, buffer, chunk.setting, rng)
        y = counts[k, position] if cells else counts[:, position].sum(axis=0)
        y = np.asarray(y, dtype=float)
        estimate = rate_ratio(
            y, expected, treated, units["block"], size=chunk.nb_size, level=0.9, periods=period
        )
        estimates.append(estimate.estimate)
        sums["trials"] += 1
        sums["covered"] += estimate.lower <= chunk.setting.effect <= estimate.upper
        sums["rejected"] += randomisation_p(y, expected, treated, pool, period) <= chunk.alpha
        if chunk.adjacency is not None and chunk.before is not None:
            after = pd.Series(counts.sum(axis=0), index=world.codes)
            moved = assess_displacement(chunk.before, after, chunk.adjacency, treated, pool)
            sums["interpretable"] += moved["wdq"] is not None
            sums["displaced"] += moved["p_value"] <= chunk.alpha and moved["buffer_log_change"] > 0
    return {"key": chunk.key, **sums, "log_rr": [float(np.log(e)) for e in estimates],
            "cpu_seconds": time.process_time() - cpu}  # fmt: skip


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


def city_world(
    city: str, tables: dict[str, pd.DataFrame], category: str, periods: list[pd.Timestamp]
) -> World:
    """The generating process of the city's trial period."""
    if city == "heerlen":
        process = replay_twin("heerlen", seed=3, years=2).process
        return World(
            process.codes.astype(str), category, process=process, edges=trial_edges(process, periods, "M")
        )
    from independent_city import DEFAULT

    truth = tables["truth"]
    truth = truth[(truth["category"] == category) & pd.to_datetime(truth["period_start"]).isin(periods)]
    mu = truth.pivot_table(index="period_start", columns="area_code", values="intensity")
    size = next(c.size for c in DEFAULT.categories if c.slug == category)
    return World(mu.columns.to_numpy(dtype=str), category, mu=mu.to_numpy(dtype=float), size=float(size))


def forecast_run(store: Store, model: str) -> str:
    """A forecast run of ``model`` from ``ORIGIN`` for ``PERIODS`` months made as ``pulsetwin forecast`` makes one
    (one backtest fold: the two years leave a year of training before it), so it keeps its model's forecasts at
    the fold, which the design measures the between-buurt dispersion on; returns its run id."""
    design = RollingOrigin(freq="M", horizon=PERIODS, folds=1)
    return run_forecast(store, design, model=model, origin=ORIGIN, scheduler="serial", actor="bench").run_id


def build_city(city: str, folder: Path, model: str) -> tuple[Path, str, dict[str, pd.DataFrame]]:
    """The city's store (incidents up to ``ORIGIN``) with its forecast run and that run's id; the full tables
    for the truth."""
    tables = city_tables(city)
    incidents = tables["incidents"]
    tables["incidents"] = incidents[pd.to_datetime(incidents["period_start"]) < ORIGIN]
    path = folder / f"{city}.duckdb"
    with Store(path) as store:
        store.import_frames(tables, source=f"bench:{city}")
        run_id = forecast_run(store, model)
    return path, run_id, tables


def design_on(path: Path, run_id: str, category: str, simulations: int, kind: str) -> TrialDesign:
    """The example trial's design (``kind`` cluster, crossover or stepped wedge) on the city's forecast run."""
    spec = load_spec(ROOT / "examples" / "trial.yaml")
    blocks = spec.design.blocks if kind == "cluster" else ()
    steps = PERIODS - 1 if kind == "stepped_wedge" else None
    spec = replace(spec, outcome=replace(spec.outcome, category=category, secondary=()),
                   design=replace(spec.design, type=kind, blocks=blocks, steps=steps),
                   power=PowerSpec(spec.power.effect, spec.power.target, simulations))  # fmt: skip
    with Store(path, read_only=True) as store:
        return design_trial(store, run_id, spec)


def before_totals(tables: dict[str, pd.DataFrame], category: str) -> pd.Series:
    """Counts of ``category`` per buurt over the ``PERIODS`` months before ``ORIGIN`` (displacement's before)."""
    monthly = tables["incidents"][tables["incidents"]["freq"] == "M"]
    before = sorted(pd.to_datetime(monthly["period_start"]).unique())[-PERIODS:]
    rows = monthly[(monthly["category"] == category) & pd.to_datetime(monthly["period_start"]).isin(before)]
    return rows.groupby("area_code")["count"].sum()


def design_task(task: tuple[Path, str, str, int, str]) -> TrialDesign:
    """One design, as a task of the pool (the power simulation is the costly part)."""
    return design_on(*task)


def prepare(trials: int, draws: int, simulations: int, folder: Path, workers: int,
            model: str) -> tuple[list[Chunk], list[dict[str, Any]]]:  # fmt: skip
    """Every chunk of every setting, and one row of design facts per setting."""
    chunks: list[Chunk] = []
    rows: list[dict[str, Any]] = []
    cities = (("heerlen", "violence"), ("independent", "vandalism"))
    built = {city: build_city(city, folder, model) for city, _ in cities}
    start = time.process_time()
    tasks = [(*built[city][:2], category, simulations, kind) for city, category in cities for kind in DESIGNS]
    designs = iter(map_tasks(design_task, tasks, workers=workers))
    print(f"designs done ({time.process_time() - start:.0f} CPU s in main)", flush=True)
    for city, category in cities:
        tables = built[city][2]
        world = None
        for kind in DESIGNS:
            design = next(designs)
            world = world or city_world(city, tables, category, list(design.periods))
            effect = design.spec.power.effect
            settings = [Setting("no effect", 1.0, 0.0), Setting("powered effect", effect, 0.0)]
            adjacency = before = None
            if kind == "cluster":
                settings.append(Setting("effect + displacement 0.5", effect, 0.5))
                adjacency = Adjacency.build(tables["areas"], design.units["area_code"].tolist())
                before = before_totals(tables, category)
            dispersion = design.dispersion
            print(f"{city} {kind}: {design.units['area_code'].nunique()} buurten, stated power "
                  f"{design.power.power:.3f} at RR {effect}, sizes within {dispersion.within if dispersion else 0:.3g} "
                  f"total {dispersion.total if dispersion else 0:.3g} between {design.power.between:.3g}, MDE "
                  f"{design.power.mde}; {dispersion.note if dispersion else 'no dispersion'}", flush=True)  # fmt: skip
            for setting in settings:
                key = (city, kind, setting.name)
                rows.append({"city": city, "design": kind, "category": category, "setting": setting.name,
                             "true_rate_ratio": setting.effect, "displacement": setting.displacement,
                             "units": int(design.units["area_code"].nunique()), "rows": len(design.units),
                             "blocks": int(design.units["block"].nunique()), "nb_size": design.power.size,
                             "between_size": design.power.between, "stated_power": design.power.power,
                             "stated_power_range": design.power.power_range,
                             "dispersion_source": dispersion.source if dispersion else None,
                             "mde": design.power.mde, "planted_displacement_tested": design.power.displacement,
                             "stated_displacement_power": design.power.displacement_power})  # fmt: skip
                for first in range(0, trials, CHUNK):
                    chunks.append(Chunk(key, world, design.units.drop(columns="treated"), design.scheme,
                                        design.power.size, design.spec.alpha, setting, first,
                                        min(CHUNK, trials - first), draws, adjacency, before))  # fmt: skip
    return chunks, rows


def deadline_at(text: str | None) -> float | None:
    """Epoch seconds of today's ``HH:MM`` UTC, or None."""
    if text is None:
        return None
    hour, minute = (int(part) for part in text.split(":"))
    now = dt.datetime.now(dt.UTC)
    return now.replace(hour=hour, minute=minute, second=0, microsecond=0).timestamp()


def run(chunks: list[Chunk], workers: int, deadline: float | None) -> tuple[list[dict[str, Any]], float]:
    """Run the chunks round by round (chunk ``r`` of every setting in round ``r``), stopping before a round
    that would end after ``deadline``; results and the CPU seconds of the workers."""
    rounds: dict[int, list[Chunk]] = {}
    for chunk in chunks:
        rounds.setdefault(chunk.first, []).append(chunk)
    results: list[dict[str, Any]] = []
    cpu = 0.0
    began = time.time()
    for number, (first, batch) in enumerate(sorted(rounds.items())):
        took = (time.time() - began) / number if number else 0.0
        if deadline is not None and time.time() + took > deadline:
            print(f"deadline: stopping before round {number + 1} (trials {first}+)", flush=True)
            break
        done = map_tasks(run_chunk, batch, workers=workers)
        results.extend(done)
        cpu += sum(d["cpu_seconds"] for d in done)
        print(f"round {number + 1}/{len(rounds)}: trials {first}-{first + CHUNK - 1} of {len(batch)} settings done, "
              f"{time.time() - began:.0f} s wall, {cpu:.0f} CPU s in workers, load {os.getloadavg()[0]:.1f}",
              flush=True)  # fmt: skip
    return results, cpu


def summarise(rows: list[dict[str, Any]], results: list[dict[str, Any]]) -> None:
    """Add the measured rates to each setting's row."""
    for row in rows:
        mine = [r for r in results if r["key"] == (row["city"], row["design"], row["setting"])]
        n = sum(r["trials"] for r in mine)
        row["trials"] = n
        for name in ("covered", "rejected", "displaced", "interpretable"):
            row[name] = sum(r[name] for r in mine) / n if n else float("nan")
        logs = [v for r in mine for v in r["log_rr"]]
        row["mean_log_rr"] = float(np.mean(logs)) if logs else float("nan")
        if row["design"] != "cluster":
            row["displaced"] = row["interpretable"] = float("nan")
        rejected = row["rejected"]
        row["verdict"] = (
            f"size {'ok' if rejected <= 0.07 else 'TOO HIGH'}" if row["true_rate_ratio"] == 1.0
            else f"power {'ok' if abs(rejected - row['stated_power']) <= 0.10 else 'OFF'}"
        ) + f", coverage {'ok' if 0.85 <= row['covered'] <= 0.95 else 'OFF'}"  # fmt: skip
        stated = row["stated_displacement_power"]
        if row["displacement"] and stated is not None:
            row["verdict"] += f", displacement {'ok' if abs(row['displaced'] - stated) <= 0.10 else 'OFF'}"


def stated_range(ends: tuple[float, float] | None) -> str:
    """The design's power range for the table (``–`` when it states none)."""
    return "–" if ends is None else f"{ends[0]:.2f}-{ends[1]:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--trials", type=int, default=200, help="Trials per setting (default 200).")
    parser.add_argument("--draws", type=int, default=499, help="Re-drawn allocations per randomisation test.")
    parser.add_argument("--simulations", type=int, default=400, help="Simulations of the design's power.")
    parser.add_argument("--workers", type=int, default=2, help="Processes of the pool.")
    parser.add_argument("--deadline", help="UTC HH:MM: start no round that would end later.")
    parser.add_argument("--model", default="naive_mean_year", help="Model of the forecast run trials use.")
    args = parser.parse_args()
    began, cpu = time.time(), time.process_time()
    with tempfile.TemporaryDirectory() as tmp:
        chunks, rows = prepare(args.trials, args.draws, args.simulations, Path(tmp), args.workers, args.model)
    results, worker_cpu = run(chunks, args.workers, deadline_at(args.deadline))
    summarise(rows, results)
    header = ("city", "design", "setting", "RR", "units", "trials", "stated power", "stated range", "rejects",
              "cover 90%", "stated displ. power", "displ. found", "WDQ ok", "verdict")  # fmt: skip
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        print(f"| {r['city']} | {r['design']} | {r['setting']} | {r['true_rate_ratio']} | {r['units']} | "
              f"{r['trials']} | {r['stated_power']:.3f} | {stated_range(r['stated_power_range'])} | "
              f"{r['rejected']:.3f} | {r['covered']:.3f} | "
              f"{'–' if r['stated_displacement_power'] is None else format(r['stated_displacement_power'], '.3f')} | "
              f"{r['displaced']:.3f} | {r['interpretable']:.3f} | {r['verdict']} |")  # fmt: skip
    meta = {"trials_requested": args.trials, "draws": args.draws, "simulations": args.simulations,
            "workers": args.workers, "deadline": args.deadline, "model": args.model,
            "wall_seconds": time.time() - began,
            "cpu_seconds_main": time.process_time() - cpu, "cpu_seconds_workers": worker_cpu,
            "load_average": os.getloadavg()[0], "cpus": os.cpu_count()}  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({**meta, "rows": rows}, indent=2), encoding="utf-8")
    print(f"written to {RESULTS} ({meta['wall_seconds']:.0f} s wall, load {meta['load_average']:.1f})")


if __name__ == "__main__":
    main()
