"""Speed, memory and accuracy of the area count models (naive baselines, glm, lgbm) on simulated panels.

Run: ``.venv/bin/python benchmarks/bench_count_models.py [--national]``. Each (size, model) runs in a fresh
process so peak memory (max RSS) is its own. Accuracy: Poisson deviance over weekly horizons 1-4 at rolling
origins, as the share of the gap between the best naive baseline and the true intensity that a model closes.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from pulsetwin.models.registry import make_model, naive_names
from pulsetwin.models.testing import simulate_panel

CATEGORIES = tuple(f"cat_{i}" for i in range(9))
SIZES = {"municipality": (10, 150), "national": (120, 104)}
RESULTS = Path(__file__).parent / "results" / "count_models.json"


def deviance(y: np.ndarray, mu: np.ndarray) -> float:
    """Total Poisson deviance, ignoring missing counts."""
    mu = np.maximum(mu, 1e-9)
    safe = np.where(y > 0, y, 1.0)
    return float(2 * np.nansum(np.where(y > 0, y * np.log(safe / mu), 0.0) - (y - mu)))


def timing(size: str, model: str) -> dict[str, float]:
    """Fit + predict(4) time and peak memory of one model at the last origin."""
    side, periods = SIZES[size]
    sim = simulate_panel(seed=7, side=side, periods=periods, categories=CATEGORIES, excitation=0.1)
    history = sim.history(periods - 4)
    start = time.perf_counter()
    forecasts = make_model(model).fit(history).predict(4)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    return {"seconds": round(seconds, 2), "peak_rss_gb": round(peak, 2), "rows": len(forecasts)}


def accuracy(seed: int) -> dict[str, float]:
    """Gap captured over 12 rolling weekly origins on a municipality-sized panel with self-excitation."""
    sim = simulate_panel(seed=seed, side=10, periods=156, categories=CATEGORIES[:3], excitation=0.15)
    totals: dict[str, float] = {}
    for origin in range(104, 152, 4):
        y = sim.counts[:, :, origin : origin + 4]
        totals["oracle"] = totals.get("oracle", 0.0) + deviance(y, sim.intensity[:, :, origin : origin + 4])
        for name in (*naive_names(), "glm", "lgbm"):
            mean = make_model(name).fit(sim.history(origin)).predict(4)["mean"].to_numpy().reshape(y.shape)
            totals[name] = totals.get(name, 0.0) + deviance(y, mean)
    best = min(totals[n] for n in naive_names())
    return {n: round((best - totals[n]) / (best - totals["oracle"]), 3) for n in ("glm", "lgbm")}


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--one":
        print(json.dumps(timing(sys.argv[2], sys.argv[3])))
        return
    sizes = ["municipality", "national"] if "--national" in sys.argv else ["municipality"]
    rows = []
    for size in sizes:
        for model in ("naive_hist", "glm", "lgbm"):
            out = subprocess.run(
                [sys.executable, __file__, "--one", size, model], capture_output=True, text=True, check=True
            )
            rows.append({"size": size, "model": model, **json.loads(out.stdout)})
            print(f"{size:13s} {model:11s} {rows[-1]['seconds']:8.2f} s {rows[-1]['peak_rss_gb']:6.2f} GB")
    gaps = {seed: accuracy(seed) for seed in (1, 2)}
    for seed, gap in gaps.items():
        print(f"gap captured (seed {seed}): " + ", ".join(f"{k} {v:.3f}" for k, v in gap.items()))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"timing": rows, "gap_captured": gaps}, indent=2))


if __name__ == "__main__":
    main()
