"""Run every benchmark script in its own process, one after the other, and list the JSON files they wrote.

Run: ``make bench`` (or ``.venv/bin/python benchmarks/run_all.py [--only twin,import]``). Each script prints its own
table; ratios are against baselines measured in the same run inside each script.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
SCRIPTS = ("twin", "import", "count_models", "backtest_nl", "hotspots", "loop", "api", "log_verify", "digest")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", help="Comma-separated subset of: " + ", ".join(SCRIPTS))
    args = parser.parse_args()
    chosen = args.only.split(",") if args.only else list(SCRIPTS)
    unknown = sorted(set(chosen) - set(SCRIPTS))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {', '.join(SCRIPTS)}")
    failed = []
    for name in chosen:
        print(f"\n=== bench_{name} ===", flush=True)
        start = time.perf_counter()
        done = subprocess.run([sys.executable, str(HERE / f"bench_{name}.py")], check=False)
        print(
            f"--- bench_{name}: exit {done.returncode} after {time.perf_counter() - start:.0f} s", flush=True
        )
        if done.returncode:
            failed.append(name)
    print("\nresults:", ", ".join(sorted(p.name for p in (HERE / "results").glob("*.json"))))
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
