"""An independent synthetic city for end-to-end tests of the CLI: canonical CSVs from a process that is not the
project's twin (it never imports :mod:`pulsetwin.twin`), so a model cannot be quietly tuned to it.

The made-up gemeente ``GM9901`` has ``n_areas`` buurten ``BU9901WWBB`` (square or hexagonal cells of
``cell_m`` metres in EPSG:28992, grouped in wijken ``WK9901WW``). Per category ``c``, area ``a`` and period
``t`` the expected recorded count is

    mu[a, c, t] = days(t) / 7 * exp(intercept_c + beta_c * z_a + v_a + u[a, t] + amp_c * sin(2 pi doy(t) / 365.25
                  + phase_c))

with ``z_a`` a standardised area covariate (``deprivation``, published per year with a small drift), ``v_a`` a
fixed area effect (sd ``area_sd``), ``u`` an AR(1) area effect drifting over time (stationary sd ``ar_sd``,
``ar_rho`` per week, so ``ar_rho ** (days / 7)`` per period) shared by the categories, and counts drawn
negative-binomial with size ``size_c`` (Poisson when ``size_c`` is infinite). ``mu`` goes into the truth
table, so the oracle reads the mean given the latent state. :data:`NO_SIGNAL` is pure iid Poisson with a
constant rate per area: nothing beats the area's historical mean there.

Notes
-----
NB counts as a Gamma-Poisson mixture (Cameron & Trivedi 2013, *Regression Analysis of Count Data*, 4.2);
AR(1) latent area effects as in dynamic count models (Zeger 1988, Biometrika 75(4)).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import shapely

from pulsetwin.schema.tables import AREAS, COVARIATES, INCIDENTS, TRUTH

GEMEENTE = "GM9901"
ORIGIN_RD = (190_000.0, 330_000.0)
"""Lower-left corner of the city in RD New metres (inside the Netherlands' bounding box)."""


@dataclass(frozen=True)
class CategoryProcess:
    """One category: log weekly rate ``intercept`` at ``z = 0``, covariate effect ``beta``, annual cycle
    ``amp``/``phase`` and NB ``size`` (``inf``: Poisson)."""

    slug: str
    intercept: float
    beta: float
    amp: float
    phase: float
    size: float


@dataclass(frozen=True)
class Process:
    """The data-generating process: categories, area effects and the AR(1) drift."""

    categories: tuple[CategoryProcess, ...]
    area_sd: float = 0.3
    ar_sd: float = 0.35
    ar_rho: float = 0.95


DEFAULT = Process(
    categories=(
        CategoryProcess("vandalism", np.log(2.0), 0.8, 0.35, 0.0, 8.0),
        CategoryProcess("nuisance_drugs_alcohol", np.log(1.2), 0.6, 0.5, 1.5, 5.0),
        CategoryProcess("theft_bicycle", np.log(0.8), -0.4, 0.6, -1.2, 4.0),
        CategoryProcess("robbery", np.log(0.05), 0.7, 0.0, 0.0, 2.0),
        CategoryProcess("arson", np.log(0.05), 0.3, 0.4, 3.0, np.inf),
    )
)
"""Three dense and two sparse (~0.05 per area and week) categories with a strong covariate signal."""
NO_SIGNAL = Process(
    categories=tuple(CategoryProcess(c.slug, c.intercept, 0.0, 0.0, 0.0, np.inf) for c in DEFAULT.categories),
    area_sd=0.5,
    ar_sd=0.0,
)
"""Pure iid Poisson with a constant rate per area (no covariate effect, no cycle, no drift)."""


@dataclass(frozen=True)
class City:
    """The canonical frames of one simulated city: ``areas``, ``covariates``, ``incidents``, ``truth``."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def write(self, directory: Path) -> dict[str, Path]:
        """Write every table as ``<name>.csv`` (ISO dates) in ``directory``; return the paths by table."""
        directory.mkdir(parents=True, exist_ok=True)
        paths = {}
        for name, frame in self.tables.items():
            paths[name] = directory / f"{name}.csv"
            frame.to_csv(paths[name], index=False, date_format="%Y-%m-%d")
        return paths


def periods(freq: Literal["W", "M"], start_year: int, years: int) -> pd.DatetimeIndex:
    """Period starts (Mondays for W, month starts for M) inside ``years`` calendar years from ``start_year``."""
    rule = "W-MON" if freq == "W" else "MS"
    return pd.date_range(f"{start_year}-01-01", f"{start_year + years - 1}-12-31", freq=rule).as_unit("ns")


def buurt_codes(n_areas: int) -> list[str]:
    """``n_areas`` buurt codes of :data:`GEMEENTE`, ten buurten per wijk."""
    return [f"BU{GEMEENTE[2:]}{i // 10 + 1:02d}{i % 10 + 1:02d}" for i in range(n_areas)]


def geometries(n_areas: int, shape: Literal["square", "hex"], cell_m: float) -> list[str]:
    """WKT polygons tiling a near-square block in EPSG:28992: squares, or pointy-top hexagons of width
    ``cell_m`` (odd rows shifted by half a cell, so neighbours share edges)."""
    side = int(np.ceil(np.sqrt(n_areas)))
    i = np.arange(n_areas)
    row, col = i // side, i % side
    if shape == "square":
        x0 = ORIGIN_RD[0] + col * cell_m
        y0 = ORIGIN_RD[1] + row * cell_m
        return list(shapely.to_wkt(shapely.box(x0, y0, x0 + cell_m, y0 + cell_m), rounding_precision=2))
    radius = cell_m / np.sqrt(3.0)
    cx = ORIGIN_RD[0] + cell_m * (col + 0.5 * (row % 2) + 0.5)
    cy = ORIGIN_RD[1] + 1.5 * radius * row + radius
    angles = np.deg2rad(30.0 + 60.0 * np.arange(7))
    rings = np.stack([cx[:, None] + radius * np.cos(angles), cy[:, None] + radius * np.sin(angles)], axis=-1)
    return list(shapely.to_wkt(shapely.polygons(np.round(rings, 3)), rounding_precision=3))


def generate_city(
    *,
    n_areas: int = 40,
    years: int = 3,
    freq: Literal["W", "M"] = "W",
    seed: int = 0,
    process: Process = DEFAULT,
    start_year: int = 2021,
    shape: Literal["square", "hex"] = "square",
    cell_m: float = 500.0,
) -> City:
    """Simulate a city: canonical ``areas`` (the gemeente, its wijken and buurten), ``covariates`` (one year
    before the first period to the last year), ``incidents`` (every buurt, category and period, zeros
    included, source ``sim``) and ``truth`` (the mean of each incident count)."""
    rng = np.random.default_rng(seed)
    codes = buurt_codes(n_areas)
    grid = periods(freq, start_year, years)
    n_t = len(grid)
    days = (grid.shift(1, freq="W-MON" if freq == "W" else "MS") - grid).days.to_numpy(dtype=float)
    z = rng.standard_normal(n_areas)
    z = (z - z.mean()) / z.std()
    area_effect = process.area_sd * rng.standard_normal(n_areas)
    drift = np.zeros((n_areas, n_t))
    if process.ar_sd > 0:
        state = process.ar_sd * rng.standard_normal(n_areas)
        for t in range(n_t):
            rho = process.ar_rho ** (days[t] / 7.0)
            state = rho * state + process.ar_sd * np.sqrt(1.0 - rho**2) * rng.standard_normal(n_areas)
            drift[:, t] = state
    phase_of_year = 2.0 * np.pi * grid.day_of_year.to_numpy() / 365.25
    cats = process.categories
    intercept = np.array([c.intercept for c in cats])[None, :, None]
    beta = np.array([c.beta for c in cats])[None, :, None]
    cycle = np.array([c.amp for c in cats])[:, None] * np.sin(
        phase_of_year[None, :] + np.array([c.phase for c in cats])[:, None]
    )
    log_mu = intercept + beta * z[:, None, None] + (area_effect[:, None] + drift)[:, None, :] + cycle[None]
    mu = days[None, None, :] / 7.0 * np.exp(log_mu)
    size = np.array([c.size for c in cats])[None, :, None]
    finite = np.broadcast_to(np.isfinite(size), mu.shape)
    shape_k = np.where(np.isfinite(size), size, 1.0)
    gamma = rng.gamma(np.broadcast_to(shape_k, mu.shape), mu / shape_k)
    counts = rng.poisson(np.where(finite, gamma, mu))
    return City(
        {
            "areas": _areas(codes, shape, cell_m),
            "covariates": _covariates(codes, z, start_year, years, rng),
            "incidents": _long(codes, cats, grid, counts, freq, "count"),
            "truth": _long(codes, cats, grid, mu, freq, "intensity"),
        }
    )


def _areas(codes: list[str], shape: Literal["square", "hex"], cell_m: float) -> pd.DataFrame:
    """Buurten with geometry plus their wijken and the gemeente (the union of their buurten)."""
    wkt = geometries(len(codes), shape, cell_m)
    buurten = pd.DataFrame(
        {
            "area_code": codes,
            "name": [f"Buurt {c[-4:]}" for c in codes],
            "level": "buurt",
            "parent_code": ["WK" + c[2:8] for c in codes],
            "geometry": wkt,
        }
    )
    polygons = shapely.from_wkt(buurten["geometry"].to_numpy())
    wijk_codes = sorted(set(buurten["parent_code"]))
    wijk_geoms = [
        shapely.to_wkt(
            shapely.union_all(polygons[(buurten["parent_code"] == w).to_numpy()]), rounding_precision=3
        )
        for w in wijk_codes
    ]
    wijken = pd.DataFrame(
        {
            "area_code": wijk_codes,
            "name": [f"Wijk {w[-2:]}" for w in wijk_codes],
            "level": "wijk",
            "parent_code": GEMEENTE,
            "geometry": wijk_geoms,
        }
    )
    gemeente = pd.DataFrame(
        {
            "area_code": [GEMEENTE],
            "name": ["Simstad"],
            "level": ["gemeente"],
            "parent_code": [None],
            "geometry": [shapely.to_wkt(shapely.union_all(polygons), rounding_precision=3)],
        }
    )
    return pd.concat([gemeente, wijken, buurten], ignore_index=True)[list(AREAS.column_names)]


def _covariates(
    codes: list[str], z: np.ndarray, start_year: int, years: int, rng: np.random.Generator
) -> pd.DataFrame:
    """``deprivation`` (the covariate of the process, with a small yearly drift) and ``households`` (no
    effect), one row per buurt and year from ``start_year - 1`` on."""
    year_list = np.arange(start_year - 1, start_year + years)
    n_a, n_y = len(codes), len(year_list)
    deprivation = z[:, None] + 0.05 * rng.standard_normal((n_a, n_y))
    households = np.round(rng.lognormal(6.5, 0.4, n_a))[:, None] * (1.0 + 0.01 * np.arange(n_y))[None, :]
    frames = [
        pd.DataFrame(
            {
                "area_code": np.repeat(codes, n_y),
                "year": np.tile(year_list, n_a),
                "variable": name,
                "value": np.round(values.ravel(), 4),
            }
        )
        for name, values in (("deprivation", deprivation), ("households", households))
    ]
    return pd.concat(frames, ignore_index=True)[list(COVARIATES.column_names)]


def _long(
    codes: list[str],
    cats: tuple[CategoryProcess, ...],
    grid: pd.DatetimeIndex,
    values: np.ndarray,
    freq: str,
    column: Literal["count", "intensity"],
) -> pd.DataFrame:
    """A (areas, categories, periods) array as long canonical incidents or truth rows."""
    n_a, n_c, n_t = values.shape
    frame = pd.DataFrame(
        {
            "area_code": np.repeat(codes, n_c * n_t),
            "category": np.tile(np.repeat([c.slug for c in cats], n_t), n_a),
            "period_start": np.tile(grid.to_numpy(), n_a * n_c),
            "freq": freq,
        }
    )
    if column == "count":
        frame["count"] = values.ravel().astype(np.int64)
        frame["source"] = "sim"
        return frame[list(INCIDENTS.column_names)]
    frame["intensity"] = values.ravel()
    frame["offence_intensity"] = values.ravel()
    return frame[list(TRUTH.column_names)]
