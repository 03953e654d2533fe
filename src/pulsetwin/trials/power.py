"""Power and minimum detectable effect of a design, by simulation from the data-generating process measured
on the run's history.

Reality departs from the forecast in three ways a power calculation must not ignore: count noise beyond
Poisson, a persistent error of the forecast per buurt (between-buurt heterogeneity), and serial dependence of
the periods (a self-exciting process keeps a buurt high or low for months). Each simulated trial draws
``y = Poisson(m * effect^treated * u * v)``: ``m`` the forecast, ``u ~ Gamma(between)`` one persistent factor per
buurt, ``v ~ Gamma(within)`` per randomised unit (a buurt's trial total, or one buurt-period). Both sizes are
measured out of sample on the eligible buurten's history (:func:`measure_dispersion`), the allocation is drawn
afresh by the design's own procedure, and the pre-registered randomisation test is run at ``alpha``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pulsetwin.models.intervals import MAX_SIZE, fit_nb_size
from pulsetwin.trials.allocation import Scheme
from pulsetwin.trials.displacement import Adjacency, buffer_contrast, buffer_statistic
from pulsetwin.trials.estimate import ri_statistic

MDE_GRID = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
"""Rate ratios searched for the minimum detectable effect (reductions; mirrored as 1/x for increases)."""
LOOKBACK = 12
"""Periods averaged by the rolling forecast of the history's out-of-sample windows (a year of months)."""


@dataclass(frozen=True)
class Dispersion:
    """The measured data-generating process around the forecast (NB2 sizes; :data:`MAX_SIZE` is none).

    ``within``: one period's counts around the buurt's own level. ``total``: a trial-long total around an
    out-of-sample forecast (all three sources together). ``between``: the persistent per-buurt factor, what
    ``total`` holds beyond ``within`` summed over ``periods`` independent periods.
    """

    within: float
    total: float
    between: float
    periods: int


@dataclass(frozen=True)
class Power:
    """Simulated power at the hoped-for effect and the smallest effect reaching the target power.

    ``size`` is the NB2 size the analysis fixes (a trial total's for a cluster design, one period's for the
    designs comparing periods within a buurt); ``between`` the simulated between-buurt size.
    """

    effect: float
    power: float
    target: float
    mde: float | None
    simulations: int
    size: float
    between: float = MAX_SIZE
    displacement: float | None = None
    """The rise in adjacent buurten the displacement test was simulated for (cluster designs with geometry)."""
    displacement_power: float | None = None
    """How often the displacement test finds it (two-sided at ``alpha``, and the rise is positive)."""


def measure_within_size(history: pd.DataFrame) -> float:
    """NB2 size of single-period counts around each buurt's own mean times the period's city-wide factor.

    A crossover or stepped wedge compares periods within a buurt (each buurt is a block with its own
    intercept), so the error of the buurt's level cancels and only the period-to-period spread matters; a
    city-wide shift of one period (season) moves both arms alike, so it is taken out too (independence model
    ``row total x column total / total``).
    """
    values = history.to_numpy(dtype=float)
    total = values.sum()
    if total <= 0:
        return MAX_SIZE
    means = np.outer(values.sum(axis=1), values.sum(axis=0)) / total
    return fit_nb_size(values.ravel(), means.ravel())


def measure_dispersion(history: pd.DataFrame, periods: int) -> Dispersion:
    """The sizes of :class:`Dispersion` from a (buurten x periods) count table ending just before the trial.

    ``total`` is fitted by maximum likelihood on out-of-sample windows of ``periods`` consecutive periods: each
    window's totals against the mean of the :data:`LOOKBACK` periods before it times ``periods`` -- a
    rolling-origin backtest of the historical-mean forecast, so serial dependence and the persistent error of
    the forecast both show in the spread of the totals. Windows with a full lookback are used when the history
    holds one, else every window with at least ``periods`` periods before it. Each window's forecasts are
    scaled to its observed total first: a city-wide shift (season, trend) moves treated and control buurten
    alike and cancels in the trial's contrast. ``1 / between = max(0, 1 / total - 1 / (periods * within))``
    (variances of a Poisson-Gamma-Gamma mixture add); without a window, ``total`` comes from ``within`` alone.
    """
    values = history.to_numpy(dtype=float)
    within = measure_within_size(history)
    last = values.shape[1] - periods
    first = LOOKBACK if last >= LOOKBACK else periods
    observed, forecast = [], []
    for end in range(first, last + 1):
        total = values[:, end : end + periods].sum(axis=1)
        mean = values[:, max(0, end - LOOKBACK) : end].mean(axis=1) * periods
        if mean.sum() > 0:
            observed.append(total)
            forecast.append(mean * total.sum() / mean.sum())
    if not observed:
        return Dispersion(within, min(periods * within, MAX_SIZE), MAX_SIZE, periods)
    total = fit_nb_size(np.concatenate(observed), np.concatenate(forecast))
    excess = 1.0 / total - 1.0 / (periods * within)
    return Dispersion(within, total, 1.0 / excess if excess > 1.0 / MAX_SIZE else MAX_SIZE, periods)


