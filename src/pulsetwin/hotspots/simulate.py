"""Seeded simulators of point processes with known parameters, to check that models recover what is there.

``simulate_hawkes`` draws a space-time Hawkes process (the ETAS of :mod:`pulsetwin.hotspots.etas`);
``simulate_drifting_city`` an inhomogeneous, partly self-exciting process whose hotspots drift, grow and fade,
with two categories, returned as a canonical events frame. Both build the cluster process generation by
generation (Hawkes 1974's branching representation), vectorised over the events of each generation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pulsetwin.exceptions import bad_parameter
from pulsetwin.schema.tables import EVENTS


@dataclass(frozen=True)
class PointSample:
    """Simulated events: times (days from the start), RD coordinates, and whether each is a background event."""

    t: np.ndarray
    x: np.ndarray
    y: np.ndarray
    is_background: np.ndarray


def _offspring(
    rng: np.random.Generator,
    t: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    *,
    theta: float,
    omega: float,
    sigma: float,
    days: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All descendants of the given events before ``days``, and the index of each one's first ancestor."""
    out_t, out_x, out_y, out_root = [], [], [], []
    root = np.arange(t.size)
    while t.size:
        n = rng.poisson(theta, size=t.size)
        parent = np.repeat(np.arange(t.size), n)
        t = t[parent] + rng.exponential(1.0 / omega, size=parent.size)
        x = x[parent] + rng.normal(0.0, sigma, size=parent.size)
        y = y[parent] + rng.normal(0.0, sigma, size=parent.size)
        root = root[parent]
        keep = t < days
        t, x, y, root = t[keep], x[keep], y[keep], root[keep]
        out_t.append(t)
        out_x.append(x)
        out_y.append(y)
        out_root.append(root)
    return np.concatenate(out_t), np.concatenate(out_x), np.concatenate(out_y), np.concatenate(out_root)


def simulate_hawkes(
    *,
    mu: float,
    theta: float,
    omega: float,
    sigma: float,
    days: float,
    size_m: float = 10_000.0,
    seed: int,
) -> PointSample:
    """A Hawkes process on ``[0, days)`` with uniform background on a ``size_m`` square (offspring may leave it).

    Parameters
    ----------
    mu
        Background events per day. theta, omega, sigma: branching ratio, temporal decay (1/day), spatial sd (m).
    """
    if not 0.0 <= theta < 1.0:
        raise bad_parameter("theta", "simulate_hawkes", "a branching ratio in [0, 1)", theta)
    rng = np.random.default_rng(seed)
    n = rng.poisson(mu * days)
    t0 = rng.uniform(0.0, days, n)
    x0 = rng.uniform(0.0, size_m, n)
    y0 = rng.uniform(0.0, size_m, n)
    t1, x1, y1, _ = _offspring(rng, t0, x0, y0, theta=theta, omega=omega, sigma=sigma, days=days)
    t = np.concatenate([t0, t1])
    order = np.argsort(t, kind="stable")
    flags = np.concatenate([np.ones(n, dtype=bool), np.zeros(t1.size, dtype=bool)])
    return PointSample(
        t[order], np.concatenate([x0, x1])[order], np.concatenate([y0, y1])[order], flags[order]
    )


def simulate_drifting_city(
    *,
    seed: int,
    days: int = 730,
    events_per_year: float = 10_000.0,
    size_m: float = 10_000.0,
    n_hotspots: int = 16,
    theta: float = 0.3,
    omega: float = 1.0 / 14.0,
    sigma: float = 60.0,
    start: str = "2021-01-01",
    categories: tuple[str, str] = ("burglary_residential", "vandalism"),
) -> pd.DataFrame:
    """Events of a city whose hotspots drift (0-1.5 km/year), grow and fade, with seasonality and near repeats.

    A share ``0.25`` of the background is uniform; the rest comes from ``n_hotspots`` Gaussian hotspots (sd
    80-400 m) whose centres move in straight lines and whose weights follow slow random cycles; the rate follows
    a yearly cycle of +-20 %. Each hotspot has its own mix of the two categories; offspring keep their ancestor's
    category. Coordinates are offset into the RD range (x + 150 km, y + 450 km).
    """
    rng = np.random.default_rng(seed)
    mu = events_per_year / 365.0 * (1.0 - theta)
    n = rng.poisson(mu * days * 1.2)
    t = rng.uniform(0.0, days, n)
    t = t[rng.uniform(0.0, 1.2, n) < 1.0 + 0.2 * np.sin(2 * np.pi * t / 365.0)]
    k = n_hotspots
    centre0 = rng.uniform(0.1 * size_m, 0.9 * size_m, (k, 2))
    heading = rng.uniform(0.0, 2 * np.pi, k)
    speed = rng.uniform(0.0, 1500.0, k) / 365.0
    spread = rng.uniform(80.0, 400.0, k)
    period = rng.uniform(180.0, 900.0, k)
    phase = rng.uniform(0.0, 2 * np.pi, k)
    amplitude = rng.uniform(0.5, 2.0, k)
    share_first = rng.beta(2.0, 2.0, k)
    log_w = amplitude[None, :] * np.sin(2 * np.pi * t[:, None] / period[None, :] + phase[None, :])
    weights = np.exp(log_w)
    weights = 0.75 * weights / weights.sum(axis=1, keepdims=True)
    cumulative = np.cumsum(np.column_stack([weights, np.full(t.size, 0.25)]), axis=1)
    component = (rng.uniform(0.0, 1.0, t.size)[:, None] > cumulative).sum(axis=1)
    uniform = component == k
    hot = np.minimum(component, k - 1)
    cx = centre0[hot, 0] + np.cos(heading[hot]) * speed[hot] * t
    cy = centre0[hot, 1] + np.sin(heading[hot]) * speed[hot] * t
    x = np.where(uniform, rng.uniform(0.0, size_m, t.size), cx + rng.normal(0.0, 1.0, t.size) * spread[hot])
    y = np.where(uniform, rng.uniform(0.0, size_m, t.size), cy + rng.normal(0.0, 1.0, t.size) * spread[hot])
    first = np.where(
        uniform, rng.uniform(0.0, 1.0, t.size) < 0.5, rng.uniform(0.0, 1.0, t.size) < share_first[hot]
    )
    t1, x1, y1, root = _offspring(rng, t, x, y, theta=theta, omega=omega, sigma=sigma, days=float(days))
    all_t = np.concatenate([t, t1])
    order = np.argsort(all_t, kind="stable")
    is_first = np.concatenate([first, first[root]])[order]
    frame = pd.DataFrame(
        {
            "event_id": np.char.mod("sim%07d", np.arange(all_t.size)).astype(object),
            "category": np.where(is_first, categories[0], categories[1]),
            "occurred_at": pd.Timestamp(start) + pd.to_timedelta(np.round(all_t[order] * 86400.0), unit="s"),
            "x": np.round(np.concatenate([x, x1])[order] + 150_000.0, 1),
            "y": np.round(np.concatenate([y, y1])[order] + 450_000.0, 1),
            "source": "simulation",
        }
    )
    frame["occurred_at"] = frame["occurred_at"].astype("datetime64[ns]")
    return frame[list(EVENTS.column_names)]
