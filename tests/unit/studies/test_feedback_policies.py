"""Patrol policies keep their budget, respect the [0, 1] cap and report honest propensities."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from pulsetwin.exceptions import ParameterError, ParameterTypeError
from pulsetwin.studies.policies import Policy, flag_top, proportional_capped

forecast_rows = arrays(
    float, st.tuples(st.integers(1, 4), st.integers(2, 12)), elements=st.floats(0, 100, allow_subnormal=False)
)


@settings(max_examples=60, deadline=None)
@given(forecasts=forecast_rows, fraction=st.floats(0.05, 1.0))
def test_proportional_allocation_spends_the_budget_within_caps(
    forecasts: np.ndarray, fraction: float
) -> None:
    k = fraction * forecasts.shape[1]
    share = proportional_capped(forecasts, k)
    assert np.all((share >= 0) & (share <= 1 + 1e-12))
    np.testing.assert_allclose(share.sum(axis=1), k, rtol=1e-9)


@settings(max_examples=60, deadline=None)
@given(forecasts=forecast_rows, seed=st.integers(0, 2**32 - 1))
def test_top_k_flags_exactly_k_of_the_highest(forecasts: np.ndarray, seed: int) -> None:
    k = max(1, forecasts.shape[1] // 3)
    flagged = flag_top(forecasts, k, np.random.default_rng(seed))
    assert np.all(flagged.sum(axis=1) == k)
    lowest_flagged = np.where(flagged == 1, forecasts, np.inf).min(axis=1)
    highest_unflagged = np.where(flagged == 0, forecasts, -np.inf).max(axis=1)
    assert np.all(lowest_flagged >= highest_unflagged)


def test_proportional_follows_the_forecast_below_the_cap() -> None:
    share = proportional_capped(np.array([[1.0, 2.0, 3.0, 4.0]]), 1.0)
    np.testing.assert_allclose(share, [[0.1, 0.2, 0.3, 0.4]])


def test_proportional_passes_the_excess_on() -> None:
    share = proportional_capped(np.array([[100.0, 1.0, 1.0]]), 2.0)
    np.testing.assert_allclose(share, [[1.0, 0.5, 0.5]])


def test_exploration_propensity_is_the_patrol_probability() -> None:
    policy = Policy("top_k_explore", 2, epsilon=0.4)
    forecasts = np.tile(np.arange(8.0), (20000, 1))
    plan = policy.allocate(forecasts, np.random.default_rng(0))
    np.testing.assert_allclose(plan.allocation.mean(axis=0), plan.propensity[0], atol=0.015)
    np.testing.assert_allclose(plan.propensity[0], [0.1] * 6 + [0.7, 0.7])
    assert np.all(plan.allocation.sum(axis=1) == 2)


def test_ties_are_broken_at_random() -> None:
    flagged = flag_top(np.zeros((4000, 4)), 1, np.random.default_rng(1))
    np.testing.assert_allclose(flagged.mean(axis=0), 0.25, atol=0.03)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("nearest", 2), ParameterError),
        (("top_k", 0), ParameterError),
        (("top_k", 1.5), ParameterError),
        (("top_k", "2"), ParameterTypeError),
        (("top_k_explore", 2, 0.0), ParameterError),
        (("top_k", 2, 0.1), ParameterError),
    ],
)
def test_bad_policies_are_refused(args: tuple[object, ...], error: type[Exception]) -> None:
    with pytest.raises(error):
        Policy(*args)  # type: ignore[arg-type]


def test_a_budget_above_the_number_of_areas_is_refused() -> None:
    with pytest.raises(ParameterError, match="'k'"):
        Policy("uniform", 5).allocate(np.ones((1, 3)), np.random.default_rng(0))
