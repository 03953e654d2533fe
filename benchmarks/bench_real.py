"""Skill on real development data (toronto-dev, 2014-2019) and on the heerlen twin, beside installable peers.

Monthly counts (140 neighbourhoods x 5 crime types), origins every month of 2018-2019 with all three months
observed (2018-01 .. 2019-10), H = 3: every PulseTwin count model, ``forecast --model best`` (chosen at each
origin exactly as the CLI does: a backtest on the months before it with the CLI's default folds, rolled by one
month (:func:`selection_folds`), then :func:`choose_model`), the naive
rules, and the peers statsforecast (ADIDA, IMAPA, TSB, Croston, AutoETS) and mlforecast + LightGBM (tuned on
2017 origins only), all scored by one :func:`pulsetwin.evaluation.backtest.backtest` on the same cells: Poisson
deviance and median-MAE (the MAE of each method's median: q50 for PulseTwin and the naive rules, the Poisson
median of the mean for peers that give only a mean) with their change against the best naive rule, PAI at
1/5/10 % of the neighbourhoods, the skill interval against the best naive rule, and median seconds per origin.

Hotspot maps: burglary (woninginbraak) points on 150 m cells, 14-day windows, origins every 14 days in 2019:
every hotspot model, ``hotspots --model best`` (chosen per origin from the ``SELECTION_ORIGINS`` earlier origins, as
the CLI does) and the count baselines, PAI@1/5/10 % with the interval of the difference to the best baseline, seconds
per origin. Heerlen twin (seed 2026, weekly, H = 4): the count models with the oracle and the origin oracle;
the attainable share is the share of the naive-to-origin-oracle gap closed.

Data enters through the CLI's store import (``pulsetwin import``), as an analyst's would. Peers need pandas < 3
and so run in their own environment: ``--peers-python`` (e.g. a venv with ``pip install statsforecast
mlforecast``, the ``bench`` extra); without it the peer rows are left out and the table says so.

Run: ``.venv/bin/python benchmarks/bench_real.py [--quick] [--peers-python /path/to/python] [--extra stack]``;
prints the tables and writes ``benchmarks/results/real.json`` (``real_quick.json`` with ``--quick``;
``real_<parts>.json`` with ``--only``). ``--extra`` adds opt-in count models (the stack) to the monthly and twin
tables; ``best`` still chooses among the default lineup only, as the CLI does.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from pulsetwin.evaluation.backtest import backtest, records, restrict_folds
from pulsetwin.evaluation.lineup import Lineup
from pulsetwin.evaluation.runs import choose_model, fold_deviance
from pulsetwin.evaluation.selection import selection_folds
from pulsetwin.evaluation.skill import SkillSettings
from pulsetwin.evaluation.splits import RollingOrigin
from pulsetwin.hotspots.backtest import run_grid_backtest, summarise
from pulsetwin.hotspots.forecast import SELECTION_ORIGINS, choose_from_backtest
from pulsetwin.hotspots.registry import BASELINES, MODELS
from pulsetwin.models.base import History, Model
from pulsetwin.models.intervals import MAX_SIZE, nb_quantiles
from pulsetwin.models.registry import default_model_names, make_model, naive_names
from pulsetwin.schema.periods import Freq
from pulsetwin.store.database import Store
from pulsetwin.store.frames import load_frames

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
DATA_CANDIDATES = (REPO.parent / "shared" / "data" / "toronto-dev", Path("/work/shared/data/toronto-dev"))
COUNT_MODELS = ("glm", "lgbm")
HORIZON = 3
FRACTIONS = ("0.01", "0.05", "0.1")


class Cached(Model):
    """A registered model fitted once per origin (timed) and replayed from a shared cache afterwards, so the
    reported backtest and the earlier-fold backtests that choose ``best`` score the same forecasts."""

    inner: ClassVar[str] = "glm"

    def __init__(self, *, cache: dict[tuple[str, str], pd.DataFrame], seconds: dict[tuple[str, str], float]):
        self.cache = cache
        self.seconds = seconds

    def fit(self, history: History) -> Cached:
        key = (self.inner, str(pd.Timestamp(history.origin).date()))
        if key not in self.cache:
            start = time.perf_counter()
            model = make_model(self.inner)
            if model.uses_events:
                raise ValueError(f"{self.inner} reads events; this benchmark holds none")
            self.cache[key] = model.fit(history).predict(HORIZON)
            self.seconds[key] = time.perf_counter() - start
        self.forecast_ = self.cache[key]
        return self

    def predict(self, horizon: int, *, run_id: str = "adhoc") -> pd.DataFrame:
        periods = sorted(self.forecast_["period_start"].unique())[:horizon]
        out = self.forecast_[self.forecast_["period_start"].isin(periods)]
        return out.assign(run_id=run_id, model=self.name)


def cached_class(name: str) -> type[Cached]:
    """A :class:`Cached` subclass named and fitting ``name``."""
    return type(f"Cached_{name}", (Cached,), {"name": name, "inner": name})


class Replayed(Model):
    """Forecasts computed elsewhere (peers, the per-origin ``best``), looked up by origin."""

    def __init__(self, *, table: dict[str, pd.DataFrame]):
        self.table = table

    def fit(self, history: History) -> Replayed:
        self.forecast_ = self.table[str(pd.Timestamp(history.origin).date())]
        return self

    def predict(self, horizon: int, *, run_id: str = "adhoc") -> pd.DataFrame:
        periods = sorted(self.forecast_["period_start"].unique())[:horizon]
        out = self.forecast_[self.forecast_["period_start"].isin(periods)]
        return out.assign(run_id=run_id, model=self.name)


def replayed(name: str, table: dict[str, pd.DataFrame]) -> Replayed:
    """A :class:`Replayed` model called ``name``."""
    cls = type(f"Replayed_{name}", (Replayed,), {"name": name})
    return cls(table=table)


def find_data(given: Path | None) -> Path:
    for folder in (given,) if given else DATA_CANDIDATES:
        if folder is not None and (folder / "incidents.csv").exists():
            return folder
    raise SystemExit(f"toronto-dev not found; pass --data (tried {[str(p) for p in DATA_CANDIDATES]})")


def import_store(data: Path, db: Path) -> None:
    """Import areas, incidents and events through the CLI, as an analyst would."""
    for table in ("areas", "incidents", "events"):
        done = subprocess.run(
            [sys.executable, "-m", "pulsetwin", "import", table, str(data / f"{table}.csv"), "--db", str(db)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode:
            raise SystemExit(f"import {table} failed:\n{done.stdout}\n{done.stderr}")


def month_starts(first: str, last: str) -> list[str]:
    return [str(d.date()) for d in pd.date_range(first, last, freq="MS")]


def peer_forecasts(
    frames: dict[str, pd.DataFrame], origins: list[str], tune: list[str], python: str | None
) -> tuple[dict[str, dict[str, pd.DataFrame]], dict[str, Any]]:
    """Peer forecasts per model and origin (canonical frames, Poisson quantiles) and their timing."""
    if python is None:
        return {}, {"skipped": "no --peers-python given"}
    inc = frames["incidents"]
    panel = pd.DataFrame(
        {
            "unique_id": inc["area_code"].astype(str) + "|" + inc["category"].astype(str),
            "ds": pd.to_datetime(inc["period_start"]),
            "y": inc["count"].astype(float),
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        panel.to_parquet(folder / "panel.parquet", index=False)
        job = {"origins": origins, "tune_origins": tune, "horizon": HORIZON}
        (folder / "job.json").write_text(json.dumps(job), encoding="utf-8")
        done = subprocess.run([python, str(HERE / "peers_real.py"), str(folder)], check=False)
        if done.returncode:
            raise SystemExit("peers_real.py failed")
        out = pd.read_parquet(folder / "peers.parquet")
        timing = json.loads((folder / "peers_timing.json").read_text(encoding="utf-8"))
    parts = out["unique_id"].str.split("|", n=1, regex=False, expand=True)
    area, category = parts[0], parts[1]
    mean = out["mean"].to_numpy(dtype=float)
    mean = np.where(np.isfinite(mean), np.maximum(mean, 0.0), 0.0)
    q = nb_quantiles(mean, MAX_SIZE)
    frame = pd.DataFrame(
        {
            "run_id": "peer", "model": out["model"], "area_code": area, "category": category,
            "period_start": pd.to_datetime(out["ds"]).astype("datetime64[ns]"), "mean": mean,
            "q05": q[0], "q50": q[1], "q95": q[2], "origin": pd.to_datetime(out["origin"]).dt.date.astype(str),
        }
    )  # fmt: skip
    tables: dict[str, dict[str, pd.DataFrame]] = {}
    for (model, origin), part in frame.groupby(["model", "origin"], sort=False):
        tables.setdefault(str(model), {})[str(origin)] = part.drop(columns="origin").reset_index(drop=True)
    return tables, timing


def choose_best(
    frames: dict[str, pd.DataFrame], origins: list[str], models: list[Model]
) -> tuple[dict[str, pd.DataFrame], list[dict[str, Any]]]:
    """At each origin, what ``forecast --model best`` would do: a backtest on the months before it (the CLI's
    default folds, rolled by one month as :func:`selection_folds` says), :func:`choose_model`, then the chosen
    model's forecast at the origin. Every fold any origin chooses on is backtested once and each origin's folds
    are cut from that (:func:`restrict_folds`: the same result as a backtest on those folds alone)."""
    n_folds, step = selection_folds(Freq.M, HORIZON, Freq.M.default_folds, None)
    incidents = frames["incidents"]
    own: dict[str, list[pd.Timestamp]] = {}
    for origin in origins:
        before = incidents.loc[incidents["period_start"] < pd.Timestamp(origin), "period_start"]
        own[origin] = [f.origin for f in RollingOrigin(Freq.M, HORIZON, n_folds, step).split(before)]
    every = sorted({o for fold_origins in own.values() for o in fold_origins})
    result = backtest(
        frames, RollingOrigin(Freq.M, HORIZON, origins=tuple(every)), Lineup(models=tuple(models)),
        skill=SkillSettings(n_boot=300), scheduler="serial",
    )  # fmt: skip
    table, choices = {}, []
    for origin in origins:
        chosen_on = restrict_folds(result, own[origin])
        chosen, status = choose_model(chosen_on, "best")
        model = next((m for m in models if m.name == chosen), None) or make_model(chosen)
        history = History.from_frames(frames, origin=pd.Timestamp(origin), freq=Freq.M)
        table[origin] = model.fit(history).predict(HORIZON).assign(model="best")
        choices.append(
            {
                "origin": origin, "chosen": chosen, "status": status,
                "folds": [str(o.date()) for o in own[origin]],
                "fold_deviance": {m: [round(v, 4) for v in d] for m, d in fold_deviance(chosen_on).items()},
            }
        )  # fmt: skip
    return table, choices


def monthly(store: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The monthly table on toronto-dev."""
    with Store(store, read_only=True) as s:
        frames = load_frames(s, "M", events=False)
    frames.pop("truth", None)
    report = month_starts("2018-01-01", "2019-10-01")
    tune = month_starts("2017-01-01", "2017-10-01")[::3]
    if args.quick:
        report, tune = report[::4], tune[-2:]
    # best at a report origin needs the earlier folds' forecasts: cached, computed once
    cache: dict[tuple[str, str], pd.DataFrame] = {}
    seconds: dict[tuple[str, str], float] = {}
    counted = (*COUNT_MODELS, *args.extra)
    ours = [cached_class(name)(cache=cache, seconds=seconds) for name in counted]
    start = time.perf_counter()
    # best chooses among the default lineup's count models, as the CLI does (the stack runs only when named)
    best_table, choices = choose_best(frames, report, [m for m in ours if m.name in default_model_names()])
    best_seconds = (time.perf_counter() - start) / len(report)
    peers, timing = peer_forecasts(frames, report, tune, args.peers_python)
    lineup: list[Model] = [*ours, replayed("best", best_table)]
    lineup += [replayed(name, table) for name, table in sorted(peers.items())]
    naive = list(naive_names())
    result = backtest(
        frames, RollingOrigin("M", HORIZON, origins=tuple(report)), Lineup(models=lineup, naive=naive),
        skill=SkillSettings(n_boot=1000, seed=0), scheduler="serial",
    )  # fmt: skip
    summary = result.summary.set_index("model")
    base = summary.loc[result.baseline]
    rows = []
    for model, row in summary.iterrows():
        if model in counted:
            secs = float(np.median([seconds[(str(model), o)] for o in report]))
        elif model == "best":
            secs = best_seconds
        elif model in naive:
            secs = float("nan")
        else:
            secs = float(np.median([timing["seconds"][o][model] for o in report]))
        rows.append(
            {
                "model": model, "naive": bool(row["naive"]), "deviance": row["deviance"],
                "deviance_vs_naive_pct": 100 * (row["deviance"] / base["deviance"] - 1),
                "mae_median": row["mae_median"],
                "mae_median_vs_naive_pct": 100 * (row["mae_median"] / base["mae_median"] - 1),
                "pai_01": row["pai_01"], "pai_05": row["pai_05"], "pai_10": row["pai_10"],
                "skill": row["skill"], "skill_lo": row["skill_lo"], "skill_hi": row["skill_hi"],
                "seconds_per_origin": secs,
            }
        )  # fmt: skip
    return {
        "origins": report,
        "baseline": result.baseline,
        "rows": rows,
        "best_choices": choices,
        "peers": {k: v for k, v in timing.items() if k != "seconds"},
    }


