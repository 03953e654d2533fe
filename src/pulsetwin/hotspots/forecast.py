"""One hotspot map at one origin: expected events per cell in the window, ranked, with its metadata."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import shapely

from pulsetwin.exceptions import ParameterError
from pulsetwin.hotspots.backtest import density_scores, run_grid_backtest
from pulsetwin.hotspots.prepare import Mask, check_events, parse_categories, prepare_history
from pulsetwin.hotspots.registry import BASELINES, MODELS, make_model

OUTPUT_COLUMNS = ("cell_code", "x_min", "y_min", "cell_m", "mean", "rank", "area_m2", "geometry")
SELECTION_ORIGINS = 6
"""Earlier origins ``best`` is chosen on: PAI of one 14-day window of burglaries varies by tens of per cent
from window to window, more than the models differ, so three windows let noise decide; six halve the
variance of the mean for twice the selection time."""


def select_best(
    past: pd.DataFrame,
    *,
    categories: Sequence[str],
    origin: pd.Timestamp,
    window_days: int,
    cell_m: float,
    grid_origin: tuple[int, int] | None,
    mask: Mask,
    areas: pd.DataFrame | None,
    covariates: pd.DataFrame | None,
    seed: int,
) -> tuple[str, dict[str, Any]]:
    """The model with the highest mean PAI at 5 % over the last few windows before ``origin``.

    Falls back to the best baseline when no model beats it; the returned record says which and why.
    """
    result = run_grid_backtest(
        past,
        categories=categories,
        cell_m=cell_m,
        window_days=window_days,
        n_origins=SELECTION_ORIGINS,
        last_origin=origin - pd.Timedelta(days=window_days),
        models=MODELS,
        mask=mask,
        grid_origin=grid_origin,
        areas=areas,
        covariates=covariates,
        seed=seed,
        n_boot=200,
    )
    return choose_from_backtest(result)


def choose_from_backtest(result: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The model with the highest mean PAI at 5 % in a grid backtest ``result`` of earlier origins (ties: the
    earlier name in ``result["models"]``, baselines first), and the record of why: every model's mean and
    per-origin PAI@5% (the fold scores), the origins and a sentence.

    Falls back to the best baseline when no model beats it. Kept apart from :func:`select_best` so a benchmark
    that already scored the earlier origins chooses exactly as ``hotspots --model best`` does.
    """
    pai5 = {m: result["summary"][m]["0.05"]["pai"] for m in result["models"]}
    per_origin = {m: [o["metrics"][m]["0.05"]["pai"] for o in result["per_origin"]] for m in result["models"]}
    ranked = sorted(pai5, key=lambda m: (-np.nan_to_num(pai5[m], nan=-np.inf), result["models"].index(m)))
    chosen = ranked[0]
    best_baseline = next(m for m in ranked if m in BASELINES)
    n = len(result["origins"])
    reason = (
        f"{chosen} has the highest mean PAI@5% ({pai5[chosen]:.2f}) over {n} earlier origins, "
        f"above the best baseline {best_baseline} ({pai5[best_baseline]:.2f})"
        if chosen not in BASELINES
        else f"no model beat the best baseline {chosen} (PAI@5% {pai5[chosen]:.2f}) over {n} "
        "earlier origins, so the baseline is used"
    )
    record = {
        "pai_at_5pct": pai5,
        "pai_at_5pct_per_origin": per_origin,
        "origins": result["origins"],
        "reason": reason,
    }
    return chosen, record


def hotspot_map(
    events: pd.DataFrame,
    *,
    categories: str | Sequence[str],
    origin: pd.Timestamp | str,
    window_days: int,
    cell_m: float,
    grid_origin: tuple[int, int] | None = None,
    model: str = "best",
    mask: Mask = Mask.EVENTS,
    areas: pd.DataFrame | None = None,
    covariates: pd.DataFrame | None = None,
    seed: int = 0,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Expected events of ``categories`` per grid cell in ``[origin, origin + window_days)``.

    Only events before ``origin`` are read. ``model="best"`` picks the model by a small grid backtest at earlier
    origins (see :func:`select_best`).

    Returns
    -------
    (cells, metadata)
        ``cells`` has columns ``cell_code, x_min, y_min, cell_m, mean, rank, area_m2, geometry`` sorted by rank
        (1 = highest expected events per unit area, which for whole squares is the highest mean; ties by cell
        order: south to north, then west to east). With areas, ``area_m2`` and ``geometry`` (WKT, EPSG:28992)
        are the cell clipped to the study area; without, the full square. ``metadata`` records the model, mask,
        cell count, clipping, expected total and how the model was chosen.
    """
    cats = parse_categories(categories)
    when = pd.Timestamp(origin)
    frame = check_events(events)
    past = frame[frame["occurred_at"] < when]
    selection: dict[str, Any] | None = None
    chosen = model
    if model == "best":
        chosen, selection = select_best(
            past,
            categories=cats,
            origin=when,
            window_days=window_days,
            cell_m=cell_m,
            grid_origin=grid_origin,
            mask=mask,
            areas=areas,
            covariates=covariates,
            seed=seed,
        )
    fitted = make_model(chosen, seed=seed)
    prepared = prepare_history(
        past,
        categories=cats,
        origin=when,
        window_days=window_days,
        cell_m=cell_m,
        grid_origin=grid_origin,
        mask=mask,
        areas=areas,
        covariates=covariates,
    )
    history = prepared.history
    mean = fitted.fit(history).predict()
    if mean.shape != history.cells.shape or not np.all(np.isfinite(mean)) or np.any(mean < 0):
        raise ParameterError(f"Model {chosen} produced an invalid map (non-finite or negative means).")
    order = np.argsort(-density_scores(mean, history.area_share()), kind="stable")
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(1, order.size + 1)
    grid = history.grid
    geometry = grid.boxes(history.cells) if prepared.cell_geometry is None else prepared.cell_geometry
    cells = (
        pd.DataFrame(
            {
                "cell_code": grid.codes(history.cells),
                "x_min": grid.x_min(history.cells),
                "y_min": grid.y_min(history.cells),
                "cell_m": np.full(history.cells.size, grid.cell_m, dtype=np.int64),
                "mean": mean,
                "rank": rank,
                "area_m2": history.areas(),
                "geometry": shapely.to_wkt(geometry, rounding_precision=-1),
            }
        )
        .iloc[order]
        .reset_index(drop=True)
    )
    metadata: dict[str, Any] = {
        "model": chosen,
        "model_requested": model,
        "selection": selection,
        "seed": seed,
        "expected_total": float(mean.sum()),
        **prepared.info,
    }
    return cells, metadata
