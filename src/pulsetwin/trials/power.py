"""Power and minimum detectable effect of a design, by simulation from the run's predictive distribution.

Each simulated trial draws a fresh allocation by the design's procedure, counts per buurt from a negative
binomial with the forecast totals as means (times the rate ratio in treated buurten) and the dispersion
measured on the run's history, and runs the pre-registered randomisation test at ``alpha``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pulsetwin.models.intervals import fit_nb_size
from pulsetwin.trials.allocation import draw_allocation, redraw_allocations
from pulsetwin.trials.estimate import ri_statistic

MDE_GRID = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
"""Rate ratios searched for the minimum detectable effect (reductions; mirrored as 1/x for increases)."""


@dataclass(frozen=True)
class Power:
    """Simulated power at the hoped-for effect and the smallest effect reaching the target power."""

    effect: float
    power: float
    target: float
    mde: float | None
    simulations: int
    size: float


def measure_size(history: pd.DataFrame, expected: pd.Series, periods: int) -> float:
    """NB2 size of past ``periods``-long totals per buurt around the forecast totals ``expected``.

    ``history`` is a (buurten x periods) count table ending just before the trial; it is cut from the end into
    non-overlapping windows of ``periods``. The size is fitted by maximum likelihood on (window total, forecast
    total) pairs, so it holds the forecast's own error as well as the count noise.
    """
    values = history.reindex(expected.index).to_numpy(dtype=float)
    windows = values.shape[1] // periods
    if windows < 1:
        return fit_nb_size(np.array([]), np.array([]))
    totals = (
        values[:, values.shape[1] - windows * periods :].reshape(len(expected), windows, periods).sum(axis=2)
    )
    mu = np.repeat(expected.to_numpy(dtype=float)[:, None], windows, axis=1)
    return fit_nb_size(totals.ravel(), mu.ravel())


def measure_within_size(history: pd.DataFrame) -> float:
    """NB2 size of single-period counts around each buurt's own mean (the rows of ``history``).

    A crossover compares periods within a buurt (each buurt is a block with its own intercept), so the error of
    the buurt's level cancels and only the period-to-period spread matters.
    """
    values = history.to_numpy(dtype=float)
    means = np.repeat(values.mean(axis=1, keepdims=True), values.shape[1], axis=1)
    return fit_nb_size(values.ravel(), means.ravel())


def draw_counts(mu: np.ndarray, size: float, rng: np.random.Generator) -> np.ndarray:
    """NB2 counts with means ``mu`` and ``size`` (variance ``mu + mu**2 / size``)."""
    return rng.negative_binomial(size, size / (size + np.asarray(mu, dtype=float))).astype(float)


def rejection_rate(
    expected: np.ndarray, blocks: pd.Series, share: float, size: float, effect: float, alpha: float,
    simulations: int, seed: int, draws: int,
) -> float:  # fmt: skip
    """Share of simulated trials whose randomisation test rejects at ``alpha`` for true rate ratio ``effect``."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
    pool = redraw_allocations(blocks, share, draws, seed)
    rejected = 0
    for _ in range(simulations):
        treated = draw_allocation(blocks, share, rng)
        y = draw_counts(expected * np.where(treated, effect, 1.0), size, rng)
        observed = abs(float(ri_statistic(y, expected, treated)[0]))
        null = np.abs(ri_statistic(y, expected, pool))
        rejected += (1 + np.sum(null >= observed - 1e-12)) / (1 + draws) <= alpha
    return rejected / simulations


def simulate_power(
    expected: np.ndarray, blocks: pd.Series, *, share: float, size: float, effect: float, alpha: float,
    target: float, simulations: int, seed: int, draws: int = 499,
) -> Power:  # fmt: skip
    """Power at ``effect`` and the minimum detectable effect (closest to 1 on :data:`MDE_GRID` with power >=
    ``target``; None when even the largest effect on the grid falls short).

    Notes
    -----
    Simulation-based power for cluster-randomised trials (Arnold et al. 2011, BMC Med Res Methodol 11:94).
    """
    expected = np.asarray(expected, dtype=float)
    power = rejection_rate(expected, blocks, share, size, effect, alpha, simulations, seed, draws)
    grid = MDE_GRID if effect < 1.0 else tuple(1.0 / g for g in MDE_GRID)
    mde = None
    for candidate in reversed(grid):
        if (
            rejection_rate(expected, blocks, share, size, candidate, alpha, simulations, seed, draws)
            >= target
        ):
            mde = candidate
            break
    return Power(effect, power, target, mde, simulations, size)
