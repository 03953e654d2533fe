"""Synthetic CBS geography in RD New: gemeenten, wijken and buurten with codes, names and polygons.

``heerlen`` tessellates one city outline by a Voronoi diagram of seed points that are denser near the centre;
``nl`` places about 340 square municipalities in a rough outline of the country and splits each into a grid of
rectangular buurten (one wijk per row), which keeps 14,500 buurten fast.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from pulsetwin.schema.tables import AREAS
from pulsetwin.twin.names import area_names, town_names
from pulsetwin.twin.parameters import HEERLEN_CODE, Preset

_NL_OUTLINE = (
    (13_000, 370_000),
    (40_000, 410_000),
    (75_000, 430_000),
    (95_000, 490_000),
    (115_000, 555_000),
    (160_000, 590_000),
    (210_000, 610_000),
    (275_000, 600_000),
    (270_000, 530_000),
    (255_000, 470_000),
    (210_000, 440_000),
    (205_000, 380_000),
    (200_000, 306_000),
    (175_000, 306_000),
    (170_000, 360_000),
    (110_000, 370_000),
    (60_000, 360_000),
)


@dataclass(frozen=True)
class Geography:
    """Areas of a twin and the per-buurt arrays the process needs (all in buurt order).

    Attributes
    ----------
    areas
        Canonical areas table: gemeente, wijk and buurt rows.
    codes, wijk_codes, gemeente_codes
        Buurt code and its parents, per buurt.
    polygons
        Shapely polygons of the buurten (coordinates on a 1 m grid), prepared for containment tests.
    cx, cy
        A point inside each buurt (centroid, or a representative point when the centroid falls outside).
    land_km2
        Buurt area in square kilometres.
    dist_centre_km
        Distance from the buurt point to its gemeente centre.
    gemeente_population
        Target inhabitants per gemeente (indexed by ``gemeente_index``).
    gemeente_index
        Position of each buurt's gemeente in ``gemeente_population``.
    """

    areas: pd.DataFrame
    codes: np.ndarray
    wijk_codes: np.ndarray
    gemeente_codes: np.ndarray
    polygons: np.ndarray
    cx: np.ndarray
    cy: np.ndarray
    land_km2: np.ndarray
    dist_centre_km: np.ndarray
    gemeente_population: np.ndarray
    gemeente_index: np.ndarray

    @property
    def n_buurten(self) -> int:
        """Number of buurten."""
        return int(self.codes.size)


def build_geography(preset: Preset, rng: np.random.Generator) -> Geography:
    """Build the geography of ``preset`` from ``rng``."""
    if preset.name == "nl":
        return _country(preset, rng)
    return _city(preset, rng)


def _outline(preset: Preset, rng: np.random.Generator) -> shapely.Polygon:
    """A wobbly ellipse: a city outline of roughly ``width_m`` by ``height_m``."""
    theta = np.linspace(0.0, 2.0 * np.pi, 72, endpoint=False)
    k = np.arange(2, 6)
    wobble = rng.normal(0.0, 0.05, k.size)[:, None] * np.cos(
        k[:, None] * theta + rng.uniform(0, 6.3, k.size)[:, None]
    )
    radius = 1.0 + wobble.sum(axis=0)
    x = preset.centre_x + 0.5 * preset.width_m * radius * np.cos(theta)
    y = preset.centre_y + 0.5 * preset.height_m * radius * np.sin(theta)
    return shapely.Polygon(np.column_stack([np.round(x), np.round(y)]))


def _seed_points(outline: shapely.Polygon, n: int, preset: Preset, rng: np.random.Generator) -> np.ndarray:
    """``n`` points inside ``outline``, denser near the centre (buurten are smaller where density is high)."""
    xmin, ymin, xmax, ymax = outline.bounds
    picked = np.empty((0, 2))
    while picked.shape[0] < n:
        cand = rng.uniform((xmin, ymin), (xmax, ymax), size=(8 * n, 2))
        r_km = np.hypot(cand[:, 0] - preset.centre_x, cand[:, 1] - preset.centre_y) / 1000.0
        keep = shapely.contains_xy(outline, cand[:, 0], cand[:, 1])
        keep &= rng.uniform(size=cand.shape[0]) < 0.3 + 0.7 * np.exp(-r_km / 1.5)
        picked = np.vstack([picked, cand[keep]])
    return picked[:n]


def _voronoi(points: np.ndarray, outline: shapely.Polygon) -> np.ndarray:
    """Voronoi cells of ``points`` (in input order) clipped to ``outline``."""
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(points), extend_to=outline, ordered=True)
    )
    return np.asarray(shapely.intersection(cells, outline))


def _city(preset: Preset, rng: np.random.Generator) -> Geography:
    """One municipality (GM0917): Voronoi buurten grouped into a centre wijk and a ring of sector wijken."""
    outline = _outline(preset, rng)
    points = _seed_points(outline, preset.n_buurten, preset, rng)
    cells = _voronoi(points, outline)
    centroids = shapely.get_coordinates(shapely.centroid(cells))
    cells = _voronoi(centroids, outline)  # one Lloyd step evens out slivers
    cells = shapely.set_precision(cells, 1.0)
    inner = shapely.point_on_surface(cells)
    px, py = shapely.get_coordinates(inner).T
    dx, dy = px - preset.centre_x, py - preset.centre_y
    dist = np.hypot(dx, dy)
    ring = preset.n_wijken - 1
    angle = np.mod(np.arctan2(dy, dx) + rng.uniform(0, 2 * np.pi), 2 * np.pi)
    sector = np.minimum((angle / (2 * np.pi) * ring).astype(np.int64), ring - 1)
    centre_cut = np.quantile(dist, 1.0 / preset.n_wijken)
    wijk = np.where(dist <= centre_cut, 0, 1 + sector)
    order = np.lexsort((dist, wijk))
    cells, px, py, dist, wijk = cells[order], px[order], py[order], dist[order], wijk[order]
    number = np.arange(wijk.size) - np.searchsorted(wijk, wijk)  # position within its wijk
    gm = f"GM{HEERLEN_CODE}"
    wk_codes = np.array([f"WK{HEERLEN_CODE}{w:02d}" for w in range(preset.n_wijken)], dtype=object)
    codes = np.array(
        [f"BU{HEERLEN_CODE}{w:02d}{b:02d}" for w, b in zip(wijk, number, strict=True)], dtype=object
    )
    wijk_polys = np.array([shapely.union_all(cells[wijk == w]) for w in range(preset.n_wijken)])
    wijk_names = area_names(preset.n_wijken, rng, unique=True)
    wijk_names[0] = "Centrum"
    areas = _areas_frame(
        gemeente=(
            np.array([gm], dtype=object),
            np.array(["Heerlen (twin)"], dtype=object),
            np.array([outline]),
        ),
        wijk=(wk_codes, wijk_names, np.full(preset.n_wijken, gm, dtype=object), wijk_polys),
        buurt=(codes, area_names(codes.size, rng, unique=True), wk_codes[wijk], cells),
    )
    shapely.prepare(cells)
    return Geography(
        areas=areas,
        codes=codes,
        wijk_codes=wk_codes[wijk],
        gemeente_codes=np.full(codes.size, gm, dtype=object),
        polygons=cells,
        cx=px,
        cy=py,
        land_km2=shapely.area(cells) / 1e6,
        dist_centre_km=dist / 1000.0,
        gemeente_population=np.array([float(preset.population)]),
        gemeente_index=np.zeros(codes.size, dtype=np.int64),
    )


def _country(preset: Preset, rng: np.random.Generator) -> Geography:
    """Square municipalities inside a rough country outline, each a grid of rectangular buurten."""
    side = preset.gemeente_side_m
    xmin, ymin, xmax, ymax = preset.bbox
    gx, gy = np.meshgrid(np.arange(xmin, xmax - side, side), np.arange(ymin, ymax - side, side))
    gx, gy = gx.ravel(), gy.ravel()
    inside = shapely.contains_xy(shapely.Polygon(_NL_OUTLINE), gx + side / 2, gy + side / 2)
    chosen = np.sort(rng.choice(np.flatnonzero(inside), size=preset.n_gemeenten, replace=False))
    gx, gy = gx[chosen], gy[chosen]
    pop = rng.lognormal(0.0, 1.0, preset.n_gemeenten)
    pop = pop / pop.sum() * preset.population
    rows, cols = _grid_shapes(pop, preset.n_buurten)
    n_per = rows * cols
    g_index = np.repeat(np.arange(preset.n_gemeenten), n_per)
    within = np.arange(g_index.size) - np.repeat(np.cumsum(n_per) - n_per, n_per)
    row, col = within // cols[g_index], within % cols[g_index]
    x0 = np.round(gx[g_index] + side * col / cols[g_index])
    x1 = np.round(gx[g_index] + side * (col + 1) / cols[g_index])
    y0 = np.round(gy[g_index] + side * row / rows[g_index])
    y1 = np.round(gy[g_index] + side * (row + 1) / rows[g_index])
    cells = shapely.box(x0, y0, x1, y1)
    gm_numbers = np.sort(rng.choice(np.arange(1, 2000), size=preset.n_gemeenten, replace=False))
    gm_digits = np.array([f"{n:04d}" for n in gm_numbers], dtype=object)
    gm_codes = "GM" + gm_digits
    w_g = np.repeat(np.arange(preset.n_gemeenten), rows)
    w_row = np.arange(w_g.size) - np.repeat(np.cumsum(rows) - rows, rows)
    wk_codes = np.array([f"WK{gm_digits[g]}{r:02d}" for g, r in zip(w_g, w_row, strict=True)], dtype=object)
    wk_polys = shapely.box(
        gx[w_g],
        np.round(gy[w_g] + side * w_row / rows[w_g]),
        gx[w_g] + side,
        np.round(gy[w_g] + side * (w_row + 1) / rows[w_g]),
    )
    wk_of_buurt = np.repeat(np.arange(w_g.size), cols[w_g])
    codes = np.array(
        [f"BU{gm_digits[g]}{r:02d}{c:02d}" for g, r, c in zip(g_index, row, col, strict=True)], dtype=object
    )
    centre_x = gx + side * rng.uniform(0.3, 0.7, preset.n_gemeenten)
    centre_y = gy + side * rng.uniform(0.3, 0.7, preset.n_gemeenten)
    px, py = (x0 + x1) / 2, (y0 + y1) / 2
    areas = _areas_frame(
        gemeente=(gm_codes, town_names(preset.n_gemeenten, rng), shapely.box(gx, gy, gx + side, gy + side)),
        wijk=(wk_codes, area_names(wk_codes.size, rng, unique=False), gm_codes[w_g], wk_polys),
        buurt=(codes, area_names(codes.size, rng, unique=False), wk_codes[wk_of_buurt], cells),
    )
    shapely.prepare(cells)
    return Geography(
        areas=areas,
        codes=codes,
        wijk_codes=wk_codes[wk_of_buurt],
        gemeente_codes=gm_codes[g_index],
        polygons=cells,
        cx=px,
        cy=py,
        land_km2=(x1 - x0) * (y1 - y0) / 1e6,
        dist_centre_km=np.hypot(px - centre_x[g_index], py - centre_y[g_index]) / 1000.0,
        gemeente_population=pop,
        gemeente_index=g_index,
    )


def _grid_shapes(pop: np.ndarray, target: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of each gemeente's buurt grid: buurten grow like population^0.75; ``target`` total."""
    weight = pop**0.75 / np.sum(pop**0.75)
    lo, hi = 0.5 * target, 1.5 * target
    for _ in range(40):  # bisection on the scale so the total lands next to the target
        scale = (lo + hi) / 2
        wanted = np.clip(weight * scale, 2, 99 * 40)
        cols = np.clip(np.ceil(np.sqrt(wanted)), 2, 99).astype(np.int64)
        rows = np.clip(np.round(wanted / cols), 1, 99).astype(np.int64)
        lo, hi = (scale, hi) if int(np.sum(rows * cols)) < target else (lo, scale)
    return rows, cols


def _areas_frame(
    *, gemeente: tuple[np.ndarray, ...], wijk: tuple[np.ndarray, ...], buurt: tuple[np.ndarray, ...]
) -> pd.DataFrame:
    """Stack (codes, names, parents, polygons) per level into the canonical areas table."""
    gm_codes, gm_names, gm_polys = gemeente
    parts = [
        pd.DataFrame(
            {
                "area_code": gm_codes,
                "name": gm_names,
                "level": "gemeente",
                "parent_code": "",
                "geometry": shapely.to_wkt(gm_polys, rounding_precision=0),
            }
        ),
    ]
    for level, (codes, names, parents, polys) in (("wijk", wijk), ("buurt", buurt)):
        parts.append(
            pd.DataFrame(
                {
                    "area_code": codes,
                    "name": names,
                    "level": level,
                    "parent_code": parents,
                    "geometry": shapely.to_wkt(polys, rounding_precision=0),
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    for column in ("area_code", "name", "level", "parent_code", "geometry"):
        frame[column] = frame[column].astype("str")
    return frame[list(AREAS.column_names)]
