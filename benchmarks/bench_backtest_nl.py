"""A backtest of the best area model on the nl preset (14,500 buurten): wall time and peak memory.

Run: ``.venv/bin/python benchmarks/bench_backtest_nl.py [--model glm] [--folds 2]``. The twin is generated and
written to Parquet first; the backtest then runs in a fresh process that reads the tables a backtest reads
as :func:`pulsetwin.store.frames.load_frames` does from a store: areas, covariates, incidents and truth of
the backtested freq with categorical text, events only for a model that reads them; never ``protected``.
The peak-memory mark is reset once they are read (Linux ``clear_refs``), so ``backtest_peak_gb`` is the peak
while the backtest runs, the input frames included (``inputs_gb``); reading's own peak is ``read_peak_gb``
and the generator's ``twin_peak_gb``. The backtest includes every naive baseline and the oracle. Targets from
the forecasting issue: <= 5 minutes and <= 4 GB. Prints a table and writes
``benchmarks/results/backtest_nl.json`` (``backtest_nl_<model>.json`` for another model).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
from memory import peak_gb, reset_peak, resident_gb

from pulsetwin.evaluation.backtest import backtest
from pulsetwin.evaluation.lineup import Lineup
from pulsetwin.evaluation.skill import SkillSettings
from pulsetwin.evaluation.splits import RollingOrigin
from pulsetwin.models.registry import make_model
from pulsetwin.store.frames import compact_frame, compact_incidents
from pulsetwin.twin.generate import generate_twin

RESULTS = Path(__file__).parent / "results"
DEFAULT_MODEL = "glm"
"""The best model on the twins; its result is ``backtest_nl.json``, another model's ``backtest_nl_<model>.json``."""


def read_tables(folder: Path, freq: str, *, events: bool) -> dict[str, pd.DataFrame]:
    """The canonical frames a backtest reads, compact: incidents and truth of ``freq`` only, text columns
    categorical; events only when ``events`` (only point-process models read them)."""
    at_freq = [("freq", "==", freq)]
    names = ("areas", "covariates", "events") if events else ("areas", "covariates")
    tables = {name: pd.read_parquet(folder / f"{name}.parquet") for name in names}
    tables["incidents"] = compact_incidents(pd.read_parquet(folder / "incidents.parquet", filters=at_freq))
    tables["truth"] = compact_frame(pd.read_parquet(folder / "truth.parquet", filters=at_freq))
    pa.default_memory_pool().release_unused()
    return tables


def run_backtest(folder: Path, model: str, folds: int, horizon: int, seed: int) -> None:
    """The measured part, in its own process: read the tables, backtest, print one JSON line."""
    reset_peak()
    tables = read_tables(folder, "W", events=make_model(model).uses_events)
    read_peak, inputs = peak_gb(), resident_gb()
    reset_peak()
    start = time.perf_counter()
    result = backtest(
        tables, RollingOrigin("W", horizon, folds), Lineup(models=[model]), skill=SkillSettings(n_boot=200, seed=seed),
        scheduler="serial",
    )  # fmt: skip
    row = result.summary.set_index("model").loc[model]
    print(
        json.dumps(
            {
                "backtest_seconds": round(time.perf_counter() - start, 1),
                "backtest_peak_gb": round(peak_gb(), 2),
                "inputs_gb": round(inputs, 2),
                "read_peak_gb": round(read_peak, 2),
                "skill": float(row["skill"]),
                "skill_lo": float(row["skill_lo"]),
                "skill_hi": float(row["skill_hi"]),
                "gap_share": float(row["gap_share"]),
                "baseline": result.baseline,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--horizon", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        run_backtest(args.child, args.model, args.folds, args.horizon, args.seed)
        return

    start = time.perf_counter()
    city = generate_twin("nl", seed=args.seed, years=2)
    generated = time.perf_counter() - start
    areas = int(city.tables["areas"]["level"].eq("buurt").sum())
    with tempfile.TemporaryDirectory() as folder:
        for name, frame in city.tables.items():
            frame.to_parquet(Path(folder) / f"{name}.parquet")
        twin_peak = peak_gb()
        del city
        done = subprocess.run(
            [sys.executable, __file__, "--child", folder, "--model", args.model, "--folds", str(args.folds),
             "--horizon", str(args.horizon), "--seed", str(args.seed)],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    record = {
        "preset": "nl",
        "areas": areas,
        "model": args.model,
        "folds": args.folds,
        "horizon": args.horizon,
        "twin_seconds": round(generated, 1),
        "twin_peak_gb": round(twin_peak, 2),
        **measured,
    }
    print(f"{'quantity':<22}{'value':>14}")
    for key, value in record.items():
        print(f"{key:<22}{value!s:>14}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "backtest_nl" if args.model == DEFAULT_MODEL else f"backtest_nl_{args.model}"
    (RESULTS / f"{name}.json").write_text(json.dumps(record, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
