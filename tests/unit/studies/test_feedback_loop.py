"""The closed patrol loop: the eight-area runaway and its repair, pluggable forecasters, invariants."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pulsetwin.exceptions import ParameterError
from pulsetwin.models.base import History, Model, future_periods
from pulsetwin.studies.loop import DiscountedMean, ModelForecaster, simulate_loop
from pulsetwin.studies.policies import Policy

EIGHT = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.5, 1.5])
TRUE_TOP = [6, 7]
SEEDS = 30
EPSILON = 0.2


def _recovered(policy: Policy, learner: str) -> int:
    """In how many of 30 seeds the final flagged set is the true top 2 (3,000 days, 0.3 λ reported)."""
    result = simulate_loop(
        EIGHT,
        periods=3000,
        policy=policy,
        learner=learner,  # type: ignore[arg-type]
        runs=SEEDS,
        report_rate=0.3,
        discovery_rate=1.0,
        seed=8,
    )
    final = result.flagged[:, -1]
    return int(np.all(final[:, TRUE_TOP], axis=1).sum())


def test_naive_top_k_locks_in_on_its_first_guess() -> None:
    assert _recovered(Policy("top_k", 2), "naive") <= SEEDS // 2


def test_exploration_alone_does_not_repair_a_naive_learner() -> None:
    assert _recovered(Policy("top_k_explore", 2, epsilon=EPSILON), "naive") <= SEEDS // 2


def test_inverse_propensity_with_exploration_recovers_the_top_two() -> None:
    assert _recovered(Policy("top_k_explore", 2, epsilon=EPSILON), "ipw") >= 0.9 * SEEDS


def test_learning_from_citizen_reports_only_recovers_the_top_two() -> None:
    assert _recovered(Policy("top_k", 2), "reported_only") >= 0.9 * SEEDS


def test_same_seed_same_loop() -> None:
    kwargs = {"periods": 20, "policy": Policy("top_k_explore", 2, epsilon=0.3), "runs": 3, "seed": 4}
    first, second = simulate_loop(EIGHT, **kwargs), simulate_loop(EIGHT, **kwargs)  # type: ignore[arg-type]
    np.testing.assert_array_equal(first.recorded, second.recorded)
    np.testing.assert_array_equal(first.allocation, second.allocation)


@pytest.mark.parametrize("learner", ["naive", "ipw", "reported_only"])
@pytest.mark.parametrize("memory", [1.0, 0.8])
def test_incremental_and_full_history_forecasts_agree(learner: str, memory: float) -> None:
    kwargs = {
        "periods": 15,
        "policy": Policy("top_k_explore", 3, epsilon=0.5),
        "learner": learner,
        "runs": 4,
        "prior_counts": EIGHT,
        "seed": 9,
    }
    fast = simulate_loop(EIGHT, forecaster=DiscountedMean(memory), **kwargs)  # type: ignore[arg-type]

    def full(history: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return DiscountedMean(memory)(history, weights)

    slow = simulate_loop(EIGHT, forecaster=full, **kwargs)  # type: ignore[arg-type]
    np.testing.assert_allclose(fast.forecasts, slow.forecasts, rtol=1e-12)
    np.testing.assert_array_equal(fast.recorded, slow.recorded)


class _HistoricMean(Model):
    """A tiny Model-contract forecaster: each area's mean count so far."""

    name = "historic_mean"

    def fit(self, history: History) -> _HistoricMean:
        self.means_ = history.incidents.groupby("area_code")["count"].mean()
        self.origin_ = history.origin
        self.freq_ = history.freq
        return self

    def predict(self, horizon: int, *, run_id: str = "adhoc") -> pd.DataFrame:
        self._check_fitted()
        start = future_periods(self.origin_, self.freq_, horizon)[0]
        return pd.DataFrame(
            {
                "run_id": run_id,
                "model": self.name,
                "area_code": self.means_.index,
                "category": "simulated",
                "period_start": start,
                "mean": self.means_.to_numpy(),
                "q05": 0.0,
                "q50": self.means_.to_numpy(),
                "q95": self.means_.to_numpy(),
            }
        )


def test_a_model_contract_forecaster_plugs_in() -> None:
    codes = tuple(f"BU0917{n:04d}" for n in range(EIGHT.size))
    adapter = ModelForecaster(_HistoricMean, codes, pd.Timestamp("2024-01-01"), freq="W")
    whole = 2 * EIGHT  # the adapter hands whole counts to the model
    kwargs = {"periods": 6, "policy": Policy("top_k", 2), "runs": 2, "prior_counts": whole, "seed": 1}
    via_model = simulate_loop(EIGHT, forecaster=adapter, **kwargs)  # type: ignore[arg-type]
    via_mean = simulate_loop(EIGHT, **kwargs)  # type: ignore[arg-type]
    np.testing.assert_allclose(via_model.forecasts, via_mean.forecasts)


def test_ipw_pseudo_counts_are_unbiased_for_the_recorded_rate_at_full_patrol() -> None:
    result = simulate_loop(
        EIGHT,
        periods=200,
        policy=Policy("top_k_explore", 2, epsilon=0.5),
        learner="ipw",
        runs=400,
        report_rate=0.3,
        discovery_rate=1.0,
        seed=12,
    )
    final = result.forecasts[:, -1].mean(axis=0)  # standard error about 0.013 per area
    np.testing.assert_allclose(final, 1.3 * EIGHT, atol=0.06)


def test_uniform_patrol_spreads_the_budget_evenly_and_deterrence_lowers_offences() -> None:
    result = simulate_loop(EIGHT, periods=5, policy=Policy("uniform", 4), runs=2, deterrence=0.5, seed=0)
    np.testing.assert_allclose(result.allocation, 0.5)
    np.testing.assert_allclose(result.offence_rate, np.broadcast_to(EIGHT * 0.75, result.offence_rate.shape))


def test_deterrence_is_off_by_default() -> None:
    result = simulate_loop(EIGHT, periods=5, policy=Policy("top_k", 2), runs=2, seed=0)
    np.testing.assert_allclose(result.offence_rate, np.broadcast_to(EIGHT, result.offence_rate.shape))


def test_time_varying_rates_are_followed() -> None:
    rates = np.vstack([EIGHT, 2 * EIGHT, 3 * EIGHT])
    result = simulate_loop(rates, periods=3, policy=Policy("uniform", 1), runs=2, seed=0)
    np.testing.assert_allclose(result.offence_rate[0], rates)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"learner": "oracle"}, "learner"),
        ({"report_rate": -1.0}, "report_rate"),
        ({"deterrence": 1.0}, "deterrence"),
        ({"prior_counts": np.ones(3)}, "prior_counts"),
        ({"periods": 0}, "periods"),
        ({"forecaster": lambda h, w: -np.ones((1, 8))}, "forecaster"),
    ],
)
def test_bad_loop_parameters_are_refused(kwargs: dict[str, object], name: str) -> None:
    arguments: dict[str, object] = {
        "periods": 3,
        "policy": Policy("top_k", 2),
        "seed": 0,
        "prior_counts": EIGHT,
    }
    arguments.update(kwargs)
    with pytest.raises(ParameterError, match=f"'{name}'"):
        simulate_loop(EIGHT, **arguments)  # type: ignore[arg-type]


def test_rates_of_the_wrong_shape_are_refused() -> None:
    with pytest.raises(ParameterError, match="true_rates"):
        simulate_loop(np.ones((4, 8)), periods=3, policy=Policy("top_k", 2), seed=0)
