"""Time and peak memory of generate_twin for the heerlen (3 years) and nl (1 year) presets.

Each case runs in its own subprocess so its peak resident memory (``ru_maxrss``) is its own.
Prints a table and writes ``benchmarks/results/twin.json``.
Run: ``.venv/bin/python benchmarks/bench_twin.py``.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path

CASES = (("heerlen", 3), ("nl", 1))
RESULTS = Path(__file__).parent / "results" / "twin.json"
_CHILD = """
import json, resource, time
from pulsetwin.twin import generate_twin
start = time.perf_counter()
city = generate_twin({preset!r}, seed=1, years={years})
seconds = time.perf_counter() - start
summary = city.summary()
print(json.dumps({{
    "preset": {preset!r}, "years": {years}, "seconds": round(seconds, 2),
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    "buurten": summary["areas"]["buurt"], "offences": summary["offences"],
    "recorded_events": summary["recorded_events"], "rows": summary["rows"],
    "calibration_ok": summary["calibration_ok"],
}}))
"""


def run_case(preset: str, years: int) -> dict[str, object]:
    """Generate one twin in a fresh interpreter and return its measurements."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD.format(preset=preset, years=years)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Run every case, print a table, write the JSON results."""
    results = [run_case(preset, years) for preset, years in CASES]
    columns = ("preset", "years", "seconds", "peak MB", "buurten", "offences", "events")
    print(" ".join(f"{c:>10}" for c in columns))
    for r in results:
        keys = ("preset", "years", "seconds", "peak_rss_mb", "buurten", "offences", "recorded_events")
        print(" ".join(f"{r[k]!s:>10}" for k in keys))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": "twin",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "results": results,
    }
    RESULTS.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
