"""Self-exciting point process (ETAS / Hawkes) for crime, fitted by expectation-maximisation.

Intensity ``lambda(x, y, t) = mu * f(x, y) + sum_{t_j < t} theta * omega * exp(-omega (t - t_j)) * N2(x - x_j,
y - y_j; sigma)``: a constant background rate ``mu`` (events/day) times a smoothed spatial density ``f``, plus
triggering exponential in time and Gaussian in space with branching ratio ``theta``.

Notes
-----
Mohler, Short, Brantingham, Schoenberg & Tita (2011), "Self-exciting point process modeling of crime", JASA
106(493); EM as in Veen & Schoenberg (2008). Only pairs within ``time_cutoff_days`` and ``space_cutoff_m``
(a square) can trigger; they are found at once with a k-d tree in scaled space-time, and every EM step is a few
array operations over those pairs. The M-step ignores the truncation at the cut-offs, so they should exceed
about 5 / omega and 3 sigma. The background density is a fixed-bandwidth binned kernel density of the events
weighted by their background probabilities, leaving each event's own contribution out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from pulsetwin.exceptions import ParameterError, bad_parameter
from pulsetwin.grid.cells import Grid, build_grid
from pulsetwin.hotspots.base import GridHistory, HotspotModel
from pulsetwin.hotspots.kde import smoothed_image
from pulsetwin.schema.params import Integer, Number, Rules


@dataclass(frozen=True)
class EtasFit:
    """Fitted ETAS parameters and each event's probability of being a background event."""

    mu: float
    theta: float
    omega: float
    sigma: float
    background_prob: np.ndarray
    n_iter: int
    n_pairs: int
    converged: bool


class _Background:
    """Leave-one-out binned kernel density of weighted events (per square metre) at the events themselves."""

    def __init__(self, x: np.ndarray, y: np.ndarray, bandwidth_m: float) -> None:
        cell = max(bandwidth_m / 2.0, 1.0)
        pad = 4.0 * bandwidth_m
        self.grid: Grid = build_grid(
            x, y, int(np.ceil(cell)), bounds=(x.min() - pad, y.min() - pad, x.max() + pad, y.max() + pad)
        )
        self.cell = self.grid.locate(x, y)
        self.sigma_cells = bandwidth_m / self.grid.cell_m
        unit = np.zeros((9, 9))
        unit[4, 4] = 1.0
        self.self_weight = float(
            ndimage.gaussian_filter(unit, self.sigma_cells, mode="constant", truncate=4.0)[4, 4]
        )

    def at_events(self, weights: np.ndarray) -> np.ndarray:
        """Density at each event from all other events, normalised to integrate to one."""
        image = smoothed_image(self.grid, self.cell, self.sigma_cells, weights).ravel()
        mass = image.sum() * float(self.grid.cell_m) ** 2
        own = image[self.cell] - weights * self.self_weight
        return np.maximum(own, 1e-12 * image.max()) / mass


def _pairs(
    t: np.ndarray, x: np.ndarray, y: np.ndarray, time_cutoff: float, space_cutoff: float
) -> np.ndarray:
    """Index pairs ``(child, parent)`` with the parent strictly earlier and within both cut-offs."""
    scaled = np.column_stack([x / space_cutoff, y / space_cutoff, t / time_cutoff])
    pairs = cKDTree(scaled).query_pairs(r=1.0, p=np.inf, output_type="ndarray")
    if pairs.size == 0:
        return np.empty((0, 2), dtype=np.int64)
    first, second = pairs[:, 0], pairs[:, 1]
    later_first = t[first] > t[second]
    child = np.where(later_first, first, second)
    parent = np.where(later_first, second, first)
    keep = t[child] > t[parent]
    return np.column_stack([child[keep], parent[keep]]).astype(np.int64)