def grid(store: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The hotspot table on toronto-dev burglary points."""
    with Store(store, read_only=True) as s:
        events, areas = s.read("events"), s.read("areas")
    n_report = 6 if args.quick else 26
    result = run_grid_backtest(
        events, categories=["woninginbraak"], cell_m=150, window_days=14, n_origins=n_report + SELECTION_ORIGINS,
        step_days=14, last_origin=pd.Timestamp("2019-12-17"), models=MODELS, areas=areas, n_boot=2000, seed=0,
    )  # fmt: skip
    per_origin = result["per_origin"]
    names = list(result["models"])
    choices = []
    for i in range(SELECTION_ORIGINS, len(per_origin)):
        earlier = per_origin[i - SELECTION_ORIGINS : i]
        past = {"models": names, "origins": [o["origin"] for o in earlier], "per_origin": earlier}
        past.update(summarise(earlier, names, [0.05], n_boot=10, seed=0))
        chosen, record = choose_from_backtest(past)
        per_origin[i]["metrics"]["best"] = per_origin[i]["metrics"][chosen]
        for clock in ("seconds", "cpu_seconds"):
            per_origin[i][clock]["best"] = per_origin[i][clock][chosen] + sum(
                o[clock][m] for o in earlier for m in names
            )
        choices.append({"origin": per_origin[i]["origin"], "chosen": chosen, "reason": record["reason"]})
    reported = per_origin[SELECTION_ORIGINS:]
    lineup = [*names, "best"]
    fractions = [float(f) for f in FRACTIONS]
    table = summarise(reported, lineup, fractions, n_boot=2000, seed=0)
    rows = []
    for model in lineup:
        row: dict[str, Any] = {"model": model, "baseline": model in BASELINES}
        for f in FRACTIONS:
            row[f"pai_{f}"] = table["summary"][model][f]["pai"]
            if model in table["comparison"]:
                c = table["comparison"][model][f]["pai"]
                row[f"pai_{f}_diff"] = c["difference"]
                row[f"pai_{f}_ci"] = [c["ci_low"], c["ci_high"]]
                row[f"pai_{f}_vs"] = c["best_baseline"]
        row["seconds_per_origin"] = float(np.median([o["seconds"][model] for o in reported]))
        row["cpu_seconds_per_origin"] = float(np.median([o["cpu_seconds"][model] for o in reported]))
        rows.append(row)
    ceiling = {f: table["ceiling_hit_rate"][f] / float(f) for f in FRACTIONS}
    return {
        "origins": [o["origin"] for o in reported],
        "n_cells": int(np.median([o["n_cells"] for o in reported])),
        "rows": rows,
        "ceiling_pai": ceiling,
        "best_choices": choices,
    }


def twin(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """The heerlen twin's weekly table with the oracle and the origin oracle."""
    db = folder / "heerlen.duckdb"
    done = subprocess.run(
        [sys.executable, "-m", "pulsetwin", "twin", "generate", "--preset", "heerlen", "--seed", "2026",
         "--years", "3", "--db", str(db)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode:
        raise SystemExit(f"twin generate failed:\n{done.stdout}\n{done.stderr}")
    with Store(db, read_only=True) as s:
        result = backtest(
            s, RollingOrigin("W", 4, 2 if args.quick else 6), Lineup(models=(*COUNT_MODELS, *args.extra)),
            skill=SkillSettings(n_boot=1000, seed=0), scheduler="serial",
        )  # fmt: skip
    keep = [
        "model", "naive", "deviance", "mae_median", "pai_01", "pai_05", "pai_10", "skill", "skill_lo",
        "skill_hi", "gap_share", "attainable_share", "attainable_share_lo", "attainable_share_hi",
    ]  # fmt: skip
    return {
        "baseline": result.baseline,
        "folds": [f.origin.date().isoformat() for f in result.folds],
        "notes": list(result.notes),
        "rows": records(result.summary[keep]),
    }


def fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    return f"{value:.{digits}f}"


def print_monthly(out: dict[str, Any]) -> None:
    print(f"\nToronto-dev monthly counts, {len(out['origins'])} origins {out['origins'][0]}..{out['origins'][-1]}, "
          f"H={HORIZON}; best naive rule: {out['baseline']}")  # fmt: skip
    print(
        "| model | deviance | vs naive | median-MAE | vs naive | PAI@1% | PAI@5% | PAI@10% | skill [95% CI] |",
        end="",
    )
    print(" s/origin |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in sorted(out["rows"], key=lambda r: r["deviance"]):
        print(
            f"| {r['model']} | {fmt(r['deviance'])} | {r['deviance_vs_naive_pct']:+.1f} % | {fmt(r['mae_median'])} | "
            f"{r['mae_median_vs_naive_pct']:+.1f} % | {fmt(r['pai_01'], 2)} | {fmt(r['pai_05'], 2)} | "
            f"{fmt(r['pai_10'], 2)} | {fmt(r['skill'])} [{fmt(r['skill_lo'])}, {fmt(r['skill_hi'])}] | "
            f"{fmt(r['seconds_per_origin'], 1)} |"
        )
    if "skipped" in out["peers"]:
        print(f"peers: {out['peers']['skipped']}")
    else:
        print(f"mlforecast setting chosen on 2017 origins: {out['peers'].get('mlf_setting')}")
    picked = pd.Series([c["chosen"] for c in out["best_choices"]]).value_counts().to_dict()
    print(f"best chose (by earlier folds only): {picked}")


def print_grid(out: dict[str, Any]) -> None:
    print(f"\nToronto-dev burglary hotspots, 150 m, 14 days, {len(out['origins'])} origins "
          f"{out['origins'][0]}..{out['origins'][-1]}, ~{out['n_cells']} masked cells")  # fmt: skip
    print("| model | PAI@1% | vs best baseline [95% CI] | PAI@5% | PAI@10% | s/origin | CPU s/origin |")
    print("|---|---|---|---|---|---|---|")
    for r in out["rows"]:
        diff = (
            f"{r['pai_0.01_diff']:+.2f} [{r['pai_0.01_ci'][0]:+.2f}, {r['pai_0.01_ci'][1]:+.2f}]"
            if "pai_0.01_diff" in r
            else "(baseline)"
        )
        print(
            f"| {r['model']} | {fmt(r['pai_0.01'], 2)} | {diff} | {fmt(r['pai_0.05'], 2)} | "
            f"{fmt(r['pai_0.1'], 2)} | {fmt(r['seconds_per_origin'], 2)} | {fmt(r['cpu_seconds_per_origin'], 2)} |"
        )
    c = out["ceiling_pai"]
    print(f"| ceiling (realised counts) | {c['0.01']:.2f} | | {c['0.05']:.2f} | {c['0.1']:.2f} | | |")
    picked = pd.Series([c["chosen"] for c in out["best_choices"]]).value_counts().to_dict()
    print(f"best chose (by the {SELECTION_ORIGINS} earlier origins): {picked}")


def print_twin(out: dict[str, Any]) -> None:
    print(
        f"\nHeerlen twin (seed 2026), weekly, H=4, folds {', '.join(out['folds'])}; best naive: {out['baseline']}"
    )
    print(
        "| model | deviance | median-MAE | PAI@1% | PAI@5% | PAI@10% | skill [95% CI] | gap share |", end=""
    )
    print(" attainable [95% CI] |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in out["rows"]:
        print(
            f"| {r['model']} | {fmt(r['deviance'])} | {fmt(r['mae_median'])} | {fmt(r['pai_01'], 2)} | "
            f"{fmt(r['pai_05'], 2)} | {fmt(r['pai_10'], 2)} | {fmt(r['skill'])} [{fmt(r['skill_lo'])}, "
            f"{fmt(r['skill_hi'])}] | {fmt(r['gap_share'], 2)} | {fmt(r['attainable_share'], 2)} "
            f"[{fmt(r['attainable_share_lo'], 2)}, {fmt(r['attainable_share_hi'], 2)}] |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--data", type=Path, help="The toronto-dev folder (default ../shared/data/toronto-dev)."
    )
    parser.add_argument("--quick", action="store_true", help="Few origins, for iterating.")
    parser.add_argument("--peers-python", help="Python of an environment with statsforecast and mlforecast.")
    parser.add_argument("--only", default="monthly,grid,twin", help="Comma-separated parts to run.")
    parser.add_argument(
        "--extra",
        default="",
        help="Comma-separated opt-in count models to add to the monthly and twin tables (stack).",
    )
    args = parser.parse_args()
    args.extra = tuple(name for name in args.extra.split(",") if name)
    parts = set(args.only.split(","))
    data = find_data(args.data)
    out: dict[str, Any] = {"data": str(data), "quick": args.quick}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if parts & {"monthly", "grid"}:
            db = folder / "toronto.duckdb"
            import_store(data, db)
            if "monthly" in parts:
                out["monthly"] = monthly(db, args)
                print_monthly(out["monthly"])
            if "grid" in parts:
                out["grid"] = grid(db, args)
                print_grid(out["grid"])
        if "twin" in parts:
            out["twin"] = twin(args, folder)
            print_twin(out["twin"])
    RESULTS.mkdir(exist_ok=True)
    name = "real" + ("_quick" if args.quick else "")
    if parts != {"monthly", "grid", "twin"}:
        name += "_" + "_".join(sorted(parts))
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(out, indent=1, default=float), encoding="utf-8")
    print(f"\nwritten {path}")


if __name__ == "__main__":
    main()
