"""The true incident process: a space-time Hawkes process per category, simulated by generations.

Background intensity of category ``c`` in buurt ``i`` at time ``t`` (days) factorises as
``mu_ci * g_c(t)``: ``mu_ci`` is a daily rate from population, covariate effects and a normal area effect;
``g_c`` an hourly profile of annual season, weekday, hour of day and a slow trend. Every offence triggers on
average ``branching`` offspring, delayed by an exponential time with mean ``decay_days`` and displaced by a
Gaussian offset of ``spread_m`` truncated to the parent's buurt (so offspring stay in the parent's buurt; this
keeps the truth exact at buurt level).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from scipy.special import i0

from pulsetwin.twin.covariates import Covariates
from pulsetwin.twin.geography import Geography
from pulsetwin.twin.parameters import BURN_IN_DAYS, CategoryParams

DAYS_PER_YEAR = 365.25
_MAX_TRIES = 40


@dataclass(frozen=True)
class Timeline:
    """Simulation clock: ``t`` counts days from ``origin``; records start a burn-in later, at ``start``."""

    origin: pd.Timestamp
    start: pd.Timestamp
    end: pd.Timestamp

    @property
    def n_days(self) -> int:
        """Days from origin to end."""
        return int((self.end - self.origin).days)

    @property
    def start_day(self) -> int:
        """Day offset of the first recorded day."""
        return int((self.start - self.origin).days)


def build_timeline(start_year: int, years: int) -> Timeline:
    """Records cover whole calendar years; the simulation starts ``BURN_IN_DAYS`` earlier."""
    start = pd.Timestamp(year=start_year, month=1, day=1)
    return Timeline(
        start - pd.Timedelta(days=BURN_IN_DAYS), start, pd.Timestamp(year=start_year + years, month=1, day=1)
    )


@dataclass(frozen=True)
class Offences:
    """All simulated offences, recorded or not (arrays of equal length, sorted by time)."""

    area: np.ndarray
    category: np.ndarray
    t: np.ndarray
    x: np.ndarray
    y: np.ndarray
    generation: np.ndarray

    def take(self, index: np.ndarray) -> Offences:
        """The offences at ``index`` (boolean mask or positions)."""
        return Offences(*(getattr(self, f)[index] for f in ("area", "category", "t", "x", "y", "generation")))


def hourly_profile(cat: CategoryParams, timeline: Timeline) -> np.ndarray:
    """Relative background rate per hour from ``origin`` to ``end``: mean about one in the first year."""
    days = pd.date_range(timeline.origin, timeline.end, freq="D", inclusive="left")
    doy = days.day_of_year.to_numpy()
    season = np.exp(cat.season_amplitude * np.cos(2 * np.pi * (doy - cat.season_peak_day) / DAYS_PER_YEAR))
    weekday = np.asarray(cat.weekday)[days.day_of_week.to_numpy()] / np.mean(cat.weekday)
    trend = np.exp(cat.trend * (np.arange(days.size) - timeline.start_day) / DAYS_PER_YEAR)
    daily = season / i0(cat.season_amplitude) * weekday * trend
    hours = np.arange(24) + 0.5
    hourly = np.exp(cat.hour_amplitude * np.cos(2 * np.pi * (hours - cat.hour_peak) / 24))
    return np.outer(daily, hourly / hourly.mean()).ravel()


def background_rates(
    cats: tuple[CategoryParams, ...], cov: Covariates, rng: np.random.Generator
) -> np.ndarray:
    """Daily background rate per category and buurt, shape (categories, buurten).

    The area multiplier ``exp(effects + area effect)`` is scaled to population-weighted mean one, so a city's
    offence rate equals ``offence_rate``; the background carries ``1 - branching`` of it, offspring the rest.
    """
    z_horeca = _standardise(np.log1p(cov.horeca))
    z_density = _standardise(np.log1p(cov.density))
    effects = np.stack(
        [c.deprivation * cov.deprivation + c.horeca * z_horeca + c.density * z_density for c in cats]
    )
    area_sd = np.array([c.area_sd for c in cats])
    multiplier = np.exp(effects + area_sd[:, None] * rng.normal(size=effects.shape))
    multiplier /= (multiplier @ cov.population / cov.population.sum())[:, None]
    per_inhabitant = np.array([c.offence_rate * (1.0 - c.branching) for c in cats]) / 1000.0 / DAYS_PER_YEAR
    return per_inhabitant[:, None] * cov.population[None, :] * multiplier


def _standardise(values: np.ndarray) -> np.ndarray:
    """Centre and scale to unit standard deviation."""
    return (values - values.mean()) / values.std()


def simulate_offences(
    geo: Geography,
    cats: tuple[CategoryParams, ...],
    rates: np.ndarray,
    profiles: list[np.ndarray],
    timeline: Timeline,
    rng: np.random.Generator,
) -> Offences:
    """Simulate background offences, then offspring generation by generation until none is left.

    Notes
    -----
    Cluster (branching) representation of the Hawkes process (Hawkes & Oakes 1974), as used for crime by
    Mohler et al. (2011); near-repeat scales after Bowers & Johnson (2004).
    """
    parts = [_background(geo, rates, profiles, rng)]
    branching = np.array([c.branching for c in cats])
    decay = np.array([c.decay_days for c in cats])
    spread = np.array([c.spread_m for c in cats])
    parents = parts[0]
    while parents.t.size:
        n_children = rng.poisson(branching[parents.category])
        index = np.repeat(np.arange(parents.t.size), n_children)
        kids = parents.take(index)
        t = kids.t + rng.exponential(decay[kids.category])
        x, y = _truncated_offsets(geo, kids.area, kids.x, kids.y, spread[kids.category], rng)
        kids = Offences(kids.area, kids.category, t, x, y, kids.generation + 1)
        parents = kids.take(kids.t < timeline.n_days)
        parts.append(parents)
    merged = Offences(
        *(
            np.concatenate([getattr(p, f) for p in parts])
            for f in ("area", "category", "t", "x", "y", "generation")
        )
    )
    return merged.take(np.argsort(merged.t, kind="stable"))


def _background(
    geo: Geography, rates: np.ndarray, profiles: list[np.ndarray], rng: np.random.Generator
) -> Offences:
    """Poisson counts per category and buurt; hours from the category profile; points uniform in the buurt."""
    areas, categories, times = [], [], []
    for c, profile in enumerate(profiles):
        cumulative = np.cumsum(profile)
        counts = rng.poisson(rates[c] * cumulative[-1] / 24.0)
        n = int(counts.sum())
        hour = np.searchsorted(cumulative, rng.uniform(0.0, cumulative[-1], n), side="right")
        areas.append(np.repeat(np.arange(rates.shape[1]), counts))
        categories.append(np.full(n, c, dtype=np.int64))
        times.append((np.minimum(hour, profile.size - 1) + rng.uniform(size=n)) / 24.0)
    area = np.concatenate(areas)
    x, y = sample_in_buurten(geo, area, rng)
    return Offences(
        area, np.concatenate(categories), np.concatenate(times), x, y, np.zeros(area.size, np.int64)
    )


def sample_in_buurten(
    geo: Geography, area: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Uniform points inside the polygons of ``area`` by vectorised rejection from their bounding boxes."""
    bounds = shapely.bounds(geo.polygons)
    x = np.empty(area.size)
    y = np.empty(area.size)
    todo = np.arange(area.size)
    while todo.size:
        b = bounds[area[todo]]
        x[todo] = rng.uniform(b[:, 0], b[:, 2])
        y[todo] = rng.uniform(b[:, 1], b[:, 3])
        todo = todo[~shapely.contains_xy(geo.polygons[area[todo]], x[todo], y[todo])]
    return x, y


def _truncated_offsets(
    geo: Geography, area: np.ndarray, x0: np.ndarray, y0: np.ndarray, sd: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian offsets from (x0, y0), redrawn until inside the buurt; after ``_MAX_TRIES``, the parent."""
    x, y = x0.copy(), y0.copy()
    todo = np.arange(area.size)
    for _ in range(_MAX_TRIES):
        if not todo.size:
            break
        x[todo] = x0[todo] + rng.normal(0.0, sd[todo])
        y[todo] = y0[todo] + rng.normal(0.0, sd[todo])
        todo = todo[~shapely.contains_xy(geo.polygons[area[todo]], x[todo], y[todo])]
    x[todo], y[todo] = x0[todo], y0[todo]
    return x, y
