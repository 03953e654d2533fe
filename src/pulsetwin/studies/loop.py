"""The closed loop: forecasts steer patrols, patrols shape the record, the record trains the next forecast.

Per period ``t`` and run (all runs advance together as numpy arrays):

1. the forecaster turns the learner's history into a forecast per area (before any data: the prior, or zeros);
2. the policy turns the forecast into a patrol allocation ``a`` and its propensity ``π``;
3. offences happen at the true rate ``λ`` (optionally lowered where patrolled: ``λ (1 - deterrence · a)``);
4. the record gains ``Poisson(report_rate · λ)`` citizen-reported incidents everywhere and
   ``Poisson(discovery_rate · λ · a)`` incidents discovered by patrol (two independent streams, as the
   reported and discovered incidents of Ensign et al. 2018);
5. the learner turns that period's record into counts and weights for the forecaster: ``"naive"`` learns
   from all recorded incidents (weight 1); ``"ipw"`` weighs discovered incidents by ``1 / π``
   (Horvitz-Thompson), reported ones by 1; ``"reported_only"`` learns from citizen reports alone.

A forecaster is any callable ``forecaster(history_counts, weights) -> forecasts`` with ``history_counts``
and ``weights`` of shape ``(runs, periods_so_far, areas)`` returning ``(runs, areas)``.
``history_counts * weights`` is what the learner believes happened; for ``"ipw"`` the weight of a cell is
the mean weight of its incidents. :class:`DiscountedMean` is the fast default (updated incrementally);
:class:`ModelForecaster` plugs in any ``Model`` of the project's contract.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import pandas as pd

from pulsetwin.exceptions import bad_parameter
from pulsetwin.models.base import History, Model, future_periods
from pulsetwin.schema.params import Integer, Number, check_param
from pulsetwin.schema.periods import Freq
from pulsetwin.studies.policies import Policy

Learner = Literal["naive", "ipw", "reported_only"]
LEARNERS: tuple[str, ...] = get_args(Learner)
Forecaster = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class DiscountedMean:
    """Forecast the next period as the discounted mean of the learner's weighted counts.

    ``memory`` is the weight of a period relative to the one after it: 1 gives the plain mean of all history,
    0.9 an exponentially weighted mean with an effective memory of about 10 periods.

    Notes
    -----
    Exponential smoothing of counts (Brown 1959); with ``memory=1`` the maximum-likelihood Poisson rate.
    """

    memory: float = 1.0

    def __post_init__(self) -> None:
        check_param("memory", "DiscountedMean", Number(low=0.0, high=1.0, closed="right"), self.memory)

    def __call__(self, history_counts: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """The forecast from a full history of shape ``(runs, periods, areas)``."""
        periods = history_counts.shape[1]
        decay = self.memory ** np.arange(periods - 1, -1, -1, dtype=float)
        total = np.einsum("rtn,t->rn", history_counts * weights, decay)
        return np.asarray(total / decay.sum())

    def update(
        self, state: tuple[np.ndarray, float], counts: np.ndarray, weights: np.ndarray
    ) -> tuple[tuple[np.ndarray, float], np.ndarray]:
        """Add one period ``(runs, areas)`` to the state ``(numerator, denominator)``; return the forecast."""
        numerator, denominator = state
        numerator = self.memory * numerator + counts * weights
        denominator = self.memory * denominator + 1.0
        return (numerator, denominator), numerator / denominator


@dataclass(frozen=True)
class ModelForecaster:
    """Plug a forecaster of the project's ``Model`` contract into the loop.

    Every period each run's history becomes a canonical incidents frame (the learner's weighted counts
    rounded to whole incidents), a fresh model is fitted on it and its one-period-ahead ``mean`` is the
    forecast. One fit per run and period: meant for checking a real model in the loop on a few runs, not for
    large Monte-Carlo studies.
    """

    make_model: Callable[[], Model]
    area_codes: tuple[str, ...]
    start: pd.Timestamp
    freq: Freq = Freq.W
    category: str = "simulated"
    source: str = "twin"

    def __call__(self, history_counts: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Fit one model per run on its history and return the forecasts ``(runs, areas)``."""
        runs, periods, areas = history_counts.shape
        if areas != len(self.area_codes):
            raise bad_parameter(
                "area_codes", "ModelForecaster", f"{areas} codes, one per area", len(self.area_codes)
            )
        starts = future_periods(self.start, self.freq, periods + 1)
        counts = np.rint(history_counts * weights).astype(np.int64)
        codes = np.tile(np.asarray(self.area_codes, dtype=object), periods)
        out = np.empty((runs, areas))
        for run in range(runs):  # a Model fits one history at a time
            incidents = pd.DataFrame(
                {
                    "area_code": codes,
                    "period_start": np.repeat(starts[:-1].to_numpy(), areas),
                    "freq": self.freq,
                    "category": self.category,
                    "count": counts[run].ravel(),
                    "source": self.source,
                }
            )
            model = self.make_model().fit(History(incidents=incidents, freq=self.freq, origin=starts[-1]))
            forecast = model.predict(1)
            forecast = forecast[forecast["category"] == self.category]
            means = forecast.groupby("area_code")["mean"].first().reindex(list(self.area_codes))
            if means.isna().any():
                missing = means.index[means.isna()].tolist()[:5]
                raise bad_parameter(
                    "make_model", "ModelForecaster", "a model forecasting every area", missing
                )
            out[run] = means.to_numpy(dtype=float)
        return out


