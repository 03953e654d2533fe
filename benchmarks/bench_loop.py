"""Speed of the closed patrol loop's Monte Carlo: runs x areas x 52 weeks on a process pool and on Dask.

Each task simulates a chunk of runs (vectorised over runs) and returns per-run loop metrics, so only small
arrays travel back. The headline case is 1,000 runs on 100 areas x 52 weeks (target: <= 10 s on 2 cores).

Run:  .venv/bin/python benchmarks/bench_loop.py            (writes benchmarks/results/loop.json)
"""

from __future__ import annotations

import json
import os
import platform
import resource
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pulsetwin.executor import map_tasks
from pulsetwin.metrics.allocation import gini, lock_in, misallocation
from pulsetwin.studies.loop import simulate_loop
from pulsetwin.studies.policies import Policy

WEEKS = 52
CHUNK = 125
WORKERS = 2
RESULTS = Path(__file__).parent / "results" / "loop.json"


@dataclass(frozen=True)
class Chunk:
    """One task: ``runs`` loops over ``rates.size`` areas with its own seed."""

    rates: np.ndarray
    runs: int
    seed: np.random.SeedSequence


def run_chunk(chunk: Chunk) -> np.ndarray:
    """Simulate a chunk (top-10 with exploration, inverse-propensity learner); return per-run metrics."""
    result = simulate_loop(
        chunk.rates,
        periods=WEEKS,
        policy=Policy("top_k_explore", max(1, chunk.rates.size // 10), epsilon=0.1),
        learner="ipw",
        runs=chunk.runs,
        report_rate=0.3,
        discovery_rate=1.0,
        seed=chunk.seed,
    )
    return np.column_stack(
        [
            gini(result.allocation).mean(axis=1),
            lock_in(result.flagged).mean(axis=1),
            misallocation(result.allocation, result.offence_rate).mean(axis=1),
        ]
    )


def tasks(runs: int, areas: int, seed: int = 0) -> list[Chunk]:
    """Cut ``runs`` into chunks of CHUNK runs with spawned seeds; rates are lognormal, fixed by ``seed``."""
    rates = np.random.default_rng(seed).lognormal(0.0, 0.8, areas)
    sizes = [CHUNK] * (runs // CHUNK) + ([runs % CHUNK] if runs % CHUNK else [])
    seeds = np.random.SeedSequence(seed).spawn(len(sizes))
    return [Chunk(rates, size, s) for size, s in zip(sizes, seeds, strict=True)]


def timed(runs: int, areas: int, scheduler: str | None) -> tuple[float, float, np.ndarray]:
    """Wall time of one Monte-Carlo study (pool start-up included), CPU seconds of this process and of the
    pool's finished workers (Dask workers live on and are not counted), and the stacked metrics."""
    start, cpu = time.perf_counter(), _cpu_seconds()
    parts = map_tasks(run_chunk, tasks(runs, areas), scheduler=scheduler, workers=WORKERS)
    return time.perf_counter() - start, _cpu_seconds() - cpu, np.vstack(parts)


def _cpu_seconds() -> float:
    """User + system CPU time of this process and its reaped children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    """Time the grid on the pool, serially and on a 2-worker local Dask cluster; print and save a table."""
    from dask.distributed import LocalCluster

    load_before = os.getloadavg()
    grid = [(1000, 100), (250, 100), (500, 100), (2000, 100), (1000, 25), (1000, 400)]
    rows: list[dict[str, object]] = []
    with LocalCluster(
        n_workers=WORKERS,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    ) as cluster:
        timed(CHUNK, 10, cluster.scheduler_address)  # warm the workers' imports once
        backends = {"pool": "local", "serial": "serial", "dask": cluster.scheduler_address}
        for runs, areas in grid:
            reference = None
            for name, scheduler in backends.items():
                if name == "serial" and (runs, areas) != (1000, 100):
                    continue
                seconds, cpu, metrics = timed(runs, areas, scheduler)
                if reference is None:
                    reference = metrics
                same = bool(np.array_equal(metrics, reference))
                rows.append(
                    {
                        "backend": name,
                        "runs": runs,
                        "areas": areas,
                        "weeks": WEEKS,
                        "seconds": round(seconds, 3),
                        "cpu_seconds": None if name == "dask" else round(cpu, 3),
                        "runs_per_second": round(runs / seconds, 1),
                        "identical_to_pool": same,
                        "mean_gini": round(float(metrics[:, 0].mean()), 4),
                        "mean_lock_in": round(float(metrics[:, 1].mean()), 4),
                        "mean_misallocation": round(float(metrics[:, 2].mean()), 4),
                    }
                )
    load = os.getloadavg()
    print(f"load average before/after: {load_before[0]:.1f} / {load[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'backend':8} {'runs':>6} {'areas':>6} {'seconds':>8} {'cpu s':>7} {'runs/s':>8} {'same':>5}")
    for row in rows:
        cpu_text = "-" if row["cpu_seconds"] is None else f"{row['cpu_seconds']:.2f}"
        print(
            f"{row['backend']:8} {row['runs']:>6} {row['areas']:>6} {row['seconds']:>8.2f} {cpu_text:>7} "
            f"{row['runs_per_second']:>8.1f} {row['identical_to_pool']!s:>5}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": "closed patrol loop Monte Carlo (top-k with exploration, ipw learner)",
        "target": "1,000 runs x 100 areas x 52 weeks <= 10 s on 2 cores",
        "workers": WORKERS,
        "chunk_runs": CHUNK,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_before_after": [round(load_before[0], 2), round(load[0], 2)],
        "rows": rows,
    }
    RESULTS.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
