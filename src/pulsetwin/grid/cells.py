"""A square lattice of cells in RD New metres and the operations every hotspot model shares.

A cell is named ``C<x_min>_<y_min>`` after the integer RD coordinates of its lower-left corner. A point on a
cell's left or lower edge belongs to that cell; a point on its right or upper edge to the next one. Cells are
numbered row by row from the lower-left corner (``flat = iy * nx + ix``), so sorting by number is sorting by
``(y_min, x_min)``: that is the "cell order" used to break ties everywhere.

Cells on the border of a study area can be *clipped* to it (:func:`clip_cells`, :func:`cells_over_areas`): the
cell's area is then that of the square intersected with the union of the area polygons, so a cell half outside
the municipality (or half in water left out of its polygons) counts for half its square in area-based metrics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
import shapely

from pulsetwin.exceptions import Location, ParameterError, SchemaError, bad_parameter

MAX_LATTICE_CELLS: Final = 40_000_000
"""A lattice larger than this (e.g. 10 m cells over the whole country) is refused rather than exhausting memory."""

CELL_CODE_PATTERN: Final = re.compile(r"^C(-?\d+)_(-?\d+)$")

MIN_AREA_SHARE: Final = 1e-9
"""A clipped cell keeping less than this share of its square is treated as outside: a polygon edge that runs
along a cell edge leaves only rounding noise, not a sliver of the study area."""


def _integer(value: float, name: str, owner: str, *, positive: bool = False) -> int:
    """Return ``value`` as an int when it is a whole number (and positive when asked), else refuse it."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise bad_parameter(name, owner, "a whole number of metres", value)
    if not np.isfinite(value) or float(value) != int(value) or (positive and value <= 0):
        must = "a positive whole number of metres" if positive else "a whole number of metres"
        raise bad_parameter(name, owner, must, value)
    return int(value)


def snap_down(value: float | np.ndarray, cell_m: int) -> np.ndarray:
    """The largest multiple of ``cell_m`` at or below ``value`` (integers, elementwise)."""
    return (np.floor(np.asarray(value, dtype=float) / cell_m) * cell_m).astype(np.int64)


def cell_code(x_min: np.ndarray | int, y_min: np.ndarray | int) -> np.ndarray:
    """Codes ``C<x_min>_<y_min>`` for integer lower-left corners (vectorised)."""
    xs = np.char.mod("%d", np.atleast_1d(np.asarray(x_min, dtype=np.int64)))
    ys = np.char.mod("%d", np.atleast_1d(np.asarray(y_min, dtype=np.int64)))
    return np.char.add(np.char.add(np.char.add("C", xs), "_"), ys).astype(object)


def parse_cell_code(code: str) -> tuple[int, int]:
    """The lower-left corner ``(x_min, y_min)`` of a cell code, or a SchemaError naming the code."""
    match = CELL_CODE_PATTERN.match(code)
    if match is None:
        raise SchemaError(
            "a grid cell code must read C<x_min>_<y_min> with integer RD metres", fix="e.g. C155000_463000"
        )
    return int(match.group(1)), int(match.group(2))


def parse_grid_origin(text: str) -> tuple[int, int]:
    """Parse ``"X,Y"`` (integer RD metres) as given to ``--grid-origin``."""
    parts = text.split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        x, y = (float(p) for p in parts)
    except ValueError:
        raise bad_parameter(
            "grid_origin", "hotspots", "'X,Y' in whole RD metres, e.g. '155000,463000'", text
        ) from None
    return _integer(x, "grid_origin", "hotspots"), _integer(y, "grid_origin", "hotspots")