@dataclass(frozen=True)
class LoopResult:
    """Everything the loop did, each array of shape ``(runs, periods, areas)``.

    Attributes
    ----------
    forecasts
        The forecast that steered each period.
    flagged
        The ``policy.flag_count`` areas the forecast ranked highest.
    allocation, propensity
        Realised patrol intensity and its expectation given the forecast.
    offence_rate
        The true expected offences (after deterrence).
    reported, discovered
        Recorded incidents by stream.
    """

    forecasts: np.ndarray
    flagged: np.ndarray
    allocation: np.ndarray
    propensity: np.ndarray
    offence_rate: np.ndarray
    reported: np.ndarray
    discovered: np.ndarray

    @property
    def recorded(self) -> np.ndarray:
        """All recorded incidents, as a store would hold them."""
        return np.asarray(self.reported + self.discovered)


def simulate_loop(
    true_rates: np.ndarray,
    *,
    periods: int,
    policy: Policy,
    learner: Learner = "naive",
    runs: int = 1,
    report_rate: float = 1.0,
    discovery_rate: float = 1.0,
    deterrence: float = 0.0,
    prior_counts: np.ndarray | None = None,
    forecaster: Forecaster | None = None,
    seed: int | np.random.SeedSequence,
) -> LoopResult:
    """Run the closed patrol loop for ``periods`` periods and ``runs`` independent runs at once.

    Parameters
    ----------
    true_rates
        Expected offences per area and period, broadcastable to ``(runs, periods, areas)``: ``(areas,)``,
        ``(periods, areas)`` or ``(runs | 1, periods | 1, areas)``.
    periods, runs
        Length and number of simulations.
    policy
        How forecasts become patrols.
    learner
        ``"naive"``, ``"ipw"`` or ``"reported_only"`` (see the module docstring).
    report_rate, discovery_rate
        Recorded citizen reports per offence, and recorded discoveries per offence at full patrol.
    deterrence
        Relative drop of offences at full patrol, in ``[0, 1)``; 0 (the default) leaves the true rate alone.
    prior_counts
        Recorded counts per area of one earlier period, the first row of every run's history (e.g. the store's
        mean); without it the first forecast is all zeros, so the first patrol breaks ties at random.
    forecaster
        ``forecaster(history_counts, weights) -> forecasts``; default :class:`DiscountedMean` ``()``.
    seed
        Seed of the random generator; same seed, same result.

    Notes
    -----
    Ensign et al. (2018), runaway feedback loops; Lum & Isaac (2016), To predict and serve?
    """
    rates = _rates(true_rates, runs, periods)
    areas = rates.shape[-1]
    if learner not in LEARNERS:
        raise bad_parameter("learner", "simulate_loop", f"one of {', '.join(LEARNERS)}", learner)
    for name, value in (("report_rate", report_rate), ("discovery_rate", discovery_rate)):
        check_param(name, "simulate_loop", Number(low=0.0, finite=True), value)
    check_param("deterrence", "simulate_loop", Number(low=0.0, high=1.0, closed="left"), deterrence)
    prior = _prior(prior_counts, areas)
    model = DiscountedMean() if forecaster is None else forecaster
    incremental = isinstance(model, DiscountedMean)

    rng = np.random.default_rng(seed)
    shape = (runs, periods, areas)
    out = {
        name: np.empty(shape) for name in ("forecasts", "flagged", "allocation", "propensity", "offence_rate")
    }
    reported = np.empty(shape, dtype=np.int64)
    discovered = np.empty(shape, dtype=np.int64)
    offset = 0 if prior is None else 1
    if incremental:
        assert isinstance(model, DiscountedMean)
        state: tuple[np.ndarray, float] = (np.zeros((runs, areas)), 0.0)
        forecast = np.zeros((runs, areas))
        if prior is not None:
            state, forecast = model.update(
                state, np.broadcast_to(prior, (runs, areas)), np.ones((runs, areas))
            )
    else:
        counts_log = np.zeros((runs, periods + offset, areas))
        weights_log = np.ones((runs, periods + offset, areas))
        if prior is not None:
            counts_log[:, 0] = prior
        forecast = (
            model(counts_log[:, :1], weights_log[:, :1]) if prior is not None else np.zeros((runs, areas))
        )

    for t in range(periods):
        forecast = np.asarray(forecast, dtype=float)
        if forecast.shape != (runs, areas) or not np.all(np.isfinite(forecast)) or np.any(forecast < 0):
            raise bad_parameter(
                "forecaster",
                "simulate_loop",
                f"finite forecasts >= 0 of shape {(runs, areas)}",
                forecast.shape,
            )
        plan = policy.allocate(forecast, rng)
        offences = rates[:, t] * (1.0 - deterrence * plan.allocation)
        reports = rng.poisson(report_rate * offences)
        patrolled = plan.allocation > 0
        found = np.zeros((runs, areas), dtype=np.int64)
        found[patrolled] = rng.poisson((discovery_rate * offences * plan.allocation)[patrolled])
        counts, weights = _learn(learner, reports, found, plan.propensity)

        out["forecasts"][:, t] = forecast
        out["flagged"][:, t] = plan.flagged
        out["allocation"][:, t] = plan.allocation
        out["propensity"][:, t] = plan.propensity
        out["offence_rate"][:, t] = offences
        reported[:, t] = reports
        discovered[:, t] = found

        if incremental:
            assert isinstance(model, DiscountedMean)
            state, forecast = model.update(state, counts, weights)
        else:
            counts_log[:, t + offset] = counts
            weights_log[:, t + offset] = weights
            forecast = model(counts_log[:, : t + offset + 1], weights_log[:, : t + offset + 1])
    return LoopResult(
        forecasts=out["forecasts"],
        flagged=out["flagged"].astype(bool),
        allocation=out["allocation"],
        propensity=out["propensity"],
        offence_rate=out["offence_rate"],
        reported=reported,
        discovered=discovered,
    )


