"""A backtest of the best area model on the nl preset (14,500 buurten): wall time and peak memory.

Run: ``.venv/bin/python benchmarks/bench_backtest_nl.py [--model glm] [--folds 2]``. The twin is generated in
the same process (its time is reported apart); the backtest includes every naive baseline and the oracle.
Targets from the forecasting issue: <= 5 minutes and <= 4 GB. Prints a table and writes
``benchmarks/results/backtest_nl.json``.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

from pulsetwin.evaluation.backtest import backtest
from pulsetwin.twin.generate import generate_twin

RESULTS = Path(__file__).parent / "results" / "backtest_nl.json"


def peak_gb() -> float:
    """Peak resident memory of this process so far, in GB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="glm")
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--horizon", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    start = time.perf_counter()
    city = generate_twin("nl", seed=args.seed, years=2)
    generated = time.perf_counter() - start
    memory_after_twin = peak_gb()

    start = time.perf_counter()
    result = backtest(
        city.tables, models=[args.model], freq="W", horizon=args.horizon, folds=args.folds,
        scheduler="serial", n_boot=200, seed=args.seed,
    )  # fmt: skip
    elapsed = time.perf_counter() - start
    summary = result.summary.set_index("model")
    row = summary.loc[args.model]
    record = {
        "preset": "nl",
        "areas": int(city.tables["areas"]["level"].eq("buurt").sum()),
        "model": args.model,
        "folds": args.folds,
        "horizon": args.horizon,
        "twin_seconds": round(generated, 1),
        "backtest_seconds": round(elapsed, 1),
        "peak_gb_after_twin": round(memory_after_twin, 2),
        "peak_gb": round(peak_gb(), 2),
        "skill": float(row["skill"]),
        "skill_lo": float(row["skill_lo"]),
        "skill_hi": float(row["skill_hi"]),
        "gap_share": float(row["gap_share"]),
        "baseline": result.baseline,
    }
    print(f"{'quantity':<22}{'value':>14}")
    for key, value in record.items():
        print(f"{key:<22}{value!s:>14}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(record, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
