"""The CLI path on the nl preset (14,500 buurten): ``pulsetwin backtest`` and ``forecast`` from a store.

Run: ``.venv/bin/python benchmarks/bench_cli_nl.py [--model glm] [--folds 2] [--horizon 4]``. The twin is
generated into a temporary store by ``pulsetwin twin generate`` in its own process; then ``pulsetwin backtest
--models MODEL`` (which reads the store, replays the twin for the origin oracle and fans the folds out to a
process pool) and ``pulsetwin forecast --model MODEL`` (backtest, fit, store the run) run as subprocesses, one
after the other. For each command: wall time, ``peak_gb`` (the largest single process of its tree, as
``/usr/bin/time -v`` reports it: from ``os.wait4``, so no other command pollutes it) and ``tree_peak_gb`` (the
summed resident memory of the command and its pool workers, sampled every 0.2 s: what the machine must
hold). Targets from the forecasting issue: <= 5 minutes and <= 4 GB. Prints a table and writes
``benchmarks/results/cli_nl.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "cli_nl.json"
SAMPLE_SECONDS = 0.2


def tree_rss(root: int) -> int:
    """Summed resident bytes of ``root`` and its descendants (Linux ``/proc``); vanished processes count 0."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(parents.get(pid, []))
        try:
            status = Path(f"/proc/{pid}/status").read_text().splitlines()
        except OSError:
            continue
        total += next((int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:")), 0)
    return total


def measure(command: list[str], log: Path) -> dict[str, float]:
    """Run ``command`` (output to ``log``): wall seconds, its largest process's peak and its tree's peak."""
    peak_tree = 0
    start = time.perf_counter()
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak_tree
            while not done.wait(SAMPLE_SECONDS):
                peak_tree = max(peak_tree, tree_rss(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        done.set()
        sampler.join()
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        tail = "\n".join(log.read_text(encoding="utf-8").splitlines()[-20:])
        raise SystemExit(f"{' '.join(command)} failed with exit code {code}:\n{tail}")
    return {
        "seconds": round(seconds, 1),
        "peak_gb": round(usage.ru_maxrss / 1024**2, 2),  # KiB on Linux
        "tree_peak_gb": round(peak_tree / 1024**3, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--preset", default="nl", help="Twin preset (heerlen for a quick smoke run).")
    parser.add_argument("--model", default="glm")
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--horizon", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--years", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="Also keep the command logs in this folder.")
    args = parser.parse_args()

    cli = [sys.executable, "-m", "pulsetwin"]
    design = ["--freq", "W", "--folds", str(args.folds), "--horizon", str(args.horizon)]
    with tempfile.TemporaryDirectory() as folder:
        db = str(Path(folder) / f"{args.preset}.duckdb")
        logs = args.keep or Path(folder)
        logs.mkdir(parents=True, exist_ok=True)
        steps = {
            "twin": ["twin", "generate", "--preset", args.preset, "--seed", str(args.seed), "--years",
                     str(args.years), "--db", db],
            "backtest": ["backtest", "--db", db, "--models", args.model, *design],
            "forecast": ["forecast", "--db", db, "--model", args.model, *design],
        }  # fmt: skip
        measured = {name: measure([*cli, *step], logs / f"{name}.log") for name, step in steps.items()}
    record: dict[str, object] = {
        "preset": args.preset,
        "seed": args.seed,
        "years": args.years,
        "model": args.model,
        "folds": args.folds,
        "horizon": args.horizon,
        "cpus": os.cpu_count(),
    }
    for name, values in measured.items():
        record.update({f"{name}_{key}": value for key, value in values.items()})
    print(f"{'quantity':<26}{'value':>12}")
    for key, value in record.items():
        print(f"{key:<26}{value!s:>12}")
    results = RESULTS if args.preset == "nl" else RESULTS.with_name(f"cli_{args.preset}.json")
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(record, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