def _learn(
    learner: str, reports: np.ndarray, found: np.ndarray, propensity: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The counts and per-cell weights a learner takes from one period's record."""
    if learner == "reported_only":
        return reports.astype(float), np.ones(reports.shape)
    recorded = (reports + found).astype(float)
    if learner == "naive":
        return recorded, np.ones(recorded.shape)
    corrected = reports + np.divide(found, propensity, out=np.zeros(found.shape), where=propensity > 0)
    weights = np.divide(corrected, recorded, out=np.ones(recorded.shape), where=recorded > 0)
    return recorded, weights


def _rates(true_rates: np.ndarray, runs: int, periods: int) -> np.ndarray:
    """Broadcast the true rates to ``(runs, periods, areas)``, refusing bad shapes and values."""
    for name, value in (("runs", runs), ("periods", periods)):
        check_param(name, "simulate_loop", Integer(low=1, say="a positive integer"), value)
    rates = np.asarray(true_rates, dtype=float)
    if rates.ndim == 1:
        rates = rates[None, None, :]
    elif rates.ndim == 2:
        rates = rates[None, :, :]
    if rates.ndim != 3 or rates.shape[-1] < 2:
        raise bad_parameter(
            "true_rates", "simulate_loop", "an array (..., areas) with at least two areas", rates.shape
        )
    try:
        full = np.broadcast_to(rates, (runs, periods, rates.shape[-1]))
    except ValueError:
        raise bad_parameter(
            "true_rates",
            "simulate_loop",
            f"broadcastable to (runs={runs}, periods={periods}, areas)",
            rates.shape,
        ) from None
    if not np.all(np.isfinite(full)) or np.any(full < 0):
        raise bad_parameter("true_rates", "simulate_loop", "finite and >= 0", float(np.nanmin(full)))
    return full


def _prior(prior_counts: np.ndarray | None, areas: int) -> np.ndarray | None:
    """Validate the prior counts per area."""
    if prior_counts is None:
        return None
    prior = np.asarray(prior_counts, dtype=float)
    if prior.shape != (areas,) or not np.all(np.isfinite(prior)) or np.any(prior < 0):
        raise bad_parameter("prior_counts", "simulate_loop", f"{areas} finite counts >= 0", prior.shape)
    return prior
