"""From canonical frames to a :class:`GridHistory` at one origin: the only place events meet the clock.

Events at or after the origin are dropped first, before anything else is computed, so nothing a map is built
from can come from the future. The lattice is built from all events before the origin (any category) so maps of
different categories share cells; ``mask="areas"`` also covers the areas' extent.

Whenever areas are given, the masked cells are clipped to the study area (the union of the area polygons): each
cell's area is that of its square inside the study area, cells without any overlap are dropped, and the clipped
polygons are kept for map outputs. ``mask="areas"`` keeps every cell that overlaps the study area (so the cells
tile it exactly); ``mask="events"`` keeps the cells holding events, clipped the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd
import shapely

from pulsetwin.exceptions import ParameterError, SchemaError, bad_parameter
from pulsetwin.grid.cells import (
    MIN_AREA_SHARE,
    Grid,
    area_at,
    area_geometries,
    build_grid,
    cells_over_areas,
    clip_cells,
    mask_events,
    study_area,
)
from pulsetwin.hotspots.base import GridHistory
from pulsetwin.schema.params import Integer, check_param


class Mask(StrEnum):
    """Which grid cells a hotspot map keeps: those overlapping the imported areas, or those holding events."""

    AREAS = "areas"
    EVENTS = "events"


NEEDED = ("category", "occurred_at", "x", "y")


@dataclass(frozen=True)
class Prepared:
    """A history plus the facts the output metadata reports, and the masked cells' (clipped) polygons when
    areas were given (None: whole squares)."""

    history: GridHistory
    info: dict[str, Any]
    cell_geometry: np.ndarray | None = None


def check_events(events: pd.DataFrame) -> pd.DataFrame:
    """Refuse a frame without the event columns or with unusable values; return the needed columns."""
    missing = [c for c in NEEDED if c not in events.columns]
    if missing:
        raise SchemaError(
            f"events must have columns {', '.join(NEEDED)}; missing {', '.join(missing)}",
            fix="pass the canonical events table (store.read('events'))",
        )
    frame = events[list(NEEDED)]
    if not pd.api.types.is_datetime64_any_dtype(frame["occurred_at"]):
        raise SchemaError("events.occurred_at must be timestamps", fix="read events through the store")
    bad = (
        frame["occurred_at"].isna()
        | ~np.isfinite(frame["x"].to_numpy(float))
        | ~np.isfinite(frame["y"].to_numpy(float))
    )
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise SchemaError(
            "every event needs a time and finite RD coordinates x, y",
            fix=f"fix or drop event row {row + 1} (0-based position {row})",
        )
    return frame


def parse_categories(categories: str | Sequence[str]) -> tuple[str, ...]:
    """``"a,b"`` or a sequence of slugs, as a tuple without repeats."""
    items = categories.split(",") if isinstance(categories, str) else list(categories)
    cats = tuple(dict.fromkeys(c.strip() for c in items if c.strip()))
    if not cats:
        raise bad_parameter("category", "hotspots", "one or more category slugs", categories)
    return cats


def _days(times: pd.Series, origin: pd.Timestamp) -> np.ndarray:
    """Days from ``origin`` (negative before it)."""
    return ((times - origin) / pd.Timedelta(days=1)).to_numpy(dtype=float)


def _cell_covariates(
    grid: Grid,
    cells: np.ndarray,
    areas: pd.DataFrame | None,
    covariates: pd.DataFrame | None,
    year: int,
    geometry: np.ndarray | None = None,
) -> tuple[np.ndarray | None, tuple[str, ...]]:
    """Covariates of the buurt holding each cell centre (of a clipped cell: a point inside its clipped polygon),
    latest year before ``year`` (published by then)."""
    if areas is None or covariates is None or areas.empty or covariates.empty:
        return None, ()
    buurten = areas[areas["level"] == "buurt"]
    known = covariates[covariates["year"] < year]
    if buurten.empty or known.empty:
        return None, ()
    latest = known.sort_values(["area_code", "variable", "year"]).drop_duplicates(
        ["area_code", "variable"], keep="last"
    )
    wide = latest.pivot(index="area_code", columns="variable", values="value").sort_index(axis=1)
    x, y = grid.centres(cells)
    if geometry is not None:
        # a clipped cell's centre may lie outside the study area; a point on its clipped part does not
        clipped = shapely.area(geometry) < float(grid.cell_m) ** 2
        inner = shapely.point_on_surface(geometry[clipped])
        x[clipped], y[clipped] = shapely.get_x(inner), shapely.get_y(inner)
    codes = area_at(x, y, buurten.reset_index(drop=True))
    values = wide.reindex(pd.Index(codes, dtype=object)).to_numpy(dtype=float)
    return values, tuple(str(c) for c in wide.columns)


def prepare_history(
    events: pd.DataFrame,
    *,
    categories: Sequence[str],
    origin: pd.Timestamp,
    window_days: int,
    cell_m: float,
    grid_origin: tuple[int, int] | None = None,
    mask: Mask = Mask.EVENTS,
    areas: pd.DataFrame | None = None,
    covariates: pd.DataFrame | None = None,
) -> Prepared:
    """Everything a hotspot model may know at ``origin``, on the lattice and mask asked for."""
    check_param("window_days", "hotspots", Integer(low=1, say="an integer number of days >= 1"), window_days)
    if mask not in ("areas", "events"):
        raise bad_parameter("mask", "hotspots", "'areas' or 'events'", mask)
    frame = check_events(events)
    past = frame[frame["occurred_at"] < origin]
    is_target = past["category"].isin(categories).to_numpy()
    if not is_target.any():
        known = ", ".join(sorted(map(str, past["category"].unique()))[:20]) or "none"
        raise ParameterError(
            f"No events of category {', '.join(categories)} before the origin {origin.date()}. "
            f"Categories with events then: {known}. Fix: pick one of those or a later origin."
        )
    x_all, y_all = past["x"].to_numpy(float), past["y"].to_numpy(float)
    bounds = None
    if mask == "areas":
        if areas is None or areas.empty:
            raise ParameterError(
                "mask 'areas' needs imported areas. Fix: import areas first or use --mask events."
            )
        bounds = tuple(shapely.total_bounds(area_geometries(areas)))
    grid = build_grid(x_all, y_all, cell_m, origin=grid_origin, bounds=bounds)
    flat_all = grid.locate(x_all, y_all)
    inside = flat_all >= 0
    cells, cell_area, geometry = _masked_cells(grid, mask, x_all, y_all, areas)
    if cells.size == 0:
        raise ParameterError(
            f"The '{mask}' mask keeps no cell of the grid. Fix: check the areas' CRS or the grid origin."
        )
    target = is_target & inside
    other = ~is_target & inside
    t = _days(past["occurred_at"], origin)
    order = np.argsort(t[target], kind="stable")
    other_order = np.argsort(t[other], kind="stable")
    covs, cov_names = _cell_covariates(grid, cells, areas, covariates, origin.year, geometry)
    history = GridHistory(
        grid=grid,
        cells=cells,
        origin=origin,
        window_days=int(window_days),
        t=t[target][order],
        x=x_all[target][order],
        y=y_all[target][order],
        cell=flat_all[target][order],
        other_t=t[other][other_order],
        other_cell=flat_all[other][other_order],
        covariates=covs,
        covariate_names=cov_names,
        cell_area=cell_area,
    )
    in_mask = np.isin(history.cell, cells)
    info: dict[str, Any] = {
        "categories": list(categories),
        "origin": origin.isoformat(),
        "window_days": int(window_days),
        "cell_m": grid.cell_m,
        "grid": {
            "x0": grid.x0,
            "y0": grid.y0,
            "nx": grid.nx,
            "ny": grid.ny,
            "pinned": grid_origin is not None,
        },
        "mask": mask,
        "n_cells": int(cells.size),
        "events_used": int(history.t.size),
        "events_outside_grid": int((is_target & ~inside).sum()),
        "events_outside_mask": int((~in_mask).sum()),
        "covariates": list(cov_names),
        "clipped_to_areas": cell_area is not None,
        "n_cells_clipped": int((history.area_share() < 1.0).sum()),
        "area_km2": float(history.areas().sum()) / 1e6,
    }
    return Prepared(history=history, info=info, cell_geometry=geometry)


def _masked_cells(
    grid: Grid, mask: Mask, x: np.ndarray, y: np.ndarray, areas: pd.DataFrame | None
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """The masked cells, and with areas their clipped areas (m²) and polygons (else None, None)."""
    if mask == "areas":
        assert areas is not None
        return cells_over_areas(grid, areas)
    cells = mask_events(grid, x, y)
    if areas is None or areas.empty:
        return cells, None, None
    area, geometry = clip_cells(grid, cells, study_area(areas))
    keep = area > MIN_AREA_SHARE * float(grid.cell_m) ** 2
    return cells[keep], area[keep], geometry[keep]


def observed_counts(
    events: pd.DataFrame, prepared: Prepared, categories: Sequence[str]
) -> tuple[np.ndarray, int]:
    """Target events per masked cell in the window after the origin, and how many fell outside the masked cells."""
    history = prepared.history
    frame = check_events(events)
    end = history.origin + pd.Timedelta(days=history.window_days)
    window = frame[(frame["occurred_at"] >= history.origin) & (frame["occurred_at"] < end)]
    window = window[window["category"].isin(categories)]
    flat = history.grid.locate(window["x"].to_numpy(float), window["y"].to_numpy(float))
    counts = np.bincount(flat[flat >= 0], minlength=history.grid.n_cells)[history.cells].astype(float)
    return counts, int(flat.size - counts.sum())
