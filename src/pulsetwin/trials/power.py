"""Power and minimum detectable effect of a design, by simulation from the data-generating process measured
around the run's forecast.

Reality departs from the forecast in three ways a power calculation must not ignore: count noise beyond
Poisson, a persistent error of the forecast per buurt (between-buurt heterogeneity), and serial dependence of
the periods (a self-exciting process keeps a buurt high or low for months). Each simulated trial draws
``y = Poisson(m * effect^treated * u * v)``: ``m`` the forecast, ``u ~ Gamma(between)`` one persistent factor per
buurt, ``v ~ Gamma(within)`` per randomised unit (a buurt's trial total, or one buurt-period). Both sizes are
measured out of sample (:func:`measure_dispersion`): ``between`` on the run's own forecasts at its last backtest
fold when the run keeps them (the model's predictive error), else on a rolling historical mean of the eligible
buurten's history, and the design says which. The allocation is drawn afresh by the design's own procedure,
and the pre-registered randomisation test is run at ``alpha``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats

from pulsetwin.models.intervals import MAX_SIZE, fit_nb_size, nb_loglik
from pulsetwin.trials.allocation import Scheme
from pulsetwin.trials.displacement import Adjacency, buffer_contrast, buffer_statistic
from pulsetwin.trials.estimate import ri_statistic

MDE_GRID = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
"""Rate ratios searched for the minimum detectable effect (reductions; mirrored as 1/x for increases)."""
LOOKBACK = 12
"""Periods averaged by the rolling forecast of the history's out-of-sample windows (a year of months)."""
RANGE_LEVEL = 0.8
"""Confidence of the interval of the between-buurt size over which the power's range is stated."""
FOLD_FORECASTS = "fold_forecasts"
"""Dispersion source: the run's out-of-sample forecasts at its last backtest fold (the model's own error)."""
HISTORICAL_MEAN = "historical_mean"
"""Dispersion source: a rolling :data:`LOOKBACK`-period mean of the history (runs without fold forecasts)."""


@dataclass(frozen=True)
class FoldTotals:
    """Per eligible buurt: its recorded count and the run's out-of-sample forecast, both summed over the
    ``periods`` periods of the run's last backtest fold (which starts at ``origin``)."""

    observed: np.ndarray
    forecast: np.ndarray
    periods: int
    origin: pd.Timestamp


@dataclass(frozen=True)
class Dispersion:
    """The measured data-generating process around the forecast (NB2 sizes; :data:`MAX_SIZE` is none).

    ``within``: one period's counts around the buurt's own level. ``between``: the persistent per-buurt error
    of the forecast, what an out-of-sample total holds beyond ``within`` summed over its periods. ``total``: a
    trial-long total of ``periods`` periods around the forecast, both together (variances add).
    """

    within: float
    total: float
    between: float
    periods: int
    source: str = HISTORICAL_MEAN
    """What ``between`` was measured on: :data:`FOLD_FORECASTS` or :data:`HISTORICAL_MEAN`."""
    note: str = ""
    """One sentence saying what the sizes were measured on, for the design's output and pre-registration."""
    between_range: tuple[float, float] | None = None
    """``between`` at the ends of the :data:`RANGE_LEVEL` profile-likelihood interval of the fitted total size (a
    few dozen buurten pin a persistent spread only loosely); None when nothing was fitted."""


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
    power_range: tuple[float, float] | None = None
    """Lowest and highest power simulated at the ends of :attr:`Dispersion.between_range` and at ``between``: how
    far the measured spread's uncertainty moves it."""


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