@dataclass(frozen=True)
class Grid:
    """A rectangular lattice of ``nx`` by ``ny`` square cells of ``cell_m`` metres from ``(x0, y0)``."""

    x0: int
    y0: int
    cell_m: int
    nx: int
    ny: int

    @property
    def n_cells(self) -> int:
        """Number of lattice cells (masked or not)."""
        return self.nx * self.ny

    def locate(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Flat cell number of each point, ``-1`` for points outside the lattice."""
        ix = np.floor((np.asarray(x, dtype=float) - self.x0) / self.cell_m)
        iy = np.floor((np.asarray(y, dtype=float) - self.y0) / self.cell_m)
        inside = (ix >= 0) & (ix < self.nx) & (iy >= 0) & (iy < self.ny)
        flat = np.full(ix.shape, -1, dtype=np.int64)
        flat[inside] = iy[inside].astype(np.int64) * self.nx + ix[inside].astype(np.int64)
        return flat

    def x_min(self, flat: np.ndarray) -> np.ndarray:
        """Integer RD x of the lower-left corners."""
        return self.x0 + (np.asarray(flat, dtype=np.int64) % self.nx) * self.cell_m

    def y_min(self, flat: np.ndarray) -> np.ndarray:
        """Integer RD y of the lower-left corners."""
        return self.y0 + (np.asarray(flat, dtype=np.int64) // self.nx) * self.cell_m

    def centres(self, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """RD coordinates of the cell centres."""
        half = self.cell_m / 2.0
        return self.x_min(flat) + half, self.y_min(flat) + half

    def codes(self, flat: np.ndarray) -> np.ndarray:
        """Cell codes ``C<x_min>_<y_min>``."""
        return cell_code(self.x_min(flat), self.y_min(flat))

    def areas(self, flat: np.ndarray) -> np.ndarray:
        """Cell areas in square metres (all equal on one lattice; kept explicit for area-weighted metrics)."""
        return np.full(np.asarray(flat).shape, float(self.cell_m) ** 2)

    def boxes(self, flat: np.ndarray) -> np.ndarray:
        """The cells' squares as shapely polygons (vectorised)."""
        x_min, y_min = self.x_min(flat), self.y_min(flat)
        return np.asarray(shapely.box(x_min, y_min, x_min + self.cell_m, y_min + self.cell_m))

    def image(self, flat: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """A dense ``(ny, nx)`` array of (weighted) counts of the given flat cell numbers."""
        counts = np.bincount(np.asarray(flat, dtype=np.int64), weights=weights, minlength=self.n_cells)
        return counts.astype(float).reshape(self.ny, self.nx)


def build_grid(
    x: np.ndarray,
    y: np.ndarray,
    cell_m: float,
    *,
    origin: tuple[int, int] | None = None,
    bounds: tuple[float, float, float, float] | None = None,
) -> Grid:
    """The lattice covering the points (and ``bounds`` ``(xmin, ymin, xmax, ymax)`` when given).

    The lower-left corner is ``origin`` when pinned, else the lower-left of what must be covered, snapped down to
    a multiple of ``cell_m``. Points below or left of a pinned origin fall outside the lattice.
    """
    size = _integer(cell_m, "cell_m", "build_grid", positive=True)
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    if xs.size == 0 and bounds is None:
        raise ParameterError("build_grid needs at least one point or bounds to cover. Got neither.")
    lo_x = [xs.min()] if xs.size else []
    lo_y = [ys.min()] if ys.size else []
    hi_x = [xs.max()] if xs.size else []
    hi_y = [ys.max()] if ys.size else []
    if bounds is not None:
        lo_x.append(bounds[0])
        lo_y.append(bounds[1])
        hi_x.append(bounds[2])
        hi_y.append(bounds[3])
    if origin is None:
        x0, y0 = int(snap_down(min(lo_x), size)), int(snap_down(min(lo_y), size))
    else:
        x0 = _integer(origin[0], "grid_origin", "build_grid")
        y0 = _integer(origin[1], "grid_origin", "build_grid")
    if max(hi_x) < x0 or max(hi_y) < y0:
        raise ParameterError(
            f"The grid origin ({x0}, {y0}) lies above or right of every point to cover "
            f"(max x {max(hi_x):.0f}, max y {max(hi_y):.0f}). Fix: pin a lower-left corner below and left of the data."
        )
    nx = int(np.floor((max(hi_x) - x0) / size)) + 1
    ny = int(np.floor((max(hi_y) - y0) / size)) + 1
    if nx * ny > MAX_LATTICE_CELLS:
        raise ParameterError(
            f"A {size} m grid over this extent has {nx} x {ny} = {nx * ny:,} cells, more than {MAX_LATTICE_CELLS:,}. "
            "Fix: use a larger --cell or restrict the events to a smaller region."
        )
    return Grid(x0=x0, y0=y0, cell_m=size, nx=nx, ny=ny)


def mask_events(grid: Grid, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Sorted flat numbers of the cells holding at least one of the points."""
    flat = grid.locate(x, y)
    return np.unique(flat[flat >= 0])


def area_geometries(areas: pd.DataFrame) -> np.ndarray:
    """Shapely geometries of an areas frame; unreadable WKT raises a SchemaError naming the row and value."""
    texts = areas["geometry"].to_numpy(dtype=object)
    geoms = np.asarray(shapely.from_wkt(texts, on_invalid="ignore"))
    missing = np.flatnonzero(pd.isna(geoms))
    if missing.size:
        row = int(missing[0])
        raise SchemaError(
            "geometry must be a polygon as WKT in EPSG:28992",
            where=Location(row=row + 1, column="geometry", value=texts[row]),
            fix="re-import the areas with valid polygons",
        )
    return geoms


def study_area(areas: pd.DataFrame) -> shapely.Geometry:
    """The union of the area polygons: the region grid cells are clipped to."""
    return shapely.union_all(area_geometries(areas))


def _window(grid: Grid, region: shapely.Geometry) -> np.ndarray:
    """Flat numbers of the lattice cells overlapping the bounding box of ``region``."""
    xmin, ymin, xmax, ymax = region.bounds
    ix = np.arange(
        max(0, int((xmin - grid.x0) // grid.cell_m)), min(grid.nx, int((xmax - grid.x0) // grid.cell_m) + 1)
    )
    iy = np.arange(
        max(0, int((ymin - grid.y0) // grid.cell_m)), min(grid.ny, int((ymax - grid.y0) // grid.cell_m) + 1)
    )
    return (iy[:, None] * grid.nx + ix[None, :]).ravel()


def cells_in_areas(grid: Grid, areas: pd.DataFrame) -> np.ndarray:
    """Sorted flat numbers of the cells whose centre lies inside (or on the edge of) any area polygon."""
    if areas.empty:
        return np.empty(0, dtype=np.int64)
    union = study_area(areas)
    flat = _window(grid, union)
    cx, cy = grid.centres(flat)
    shapely.prepare(union)
    return np.sort(flat[shapely.intersects_xy(union, cx, cy)])


def clip_cells(grid: Grid, flat: np.ndarray, region: shapely.Geometry) -> tuple[np.ndarray, np.ndarray]:
    """Area (m²) and geometry of each cell intersected with ``region``.

    Cells wholly inside keep their square (no intersection is computed for them), cells outside get area 0 and
    an empty geometry; only cells on the border are intersected, with shapely's vectorised ``intersection``.
    """
    cells = np.asarray(flat, dtype=np.int64)
    boxes = grid.boxes(cells)
    shapely.prepare(region)
    inside = np.asarray(shapely.contains_properly(region, boxes), dtype=bool)
    border = ~inside & np.asarray(shapely.intersects(region, boxes), dtype=bool)
    geometry = np.full(cells.shape, shapely.Polygon(), dtype=object)
    geometry[inside] = boxes[inside]
    geometry[border] = shapely.intersection(boxes[border], region)
    area = np.zeros(cells.shape, dtype=float)
    area[inside] = float(grid.cell_m) ** 2
    area[border] = shapely.area(geometry[border])
    return area, geometry


def cells_over_areas(grid: Grid, areas: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every cell overlapping the union of the area polygons, clipped to it: sorted flat numbers, clipped areas
    (m²) and clipped geometries. Cells whose overlap is below :data:`MIN_AREA_SHARE` of a square are dropped."""
    if areas.empty:
        return np.empty(0, dtype=np.int64), np.empty(0), np.empty(0, dtype=object)
    union = study_area(areas)
    flat = np.sort(_window(grid, union))
    area, geometry = clip_cells(grid, flat, union)
    keep = area > MIN_AREA_SHARE * float(grid.cell_m) ** 2
    return flat[keep], area[keep], geometry[keep]


def containing_area(grid: Grid, flat: np.ndarray, areas: pd.DataFrame) -> np.ndarray:
    """The ``area_code`` whose polygon holds each cell centre (first by area order on shared edges), else None."""
    cx, cy = grid.centres(flat)
    return area_at(cx, cy, areas)


def area_at(x: np.ndarray, y: np.ndarray, areas: pd.DataFrame) -> np.ndarray:
    """The ``area_code`` whose polygon holds each point (first by area order on shared edges), else None."""
    out = np.full(np.asarray(x).shape, None, dtype=object)
    if areas.empty or out.size == 0:
        return out
    tree = shapely.STRtree(area_geometries(areas))
    point_idx, area_idx = tree.query(shapely.points(x, y), predicate="intersects")
    order = np.lexsort((area_idx, point_idx))
    point_idx, area_idx = point_idx[order], area_idx[order]
    first = np.r_[True, point_idx[1:] != point_idx[:-1]]
    out[point_idx[first]] = areas["area_code"].to_numpy(dtype=object)[area_idx[first]]
    return out
