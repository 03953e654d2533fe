"""Rolling-origin grid backtest: every model next to the count baselines and the ceiling, per origin.

At each origin the models see only earlier events; their maps are scored on the window that follows with hit
rate, PAI and PEI at several area fractions (:mod:`pulsetwin.metrics.hotspots`). Each model's
per-origin difference to the best baseline (the baseline with the highest mean for that metric and fraction) is
summarised with a percentile bootstrap interval over origins.

With areas the cells are clipped to the study area (:mod:`pulsetwin.hotspots.prepare`): the flagged area budget
and PAI/PEI use each cell's clipped area, and a map ranks cells by expected events per unit of that area (for
whole squares: by expected events, as before).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pulsetwin.exceptions import ParameterError
from pulsetwin.executor import map_tasks
from pulsetwin.hotspots.prepare import Mask, check_events, observed_counts, prepare_history
from pulsetwin.hotspots.registry import BASELINES, MODELS, check_model_names, make_model
from pulsetwin.metrics.hotspots import DEFAULT_FRACTIONS, hotspot_table
from pulsetwin.schema.params import Integer, check_param

METRICS = ("hit_rate", "pai", "pei")


def fraction_key(fraction: float) -> str:
    """The JSON key of an area fraction, e.g. ``"0.05"``."""
    return f"{fraction:g}"


@dataclass(frozen=True)
class OriginTask:
    """Everything one origin of a backtest needs (picklable, so origins can run in other processes)."""

    events: pd.DataFrame
    categories: tuple[str, ...]
    origin: pd.Timestamp
    window_days: int
    cell_m: float
    models: tuple[str, ...]
    mask: Mask
    grid_origin: tuple[int, int] | None
    areas: pd.DataFrame | None
    covariates: pd.DataFrame | None
    fractions: tuple[float, ...]
    seed: int


def evaluate_origin(task: OriginTask) -> dict[str, Any]:
    """Fit every model at one origin and score its map on the window that follows."""
    prepared = prepare_history(
        task.events,
        categories=task.categories,
        origin=task.origin,
        window_days=task.window_days,
        cell_m=task.cell_m,
        grid_origin=task.grid_origin,
        mask=task.mask,
        areas=task.areas,
        covariates=task.covariates,
    )
    observed, outside = observed_counts(task.events, prepared, task.categories)
    area = prepared.history.areas()
    share = prepared.history.area_share()
    metrics: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    cpu_seconds: dict[str, float] = {}
    ceiling: dict[str, float] = {}
    for name in task.models:
        start, cpu_start = time.perf_counter(), time.process_time()
        mean = make_model(name, seed=task.seed).fit(prepared.history).predict()
        seconds[name] = time.perf_counter() - start
        cpu_seconds[name] = time.process_time() - cpu_start
        table = hotspot_table(density_scores(mean, share), observed, area, task.fractions)
        metrics[name] = {fraction_key(f): {m: row[m] for m in METRICS} for f, row in table.items()}
        ceiling = {fraction_key(f): row["ceiling_hit_rate"] for f, row in table.items()}
    return {
        "origin": task.origin.date().isoformat(),
        "n_cells": prepared.info["n_cells"],
        "n_observed": int(observed.sum()),
        "n_observed_outside_mask": outside,
        "ceiling_hit_rate": ceiling,
        "metrics": metrics,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
    }


def density_scores(mean: np.ndarray, area_share: np.ndarray) -> np.ndarray:
    """Expected events per full-square equivalent of area: the ranking of cells of unequal (clipped) size.

    Equal to ``mean`` where cells are whole squares (``area_share`` exactly 1), so unclipped maps rank as before.
    """
    return np.asarray(mean, dtype=float) / np.asarray(area_share, dtype=float)


def backtest_origins(
    events: pd.DataFrame,
    *,
    window_days: int,
    n_origins: int,
    step_days: int | None,
    last_origin: pd.Timestamp | None,
) -> list[pd.Timestamp]:
    """Origins one ``step`` apart; the last one's window ends the day after the last event unless pinned."""
    check_param("origins", "backtest --grid", Integer(low=1), n_origins)
    step = window_days if step_days is None else step_days
    check_param("step", "backtest --grid", Integer(low=1, say="an integer number of days >= 1"), step)
    if last_origin is None:
        end = check_events(events)["occurred_at"].max().normalize() + pd.Timedelta(days=1)
        last_origin = end - pd.Timedelta(days=window_days)
    origins = [last_origin - pd.Timedelta(days=step * k) for k in range(n_origins - 1, -1, -1)]
    first_event = check_events(events)["occurred_at"].min()
    if origins[0] - pd.Timedelta(days=window_days) <= first_event:
        raise ParameterError(
            f"The first of {n_origins} origins ({origins[0].date()}) leaves less than one window of history "
            f"after the first event ({first_event.date()}). Fix: use fewer --origins or a smaller --step."
        )
    return origins