def measure_dispersion(history: pd.DataFrame, periods: int, fold: FoldTotals | None = None) -> Dispersion:
    """The sizes of :class:`Dispersion` for a trial of ``periods`` periods.

    ``history`` is the eligible buurten's (buurten x periods) count table ending just before the trial;
    ``within`` always comes from it (:func:`measure_within_size`). ``between`` comes from ``fold``, the run's
    out-of-sample forecasts at its last backtest fold, when given: the same model that forecasts the trial,
    fitted without the fold's counts, so its persistent error per buurt is the one the trial's contrast
    meets. Without it, a run that keeps no fold forecasts, it comes from the history's own rolling-origin
    backtest of a :data:`LOOKBACK`-period mean (:func:`historical_windows`), and ``note`` says so.

    Either way a total over ``span`` periods is fitted by maximum likelihood against forecasts scaled to the
    observed total (a city-wide shift moves treated and control buurten alike and cancels in the contrast), and
    split as a Poisson-Gamma-Gamma mixture, whose variances add: ``1 / between = max(0, 1 / total - 1 / (span *
    within))``. The trial's ``total`` is then ``1 / (1 / between + 1 / (periods * within))``, so a trial longer
    or shorter than the fold is fine.
    """
    within = measure_within_size(history)
    if fold is not None:
        observed, forecast, span = [fold.observed], [fold.forecast], fold.periods
        source = FOLD_FORECASTS
        note = (
            f"between-buurt size measured on the run's out-of-sample forecasts at its last backtest fold "
            f"({fold.periods} periods from {fold.origin.date()}, {len(fold.observed)} buurten); within-buurt "
            "size on single past periods"
        )
    else:
        observed, forecast = historical_windows(history, periods)
        span, source = periods, HISTORICAL_MEAN
        measured = (
            f"against a rolling {LOOKBACK}-period historical mean of the history ({len(observed)} windows of "
            f"{periods} periods)" if observed else "nowhere: the history holds no window, so none is simulated"
        )  # fmt: skip
        note = (
            "the run keeps no forecasts of its backtest folds, so the between-buurt size was measured "
            f"{measured}, not on the run's own model; within-buurt size on single past periods"
        )
    pairs = [(o, f * o.sum() / f.sum()) for o, f in zip(observed, forecast, strict=True) if f.sum() > 0]
    between, between_range = MAX_SIZE, None
    if pairs:
        y, mu = np.concatenate([o for o, _ in pairs]), np.concatenate([f for _, f in pairs])
        fitted = fit_nb_size(y, mu)
        between = _between(fitted, span * within)
        low, high = size_interval(y, mu, fitted, RANGE_LEVEL)
        between_range = (_between(low, span * within), _between(high, span * within))
    spread = _inverse(between) + _inverse(periods * within)
    total = 1.0 / spread if spread > 1.0 / MAX_SIZE else MAX_SIZE
    return Dispersion(within, total, between, periods, source, note, between_range)


def size_interval(y: np.ndarray, mu: np.ndarray, fitted: float, level: float) -> tuple[float, float]:
    """Ends of the ``level`` profile-likelihood interval of the NB2 size ``fitted`` to counts ``y`` around
    ``mu`` (rows with ``mu <= 0`` left out, as :func:`fit_nb_size` does), on a grid 9 % apart up to
    :data:`MAX_SIZE` (an upper end there: the data do not rule out Poisson).

    Notes
    -----
    Likelihood-ratio interval, ``2 (l(fitted) - l(size)) <= chi2_1(level)`` (Pawitan 2001, *In All
    Likelihood*, ch. 2.6).
    """
    use = np.asarray(mu, dtype=float) > 0
    y, mu = np.asarray(y, dtype=float)[use], np.asarray(mu, dtype=float)[use]
    grid = np.geomspace(1e-3, MAX_SIZE, 241)
    deviance = 2.0 * (nb_loglik(y, mu, fitted) - np.array([nb_loglik(y, mu, float(r)) for r in grid]))
    inside = np.append(grid[deviance <= stats.chi2.ppf(level, 1)], fitted)
    return float(inside.min()), float(inside.max())


def _between(total: float, within: float) -> float:
    """The persistent size of a Gamma-Gamma total of size ``total`` whose transient part has size ``within``
    (variances add; :data:`MAX_SIZE` when the total holds no more than the transient part)."""
    excess = _inverse(total) - _inverse(within)
    return 1.0 / excess if excess > 1.0 / MAX_SIZE else MAX_SIZE


def _inverse(size: float) -> float:
    """The squared coefficient of variation ``1 / size`` of a Gamma factor; 0 for :data:`MAX_SIZE` (none)."""
    return 0.0 if size >= MAX_SIZE else 1.0 / size


def historical_windows(history: pd.DataFrame, periods: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Observed totals and forecasts of the history's out-of-sample windows of ``periods`` periods.

    Each window's forecast is the mean of the :data:`LOOKBACK` periods before it times ``periods`` -- a
    rolling-origin backtest of the historical-mean forecast, so serial dependence and the persistent error of
    the forecast both show in the spread of the totals. Windows with a full lookback are used when the history
    holds one, else every window with at least ``periods`` periods before it.
    """
    values = history.to_numpy(dtype=float)
    last = values.shape[1] - periods
    first = LOOKBACK if last >= LOOKBACK else periods
    observed, forecast = [], []
    for end in range(first, last + 1):
        observed.append(values[:, end : end + periods].sum(axis=1))
        forecast.append(values[:, max(0, end - LOOKBACK) : end].mean(axis=1) * periods)
    return observed, forecast


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
    ends = None
    if dispersion.between_range is not None:
        weakest, strongest = (
            rejection_rate(units, scheme, replace(dispersion, between=between), effect, alpha, simulations, seed,
                           draws, pool)
            for between in dispersion.between_range
        )  # fmt: skip
        # The interval holds the measured size too; where the spread barely matters (a crossover) the three
        # simulations differ only by their noise, so the range spans all three.
        ends = (min(power, weakest, strongest), max(power, weakest, strongest))
    return Power(effect, power, target, mde, simulations, size, dispersion.between, power_range=ends)


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