def draw_outcomes(mu: np.ndarray, buurt: np.ndarray, between: float, within: float,
                  rng: np.random.Generator) -> np.ndarray:  # fmt: skip
    """Counts ``Poisson(mu * u[buurt] * v)`` with ``u ~ Gamma(between)`` per buurt and ``v ~ Gamma(within)`` per
    row (both mean one; a size of :data:`MAX_SIZE` draws no factor)."""
    mu = np.asarray(mu, dtype=float)
    if between < MAX_SIZE:
        mu = mu * rng.gamma(between, 1.0 / between, int(buurt.max()) + 1)[buurt]
    if within < MAX_SIZE:
        mu = mu * rng.gamma(within, 1.0 / within, mu.size)
    return rng.poisson(mu).astype(float)


def rejection_rate(
    units: pd.DataFrame, scheme: Scheme, dispersion: Dispersion, effect: float, alpha: float, simulations: int,
    seed: int, draws: int, pool: np.ndarray | None = None,
) -> float:  # fmt: skip
    """Share of simulated trials whose randomisation test rejects at ``alpha`` for true rate ratio ``effect``.

    ``units`` are the design's rows (``area_code``, ``expected``, ``block``); rows of one buurt share its ``u``.
    ``pool``: the ``draws`` re-drawn allocations of the test, when already drawn (``scheme.redraw(units, draws,
    seed)``).
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
    pool = scheme.redraw(units, draws, seed) if pool is None else pool
    periods = scheme.period_index(units)
    expected = units["expected"].to_numpy(dtype=float)
    buurt = pd.factorize(units["area_code"])[0]
    cells = "period_start" in units
    within = dispersion.within if cells else min(dispersion.periods * dispersion.within, MAX_SIZE)
    rejected = 0
    for _ in range(simulations):
        treated = scheme.draw(units, rng)
        y = draw_outcomes(expected * np.where(treated, effect, 1.0), buurt, dispersion.between, within, rng)
        observed = abs(float(ri_statistic(y, expected, treated, periods)[0]))
        null = np.abs(ri_statistic(y, expected, pool, periods))
        rejected += (1 + np.sum(null >= observed - 1e-12)) / (1 + draws) <= alpha
    return rejected / simulations


def simulate_power(
    units: pd.DataFrame, scheme: Scheme, dispersion: Dispersion, *, effect: float, alpha: float, target: float,
    simulations: int, seed: int, draws: int = 499,
) -> Power:  # fmt: skip
    """Power at ``effect`` and the minimum detectable effect (closest to 1 on :data:`MDE_GRID` with power >=
    ``target``, found by bisection as power falls towards 1; None when even the largest effect falls short).

    Notes
    -----
    Simulation-based power for cluster-randomised trials (Arnold et al. 2011, BMC Med Res Methodol 11:94);
    stepped wedge by simulation as Baio et al. (2015, Trials 16:354).
    """
    pool = scheme.redraw(units, draws, seed)
    power = rejection_rate(units, scheme, dispersion, effect, alpha, simulations, seed, draws, pool)
    grid = MDE_GRID if effect < 1.0 else tuple(1.0 / g for g in MDE_GRID)
    mde = None
    low, high = (
        0,
        len(grid) - 1,
    )  # power falls along the grid (towards 1): bisect for the last one reaching it
    while low <= high:
        middle = (low + high) // 2
        if (
            rejection_rate(units, scheme, dispersion, grid[middle], alpha, simulations, seed, draws, pool)
            >= target
        ):
            mde, low = grid[middle], middle + 1
        else:
            high = middle - 1
    cells = "period_start" in units
    size = dispersion.within if cells else dispersion.total
    return Power(effect, power, target, mde, simulations, size, dispersion.between)


def displacement_power(
    units: pd.DataFrame, scheme: Scheme, adjacency: Adjacency, before: np.ndarray, forecast: np.ndarray,
    dispersion: Dispersion, *, displacement: float, alpha: float, simulations: int, seed: int, draws: int = 499,
) -> float:  # fmt: skip
    """Share of simulated trials in which the registered displacement test finds a planted rise.

    ``before`` holds each buurt's counts (``adjacency.codes`` order) over as many periods before the trial as
    it lasts (fixed: they are observed), ``forecast`` its forecast total of the trial. A trial draws an
    allocation, the buurten's trial totals as :func:`draw_outcomes` around ``forecast`` times ``1 +
    displacement`` next to treated buurten, and tests the buffer contrast (:func:`buffer_statistic`) against
    re-drawn allocations; it counts when ``p <= alpha`` and the change is a rise.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 3]))
    pool = scheme.redraw(units, draws, seed)
    null_buffers = adjacency.buffers(pool)
    within = min(dispersion.periods * dispersion.within, MAX_SIZE)
    buurt = np.arange(len(adjacency.codes))
    found = 0
    for _ in range(simulations):
        treated = scheme.draw(units, rng)
        near = adjacency.buffers(treated)[0][0]
        after = draw_outcomes(forecast * np.where(near, 1.0 + displacement, 1.0), buurt, dispersion.between,
                              within, rng)  # fmt: skip
        observed = float(buffer_statistic(before, after, adjacency, treated)[0])
        null = np.abs(buffer_contrast(before, after, null_buffers))
        p = (1 + np.sum(null >= abs(observed) - 1e-12)) / (1 + draws)
        found += p <= alpha and observed > 0
    return found / simulations