def _bootstrap(diff: np.ndarray, n_boot: int, rng: np.random.Generator) -> tuple[float, float]:
    """95 % percentile bootstrap interval of the mean of ``diff`` over resampled origins."""
    if diff.size == 0:
        return float("nan"), float("nan")
    means = diff[rng.integers(0, diff.size, size=(n_boot, diff.size))].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    return float(low), float(high)


def summarise(
    per_origin: list[dict[str, Any]],
    models: Sequence[str],
    fractions: Sequence[float],
    *,
    n_boot: int,
    seed: int,
) -> dict[str, Any]:
    """Mean metrics per model, the paired difference to the best baseline with intervals, and verdicts."""
    rng = np.random.default_rng(seed)
    scored = [o for o in per_origin if o["n_observed"] > 0]
    summary: dict[str, Any] = {m: {} for m in models}
    comparison: dict[str, Any] = {m: {} for m in models if m not in BASELINES}
    for fraction in map(fraction_key, fractions):
        for metric in METRICS:
            values = {
                m: np.array([o["metrics"][m][fraction][metric] for o in scored], dtype=float) for m in models
            }
            for m in models:
                summary[m].setdefault(fraction, {})[metric] = (
                    float(values[m].mean()) if scored else float("nan")
                )
            best = max(BASELINES, key=lambda b: (summary[b][fraction][metric], -BASELINES.index(b)))
            for m in comparison:
                diff = values[m] - values[best]
                low, high = _bootstrap(diff, n_boot, rng)
                comparison[m].setdefault(fraction, {})[metric] = {
                    "best_baseline": best,
                    "difference": float(diff.mean()) if diff.size else float("nan"),
                    "ci_low": low,
                    "ci_high": high,
                    "beats": bool(low > 0),
                }
    ceiling = {
        fraction_key(f): float(np.mean([o["ceiling_hit_rate"][fraction_key(f)] for o in scored]))
        if scored
        else None
        for f in fractions
    }
    return {
        "summary": summary,
        "comparison": comparison,
        "ceiling_hit_rate": ceiling,
        "verdicts": _verdicts(comparison),
    }


def _verdicts(comparison: dict[str, Any]) -> dict[str, str]:
    """One sentence per model on PAI at 5 % (and 1 %): does it beat the best baseline, with its interval."""
    out: dict[str, str] = {}
    for model, by_fraction in comparison.items():
        parts = []
        for fraction in ("0.01", "0.05"):
            if fraction not in by_fraction:
                continue
            c = by_fraction[fraction]["pai"]
            word = "beats" if c["beats"] else "does NOT beat"
            parts.append(
                f"PAI@{float(fraction):.0%}: {word} {c['best_baseline']} "
                f"(difference {c['difference']:+.2f}, 95% CI [{c['ci_low']:+.2f}, {c['ci_high']:+.2f}])"
            )
        out[model] = f"{model}: " + "; ".join(parts)
    return out


def run_grid_backtest(
    events: pd.DataFrame,
    *,
    categories: Sequence[str],
    cell_m: float,
    window_days: int,
    n_origins: int,
    step_days: int | None = None,
    last_origin: pd.Timestamp | None = None,
    models: Sequence[str] = MODELS,
    mask: Mask = Mask.EVENTS,
    grid_origin: tuple[int, int] | None = None,
    areas: pd.DataFrame | None = None,
    covariates: pd.DataFrame | None = None,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    seed: int = 0,
    n_boot: int = 2000,
    scheduler: str | None = "serial",
    workers: int | None = None,
) -> dict[str, Any]:
    """Backtest the count baselines and ``models`` over ``n_origins`` rolling origins.

    Returns
    -------
    dict
        ``settings``, ``origins``, ``per_origin`` (metrics per model and fraction, ceiling, timings),
        ``summary`` (means), ``comparison`` (paired difference to the best baseline with a bootstrap interval
        and ``beats``), ``ceiling_hit_rate`` and plain-language ``verdicts``.
    """
    names = check_model_names(list(models))
    origins = backtest_origins(
        events, window_days=window_days, n_origins=n_origins, step_days=step_days, last_origin=last_origin
    )
    tasks = [
        OriginTask(
            events=events,
            categories=tuple(categories),
            origin=origin,
            window_days=window_days,
            cell_m=cell_m,
            models=names,
            mask=mask,
            grid_origin=grid_origin,
            areas=areas,
            covariates=covariates,
            fractions=tuple(fractions),
            seed=seed,
        )
        for origin in origins
    ]
    per_origin = map_tasks(evaluate_origin, tasks, scheduler=scheduler, workers=workers)
    result: dict[str, Any] = {
        "settings": {
            "categories": list(categories),
            "cell_m": cell_m,
            "window_days": window_days,
            "step_days": step_days if step_days is not None else window_days,
            "mask": mask,
            "grid_origin": list(grid_origin) if grid_origin else None,
            "fractions": [fraction_key(f) for f in fractions],
            "seed": seed,
            "n_boot": n_boot,
        },
        "models": list(names),
        "baselines": list(BASELINES),
        "origins": [o.date().isoformat() for o in origins],
        "per_origin": per_origin,
    }
    result.update(summarise(per_origin, names, fractions, n_boot=n_boot, seed=seed))
    return result
