"""Speed and memory of the hotspot models per origin, and of the ETAS fit, on seeded simulated cities.

Per grid size (10 k, 50 k, 200 k cells of 50 m; about 10,000 target events a year, 16,000 of both
categories, two years of history) one origin is prepared and every model fitted; wall time and the
Python-heap peak (tracemalloc: numpy buffers yes, LightGBM's C++ memory no) are recorded. ETAS is fitted to
simulated Hawkes processes of 10 k and 100 k events (``--million`` adds 1 M). Accuracy: a 10-origin grid
backtest on two drifting cities (PAI of every model against the best count baseline, bootstrap intervals).
Prints tables and writes benchmarks/results/hotspots.json.

Run: ``.venv/bin/python benchmarks/bench_hotspots.py [--million]``
"""

from __future__ import annotations

import argparse
import json
import os
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pulsetwin.hotspots.backtest import run_grid_backtest
from pulsetwin.hotspots.etas import fit_etas
from pulsetwin.hotspots.prepare import prepare_history
from pulsetwin.hotspots.registry import MODELS, make_model, model_names
from pulsetwin.hotspots.simulate import simulate_drifting_city, simulate_hawkes

CELL_M = 50
GRID_SIZES = (10_000, 50_000, 200_000)
RESULTS = Path(__file__).parent / "results" / "hotspots.json"


def _measure(function: Any) -> tuple[Any, float, float]:
    """Run ``function()``; return its result, seconds and peak traced memory in MB."""
    tracemalloc.start()
    start = time.perf_counter()
    value = function()
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return value, seconds, peak


def bench_grid(n_cells: int) -> list[dict[str, Any]]:
    """One origin on a square lattice of about ``n_cells`` cells, every model."""
    side = round(np.sqrt(n_cells)) * CELL_M
    events = simulate_drifting_city(seed=42, days=730, events_per_year=16_000.0, size_m=float(side))
    x0, y0 = 150_000, 450_000
    square = f"POLYGON (({x0} {y0}, {x0 + side} {y0}, {x0 + side} {y0 + side}, {x0} {y0 + side}, {x0} {y0}))"
    areas = pd.DataFrame(
        {
            "area_code": ["BU00000001"],
            "name": ["all"],
            "level": ["buurt"],
            "parent_code": ["WK000000"],
            "geometry": [square],
        }
    )
    origin = pd.Timestamp("2022-10-01")
    prepared, prep_s, prep_mb = _measure(
        lambda: prepare_history(
            events,
            categories=["burglary_residential"],
            origin=origin,
            window_days=14,
            cell_m=CELL_M,
            grid_origin=(x0, y0),
            mask="areas",
            areas=areas,
        )
    )
    history = prepared.history
    rows = [
        {
            "cells": int(history.cells.size),
            "model": "(prepare)",
            "seconds": prep_s,
            "peak_mb": prep_mb,
            "events_year": int((history.t >= -365).sum()),
        }
    ]
    for name in model_names():
        _, seconds, peak = _measure(lambda name=name: make_model(name).fit(history).predict())
        rows.append(
            {
                "cells": int(history.cells.size),
                "model": name,
                "seconds": seconds,
                "peak_mb": peak,
                "events_year": rows[0]["events_year"],
            }
        )
    return rows


def bench_etas(n_events: int) -> dict[str, Any]:
    """ETAS EM fit on a Hawkes sample of about ``n_events`` (constant density: 100 events/km2/year)."""
    days, theta = 365.0, 0.5
    size = float(np.sqrt(n_events / 100.0) * 1000.0)
    sample = simulate_hawkes(
        mu=n_events * (1 - theta) / days, theta=theta, omega=0.1, sigma=50.0, days=days, size_m=size, seed=7
    )
    fit, seconds, peak = _measure(lambda: fit_etas(sample.t, sample.x, sample.y, t_start=0.0, t_end=days))
    return {
        "events": int(sample.t.size),
        "seconds": seconds,
        "peak_mb": peak,
        "iterations": fit.n_iter,
        "pairs": fit.n_pairs,
        "mu": fit.mu,
        "mu_true": n_events * (1 - theta) / days,
        "theta": fit.theta,
        "theta_true": theta,
    }


def bench_accuracy(seed: int) -> dict[str, Any]:
    """Grid backtest on a drifting, partly self-exciting city: every model against the best count baseline."""
    events = simulate_drifting_city(seed=seed, days=730)
    result = run_grid_backtest(
        events,
        categories=["burglary_residential"],
        cell_m=100,
        window_days=14,
        n_origins=10,
        models=MODELS,
        seed=seed,
        scheduler="serial",  # a fork after LightGBM ran in this process can hang a process pool (libgomp)
    )
    return {
        "seed": seed,
        "origins": result["origins"],
        "summary": result["summary"],
        "comparison": result["comparison"],
        "ceiling_hit_rate": result["ceiling_hit_rate"],
        "verdicts": result["verdicts"],
    }


def main() -> None:
    """Run the benchmarks, print tables, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--million", action="store_true", help="also fit ETAS to 1 M events")
    args = parser.parse_args()
    load = os.getloadavg()
    grid_rows = [row for n in GRID_SIZES for row in bench_grid(n)]
    print(f"{'cells':>8} {'model':>12} {'events/yr':>9} {'seconds':>8} {'peak MB':>8}")
    for r in grid_rows:
        print(
            f"{r['cells']:>8} {r['model']:>12} {r['events_year']:>9} {r['seconds']:>8.2f} {r['peak_mb']:>8.1f}"
        )
    etas_rows = [bench_etas(n) for n in ((10_000, 100_000, 1_000_000) if args.million else (10_000, 100_000))]
    print(
        f"\n{'events':>9} {'seconds':>8} {'peak MB':>8} {'iter':>5} {'pairs':>10} {'mu/true':>8} {'theta':>6}"
    )
    for r in etas_rows:
        print(
            f"{r['events']:>9} {r['seconds']:>8.2f} {r['peak_mb']:>8.1f} {r['iterations']:>5} {r['pairs']:>10} "
            f"{r['mu'] / r['mu_true']:>8.3f} {r['theta']:>6.3f}"
        )
    accuracy = [bench_accuracy(seed) for seed in (1, 2)]
    for acc in accuracy:
        print(
            f"\naccuracy, drifting city seed {acc['seed']}, 100 m cells, 14-day window, {len(acc['origins'])} origins"
        )
        for verdict in acc["verdicts"].values():
            print("  " + verdict)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "cpu_count": os.cpu_count(),
        "load_average_at_start": load,
        "cell_m": CELL_M,
        "grid": grid_rows,
        "accuracy": accuracy,
        "etas": etas_rows,
    }
    RESULTS.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    print(f"\nwrote {RESULTS} (load average at start {load[0]:.1f} on {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
