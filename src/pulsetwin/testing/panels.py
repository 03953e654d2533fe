"""Small simulated panels with known parameters, for model tests and benchmarks (not the twin city).

``simulate_panel`` draws Poisson counts on a square grid of cells: a log-linear effect of two covariates,
Gamma area effects, annual seasonality and optional self-excitation (a share of each period's counts in the
cell and its neighbours raises the next periods' intensity). It returns canonical frames and the true
intensity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from scipy import sparse

from pulsetwin.models.base import History
from pulsetwin.schema.periods import Freq


@dataclass(frozen=True)
class SimulatedPanel:
    """Canonical ``incidents``, ``covariates``, ``areas`` and the true ``intensity`` (areas, categories,
    periods)."""

    incidents: pd.DataFrame
    covariates: pd.DataFrame
    areas: pd.DataFrame
    periods: pd.DatetimeIndex
    codes: tuple[str, ...]
    categories: tuple[str, ...]
    intensity: np.ndarray
    counts: np.ndarray

    def history(self, origin_index: int, freq: Freq = Freq.W) -> History:
        """The History at ``periods[origin_index]`` (incidents strictly before it)."""
        origin = self.periods[origin_index]
        before = self.incidents[self.incidents["period_start"] < origin].reset_index(drop=True)
        return History(before, freq, origin, self.covariates, self.areas)

    def events(self, seed: int) -> pd.DataFrame:
        """Anonymous point events behind the counts: uniform in each 500 m cell and in each period (withheld
        counts still happened: their events are Poisson draws of the true intensity)."""
        rng = np.random.default_rng(seed)
        n = np.where(np.isnan(self.counts), rng.poisson(self.intensity), self.counts).astype(np.int64).ravel()
        ia, ic, it = np.unravel_index(np.repeat(np.arange(n.size), n), self.counts.shape)
        corner = np.array([code[1:].split("_") for code in self.codes], dtype=float)
        weekly = self.periods[1] - self.periods[0] == pd.Timedelta(days=7)
        ends = self.periods.shift(1, freq="W-MON" if weekly else "MS")
        length = (ends - self.periods).to_numpy()[it]
        return pd.DataFrame(
            {
                "event_id": np.char.mod("e%07d", np.arange(ia.size)).astype(object),
                "category": np.asarray(self.categories, dtype=object)[ic],
                "occurred_at": self.periods.to_numpy()[it]
                + (rng.random(ia.size) * length).astype("timedelta64[ns]"),
                "x": corner[ia, 0] + rng.uniform(0.0, 500.0, ia.size),
                "y": corner[ia, 1] + rng.uniform(0.0, 500.0, ia.size),
                "source": "sim",
            }
        )


def simulate_panel(
    *,
    seed: int,
    side: int = 6,
    periods: int = 104,
    freq: Freq = Freq.W,
    categories: tuple[str, ...] = ("burglary_residential", "violence"),
    base: float = 0.8,
    covariate_effects: tuple[float, float] = (0.5, -0.3),
    area_shape: float = 4.0,
    seasonal: tuple[float, float] = (0.3, 0.1),
    excitation: float = 0.0,
    withheld: float = 0.0,
) -> SimulatedPanel:
    """Simulate ``side * side`` grid cells of 500 m for ``periods`` periods from 2021-01-04 (W) or 2021-01-01
    (M).

    ``log mu = log base + effects . z_area + log theta_area + a sin(2 pi u) + b cos(2 pi u)``; ``theta`` is
    Gamma(``area_shape``, rate ``area_shape``); with ``excitation`` > 0 the intensity adds
    ``excitation * (0.6 * own + 0.4 * mean of neighbours)`` of the previous period's counts; a share
    ``withheld``
    of counts is missing.
    """
    rng = np.random.default_rng(seed)
    n_a, n_c = side * side, len(categories)
    xs, ys = np.meshgrid(np.arange(side) * 500, np.arange(side) * 500, indexing="ij")
    x0, y0 = 180000 + xs.ravel(), 320000 + ys.ravel()
    codes = tuple(f"C{x}_{y}" for x, y in zip(x0, y0, strict=True))
    start = pd.Timestamp("2021-01-04" if freq == "W" else "2021-01-01")
    stamps = pd.date_range(start, periods=periods, freq=Freq(freq).pandas_alias).as_unit("ns")
    z = rng.normal(size=(n_a, 2))
    theta = rng.gamma(area_shape, 1.0 / area_shape, size=n_a)
    frac = (np.asarray(stamps.day_of_year, dtype=float) + (3.5 if freq == "W" else 15.2)) / 365.2425
    season = seasonal[0] * np.sin(2 * np.pi * frac) + seasonal[1] * np.cos(2 * np.pi * frac)
    cat_base = base * np.exp(rng.normal(0.0, 0.3, size=n_c))
    static = (
        cat_base[None, :, None]
        * np.exp(z @ np.asarray(covariate_effects))[:, None, None]
        * theta[:, None, None]
    )
    mu = static * np.exp(season)[None, None, :]
    grid = np.arange(n_a).reshape(side, side)
    rows, cols = [], []
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            if dx or dy:
                rows.append(grid[max(dx, 0) : side + min(dx, 0), max(dy, 0) : side + min(dy, 0)].ravel())
                cols.append(grid[max(-dx, 0) : side + min(-dx, 0), max(-dy, 0) : side + min(-dy, 0)].ravel())
    src, dst = np.concatenate(rows), np.concatenate(cols)
    adjacency = sparse.csr_matrix((np.ones(src.size), (src, dst)), shape=(n_a, n_a))
    adjacency = sparse.diags(1.0 / np.asarray(adjacency.sum(axis=1)).ravel()) @ adjacency
    intensity = np.empty((n_a, n_c, periods))
    counts = np.empty((n_a, n_c, periods))
    for t in range(periods):
        excite = (
            0.0
            if t == 0
            else excitation * (0.6 * counts[:, :, t - 1] + 0.4 * adjacency @ counts[:, :, t - 1])
        )
        intensity[:, :, t] = mu[:, :, t] + excite
        counts[:, :, t] = rng.poisson(intensity[:, :, t])
    recorded = np.where(rng.random(counts.shape) < withheld, np.nan, counts)
    ia, ic, it = np.meshgrid(np.arange(n_a), np.arange(n_c), np.arange(periods), indexing="ij")
    incidents = pd.DataFrame(
        {
            "area_code": np.asarray(codes, dtype=object)[ia.ravel()],
            "period_start": stamps.to_numpy()[it.ravel()],
            "freq": freq,
            "category": np.asarray(categories, dtype=object)[ic.ravel()],
            "count": pd.array(recorded.ravel(), dtype="Int64"),
            "source": "sim",
        }
    )
    years = np.arange(start.year - 2, start.year + periods // 12 + 2)
    covariates = pd.DataFrame(
        {
            "area_code": np.repeat(np.asarray(codes, dtype=object), 2 * len(years)),
            "year": np.tile(np.repeat(years, 2), n_a),
            "variable": np.tile(["z1", "z2"], n_a * len(years)),
            "value": np.repeat(z, len(years), axis=0).ravel(),
        }
    )
    areas = pd.DataFrame(
        {
            "area_code": list(codes),
            "name": list(codes),
            "level": "cell",
            "parent_code": "GM0000",
            "geometry": shapely.to_wkt(shapely.box(x0, y0, x0 + 500, y0 + 500)),
        }
    )
    return SimulatedPanel(incidents, covariates, areas, stamps, codes, categories, intensity, recorded)