def fit_etas(
    t: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    *,
    t_start: float,
    t_end: float,
    bandwidth_m: float = 500.0,
    time_cutoff_days: float = 60.0,
    space_cutoff_m: float = 500.0,
    max_iter: int = 100,
    tol: float = 1e-4,
) -> EtasFit:
    """Fit background rate, branching ratio, temporal decay and spatial spread by EM.

    Parameters
    ----------
    t, x, y
        Event times (days) and RD coordinates (metres), observed in ``[t_start, t_end)``.
    bandwidth_m
        Bandwidth of the background density.
    time_cutoff_days, space_cutoff_m
        Only pairs closer than both can trigger.
    max_iter, tol
        EM stops after ``max_iter`` steps or when no parameter changes by more than ``tol`` (relative).
    """
    t = np.asarray(t, dtype=float)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if t.size < 2 or not t_end > t_start:
        raise ParameterError(f"fit_etas needs at least 2 events and t_end > t_start. Got {t.size} events.")
    if np.any(t < t_start) or np.any(t >= t_end):
        raise bad_parameter(
            "t", "fit_etas", f"times in [t_start, t_end) = [{t_start}, {t_end})", (t.min(), t.max())
        )
    pairs = _pairs(t, x, y, time_cutoff_days, space_cutoff_m)
    child, parent = pairs[:, 0], pairs[:, 1]
    dt = t[child] - t[parent]
    r2 = (x[child] - x[parent]) ** 2 + (y[child] - y[parent]) ** 2
    remaining = t_end - t
    background = _Background(x, y, bandwidth_m)
    n = t.size
    mu, theta, omega, sigma2 = 0.5 * n / (t_end - t_start), 0.5, 1.0 / 7.0, (space_cutoff_m / 5.0) ** 2
    p_bg = np.full(n, 0.5)
    converged = False
    iteration = 0
    while iteration < max_iter and not converged:  # EM steps, each vectorised over all pairs
        iteration += 1
        f = background.at_events(p_bg)
        g = theta * omega * np.exp(-omega * dt - r2 / (2.0 * sigma2)) / (2.0 * np.pi * sigma2)
        lam = mu * f + np.bincount(child, weights=g, minlength=n)
        p_pair = g / lam[child]
        p_bg = mu * f / lam
        triggered = p_pair.sum()
        new_omega = triggered / max(float(np.dot(p_pair, dt)), 1e-12)
        new_sigma2 = max(float(np.dot(p_pair, r2)) / (2.0 * max(triggered, 1e-12)), 1e-6)
        new_theta = triggered / float(
            np.sum(1.0 - np.exp(-new_omega * np.minimum(remaining, time_cutoff_days)))
        )
        new_mu = p_bg.sum() / (t_end - t_start)
        old = np.array([mu, theta, omega, sigma2])
        mu, theta, omega, sigma2 = new_mu, new_theta, new_omega, new_sigma2
        change = np.abs(np.array([mu, theta, omega, sigma2]) - old)
        converged = bool(np.all(change <= tol * np.maximum(np.abs(old), 1e-12)))
    return EtasFit(
        mu=float(mu),
        theta=float(theta),
        omega=float(omega),
        sigma=float(np.sqrt(sigma2)),
        background_prob=p_bg,
        n_iter=iteration,
        n_pairs=int(child.size),
        converged=converged,
    )


class ETAS(HotspotModel):
    """Expected counts from a fitted ETAS process: background plus the triggering of past events.

    Parameters
    ----------
    days
        Events of the last ``days`` are fitted (default 365).
    bandwidth_m, time_cutoff_days, space_cutoff_m, max_iter
        Passed to :func:`fit_etas`.

    Notes
    -----
    Mohler et al. (2011). The map counts background events and the first-generation offspring of past events in
    the window; offspring of events inside the window are left out (a small share for windows shorter than the
    triggering time scale).
    """

    name: ClassVar[str] = "etas"
    parameter_rules: ClassVar[Rules] = {
        "days": Number(low=0, closed="neither", say="a positive number"),
        "bandwidth_m": Number(low=0, closed="neither", say="a positive number"),
        "time_cutoff_days": Number(low=0, closed="neither", say="a positive number"),
        "space_cutoff_m": Number(low=0, closed="neither", say="a positive number"),
        "max_iter": Integer(low=1),
    }

    def __init__(
        self,
        *,
        days: float = 365.0,
        bandwidth_m: float = 500.0,
        time_cutoff_days: float = 60.0,
        space_cutoff_m: float = 500.0,
        max_iter: int = 100,
    ) -> None:
        self.days = days
        self.bandwidth_m = bandwidth_m
        self.time_cutoff_days = time_cutoff_days
        self.space_cutoff_m = space_cutoff_m
        self.max_iter = max_iter

    def fit(self, history: GridHistory) -> Self:
        """Fit ETAS to the recent events and integrate its intensity over the window per cell."""
        self._check_params()
        recent = history.t >= -self.days
        t, x, y, cell = history.t[recent], history.x[recent], history.y[recent], history.cell[recent]
        start = max(-self.days, float(t.min()) - 1e-9) if t.size else -self.days
        self.fit_ = fit_etas(
            t,
            x,
            y,
            t_start=start,
            t_end=0.0,
            bandwidth_m=self.bandwidth_m,
            time_cutoff_days=self.time_cutoff_days,
            space_cutoff_m=self.space_cutoff_m,
            max_iter=self.max_iter,
        )
        grid, window = history.grid, float(history.window_days)
        fit = self.fit_
        density = smoothed_image(grid, cell, self.bandwidth_m / grid.cell_m, fit.background_prob).ravel()
        background = fit.mu * window * density / density.sum()
        offspring = fit.theta * (np.exp(fit.omega * t) - np.exp(fit.omega * (t - window)))
        triggered = smoothed_image(grid, cell, fit.sigma / grid.cell_m, offspring).ravel()
        self.mean_ = (background + triggered)[history.cells]
        return self

    def predict(self) -> np.ndarray:
        """Expected events per masked cell in the window."""
        self._check_fitted()
        return self.mean_
