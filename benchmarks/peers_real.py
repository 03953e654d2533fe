"""Peer forecasts for ``bench_real.py``: statsforecast and mlforecast on the same monthly panel and origins.

Runs in its own environment (``--peers-python``): statsforecast and mlforecast need pandas < 3, PulseTwin's
environment has pandas 3. Reads ``panel.parquet`` (``unique_id, ds, y``) and ``job.json`` (origins, horizon,
the tuning origins) from a folder, writes ``peers.parquet`` (``origin, unique_id, ds, model, mean``) and
``peers_timing.json`` (seconds per origin per model, and the mlforecast setting chosen on the tuning origins).
Imports nothing from PulseTwin.

mlforecast + LightGBM: Poisson objective, lags 1-3 and 12, rolling means of lag 1 over 3/6/12 months, month and
series id as features (the issue's "tuned" peer). Its tuning is a small grid (leaves x learning rate x rounds)
chosen by mean Poisson deviance on the tuning origins only (before the reported ones).

Run: ``<peers-python> benchmarks/peers_real.py FOLDER`` (bench_real.py does this).
"""

from __future__ import annotations

import itertools
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")


def deviance(y: np.ndarray, mu: np.ndarray) -> float:
    """Mean Poisson deviance with means floored at 1e-9."""
    mu = np.maximum(mu, 1e-9)
    term = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0) / mu), 0.0)
    return float(np.mean(2.0 * (term - (y - mu))))


def stats_models() -> list[object]:
    """The intermittent-demand and ETS peers of statsforecast."""
    from statsforecast.models import ADIDA, IMAPA, TSB, AutoETS, CrostonOptimized

    return [
        ADIDA(),
        IMAPA(),
        TSB(alpha_d=0.2, alpha_p=0.2),
        CrostonOptimized(),
        AutoETS(season_length=12),
    ]


def run_stats(panel: pd.DataFrame, origin: pd.Timestamp, horizon: int) -> tuple[pd.DataFrame, float]:
    """statsforecast forecasts from the months before ``origin``."""
    from statsforecast import StatsForecast

    train = panel[panel["ds"] < origin]
    start = time.perf_counter()
    sf = StatsForecast(models=stats_models(), freq="MS", n_jobs=1)
    fc = sf.forecast(df=train, h=horizon)
    seconds = time.perf_counter() - start
    if "unique_id" not in fc.columns:
        fc = fc.reset_index()
    long = fc.melt(id_vars=["unique_id", "ds"], var_name="model", value_name="mean")
    long["model"] = long["model"].map(lambda n: f"sf_{n}")
    return long, seconds


def run_mlf(
    panel: pd.DataFrame, origin: pd.Timestamp, horizon: int, setting: dict[str, float]
) -> tuple[pd.DataFrame, float]:
    """mlforecast + LightGBM (Poisson) forecasts from the months before ``origin``."""
    import lightgbm as lgb
    from mlforecast import MLForecast
    from mlforecast.lag_transforms import RollingMean

    train = panel[panel["ds"] < origin].copy()
    start = time.perf_counter()
    model = lgb.LGBMRegressor(
        objective="poisson",
        num_leaves=int(setting["num_leaves"]),
        learning_rate=float(setting["learning_rate"]),
        n_estimators=int(setting["n_estimators"]),
        min_child_samples=50,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.9,
        n_jobs=1,
        random_state=0,
        deterministic=True,
        force_row_wise=True,
        verbosity=-1,
    )
    mlf = MLForecast(
        models={"mlf_lgbm": model},
        freq="MS",
        lags=[1, 2, 3, 12],
        lag_transforms={1: [RollingMean(3), RollingMean(6), RollingMean(12)]},
        date_features=["month"],
    )
    train["series"] = train["unique_id"].astype("category")
    mlf.fit(train, static_features=["series"])
    fc = mlf.predict(horizon)
    seconds = time.perf_counter() - start
    long = fc.melt(id_vars=["unique_id", "ds"], var_name="model", value_name="mean")
    long["mean"] = np.maximum(long["mean"].to_numpy(dtype=float), 0.0)
    return long, seconds


GRID = {"num_leaves": (15, 63), "learning_rate": (0.03, 0.1), "n_estimators": (150, 400)}


def tune(panel: pd.DataFrame, origins: list[pd.Timestamp], horizon: int) -> tuple[dict[str, float], list]:
    """The mlforecast setting with the lowest mean Poisson deviance on the tuning origins."""
    rows = []
    for values in itertools.product(*GRID.values()):
        setting = dict(zip(GRID, values, strict=True))
        losses = []
        for origin in origins:
            fc, _ = run_mlf(panel, origin, horizon, setting)
            joined = fc.merge(panel, on=["unique_id", "ds"])
            losses.append(deviance(joined["y"].to_numpy(float), joined["mean"].to_numpy(float)))
        rows.append({**setting, "deviance": float(np.mean(losses))})
    best = min(rows, key=lambda r: r["deviance"])
    return {k: best[k] for k in GRID}, rows


def main(folder: Path) -> None:
    job = json.loads((folder / "job.json").read_text(encoding="utf-8"))
    panel = pd.read_parquet(folder / "panel.parquet")
    panel["ds"] = pd.to_datetime(panel["ds"])
    horizon = int(job["horizon"])
    setting, grid = tune(panel, [pd.Timestamp(o) for o in job["tune_origins"]], horizon)
    parts, timing = [], {}
    for text in job["origins"]:
        origin = pd.Timestamp(text)
        stats, stats_s = run_stats(panel, origin, horizon)
        mlf, mlf_s = run_mlf(panel, origin, horizon, setting)
        n_stats = stats["model"].nunique()
        timing[text] = {**{m: stats_s / n_stats for m in stats["model"].unique()}, "mlf_lgbm": mlf_s}
        parts.append(pd.concat([stats, mlf]).assign(origin=origin))
        print(f"peers {text}: statsforecast {stats_s:.1f} s, mlforecast {mlf_s:.1f} s", flush=True)
    out = pd.concat(parts, ignore_index=True)
    out.to_parquet(folder / "peers.parquet", index=False)
    (folder / "peers_timing.json").write_text(
        json.dumps({"seconds": timing, "mlf_setting": setting, "mlf_tuning": grid}), encoding="utf-8"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
