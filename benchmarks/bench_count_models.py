"""Speed, memory and accuracy of the area count models (naive baselines, glm, lgbm).

Run: ``.venv/bin/python benchmarks/bench_count_models.py [--national]``.

* Speed and memory on the twin presets (``heerlen``; ``nl`` with ``--national``): the twin is generated and
  written to Parquet once; each model then runs in a fresh process that reads the model frames (areas,
  covariates, weekly incidents), cuts the history at an origin 4 weeks before the end, resets the peak-memory
  mark and times fit + predict(4). ``peak_gb`` is that step's peak (inputs included, ``inputs_gb``); ratios are
  against ``naive_hist`` measured in the same run.
* Accuracy on an independent simulator (:func:`pulsetwin.testing.panels.simulate_panel`, not the twin): Poisson
  deviance over weekly horizons 1-4 at rolling origins, as the share of the gap between the best naive baseline
  and the true intensity that a model closes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from memory import peak_gb, reset_peak, resident_gb

from pulsetwin.models.base import History
from pulsetwin.models.registry import make_model, naive_names
from pulsetwin.testing.panels import simulate_panel
from pulsetwin.twin.generate import generate_twin

CATEGORIES = tuple(f"cat_{i}" for i in range(9))
PRESETS = {"heerlen": 3, "nl": 2}
"""Preset and years of twin generated."""
MODELS = (*naive_names(), "glm", "lgbm")
FRAMES = ("areas", "covariates", "incidents")
HORIZON = 4
RESULTS = Path(__file__).parent / "results" / "count_models.json"


def deviance(y: np.ndarray, mu: np.ndarray) -> float:
    """Total Poisson deviance, ignoring missing counts."""
    mu = np.maximum(mu, 1e-9)
    safe = np.where(y > 0, y, 1.0)
    return float(2 * np.nansum(np.where(y > 0, y * np.log(safe / mu), 0.0) - (y - mu)))


def timing(folder: Path, model: str) -> dict[str, float]:
    """Fit + predict(4) time and peak memory of one model at an origin 4 weeks before the end of the data."""
    frames = {name: pd.read_parquet(folder / f"{name}.parquet") for name in FRAMES}
    origin = frames["incidents"]["period_start"].max() - pd.Timedelta(weeks=HORIZON - 1)
    history = History.from_frames(frames, origin=origin, freq="W")
    del frames
    inputs = resident_gb()
    reset_peak()
    start = time.perf_counter()
    forecasts = make_model(model).fit(history).predict(HORIZON)
    seconds = time.perf_counter() - start
    return {
        "seconds": round(seconds, 2),
        "peak_gb": round(peak_gb(), 2),
        "inputs_gb": round(inputs, 2),
        "rows": len(forecasts),
    }


def write_twin(preset: str, folder: Path) -> int:
    """Generate the preset's twin (seed 1) and write its model frames (weekly incidents); the buurten count."""
    city = generate_twin(preset, seed=1, years=PRESETS[preset])
    for name in FRAMES:
        frame = city.tables[name]
        if name == "incidents":
            frame = frame[frame["freq"] == "W"]
        frame.to_parquet(folder / f"{name}.parquet")
    return int(city.tables["areas"]["level"].eq("buurt").sum())


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
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--national", action="store_true", help="also the nl preset (about 15 minutes)")
    parser.add_argument("--one", nargs=2, metavar=("FOLDER", "MODEL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(timing(Path(args.one[0]), args.one[1])))
        return
    rows = []
    print(
        f"{'preset':8s} {'buurten':>8s} {'model':15s} {'seconds':>8s} {'x naive':>8s} {'peak GB':>8s} {'inputs':>7s}"
    )
    for preset in ["heerlen", "nl"] if args.national else ["heerlen"]:
        with tempfile.TemporaryDirectory() as folder:
            areas = write_twin(preset, Path(folder))
            for model in MODELS:
                out = subprocess.run(
                    [sys.executable, __file__, "--one", folder, model],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                rows.append({"preset": preset, "buurten": areas, "model": model, **json.loads(out.stdout)})
        base = next(r["seconds"] for r in rows if r["preset"] == preset and r["model"] == "naive_hist")
        for row in (r for r in rows if r["preset"] == preset):
            row["seconds_vs_naive_hist"] = round(row["seconds"] / max(base, 1e-9), 1)
            print(
                f"{preset:8s} {row['buurten']:8d} {row['model']:15s} {row['seconds']:8.2f} "
                f"{row['seconds_vs_naive_hist']:8.1f} {row['peak_gb']:8.2f} {row['inputs_gb']:7.2f}"
            )
    gaps = {seed: accuracy(seed) for seed in (1, 2)}
    for seed, gap in gaps.items():
        print(
            f"gap captured on simulate_panel (seed {seed}): "
            + ", ".join(f"{k} {v:.3f}" for k, v in gap.items())
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"timing": rows, "gap_captured": gaps}, indent=2))


if __name__ == "__main__":
    main()
