"""A store holding the Lum & Isaac scenario and forecast runs of a historical-mean pipeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pulsetwin.audit.bias_scenario import CITIZEN_CATEGORY, BiasScenario, lum_isaac_scenario
from pulsetwin.models.base import History
from pulsetwin.models.registry import make_model
from pulsetwin.store import Store
from pulsetwin.store.fold_forecasts import save_fold_forecasts
from pulsetwin.store.frames import load_frames

POLICY = """
top_k: 0.2
bins: 4
proxy: {folds: 3, repeats: 1, trees: 25, r2_warn: 0.3, r2_block: 0.6}
block: [no_skill, protected_exposure_out_of_band, proxy_r2_block]
"""


def scenario_store(path: Path, *, n_areas: int = 4000, seed: int = 11) -> BiasScenario:
    """Import the scenario's tables into a new store at ``path``."""
    scenario = lum_isaac_scenario(n_areas=n_areas, n_periods=12, seed=seed)
    with Store(path) as store:
        store.import_frames(scenario.tables, source="scenario")
    return scenario


def save_forecast_run(
    store: Store,
    scenario: BiasScenario,
    *,
    citizen_only: bool,
    skill_lo: float = 0.05,
    future: bool = False,
    fold_forecasts: bool = True,
) -> str:
    """Store a historical-mean forecast (all categories or citizen-reported only) as a forecast run, with its
    forecasts at its last backtest fold (the scenario's origin) as ``pulsetwin forecast`` stores them, unless
    ``fold_forecasts`` is false (a run stored by an older PulseTwin)."""
    incidents = scenario.tables["incidents"]
    if citizen_only:
        incidents = incidents[incidents["category"] == CITIZEN_CATEGORY]
    periods = pd.DatetimeIndex(sorted(incidents["period_start"].unique()))
    origin = periods[-1] + pd.offsets.MonthBegin(1) if future else scenario.origin
    before = incidents[incidents["period_start"] < origin]
    mean = before.groupby(["area_code", "category"])["count"].mean().rename("mean").reset_index()
    horizon = 3
    targets = pd.date_range(origin, periods=horizon, freq="MS")
    forecasts = mean.merge(pd.DataFrame({"period_start": targets}), how="cross")
    name = f"{'mitigated' if citizen_only else 'naive'}{'-future' if future else ''}-{skill_lo}"
    run = store.save_run(
        "forecast", model="naive_hist",
        params={"model_params": {}, "categories": [CITIZEN_CATEGORY] if citizen_only else None},
        metrics={"skill": {"skill": skill_lo + 0.05, "skill_lo": skill_lo, "skill_hi": skill_lo + 0.1},
                 "baseline": "naive_last", "backtest": {"folds": [str(scenario.origin.date())], "summary": []}},
        status="ok" if skill_lo > 0 else "no_skill", origin=origin, freq="M", horizon=horizon, run_id=name,
    )  # fmt: skip
    frame = forecasts.assign(
        run_id=run.run_id, model="naive_hist", q05=forecasts["mean"], q50=forecasts["mean"],
        q95=forecasts["mean"] + 2 * np.sqrt(forecasts["mean"]),
    )  # fmt: skip
    store.import_frames({"forecasts": frame}, source=f"run:{run.run_id}")
    if fold_forecasts:
        categories = [CITIZEN_CATEGORY] if citizen_only else None
        history = History.from_frames(
            load_frames(store, "M"), origin=scenario.origin, freq="M", categories=categories
        )
        fold = make_model("naive_hist").fit(history).predict(horizon)
        save_fold_forecasts(store, fold.assign(run_id=run.run_id, origin=scenario.origin))
    return run.run_id
