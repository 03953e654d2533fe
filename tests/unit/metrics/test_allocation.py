"""Loop metrics against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from pulsetwin.exceptions import ParameterError
from pulsetwin.metrics.allocation import (
    exposure_by_group,
    exposure_disparity,
    gini,
    lock_in,
    misallocation,
    share_gap,
)


def test_gini_known_values() -> None:
    np.testing.assert_allclose(gini(np.array([1.0, 1.0, 1.0, 1.0])), 0.0, atol=1e-12)
    np.testing.assert_allclose(gini(np.array([0.0, 0.0, 0.0, 1.0])), 0.75)
    # mean absolute difference / (2 mean): pairs of (1, 2, 3) differ by 1, 2, 1 -> 8 / (2 * 9 * 2) = 2 / 9
    np.testing.assert_allclose(gini(np.array([3.0, 1.0, 2.0])), 2.0 / 9.0)
    assert np.isnan(gini(np.zeros(3)))


def test_gini_works_along_an_axis() -> None:
    values = np.array([[1.0, 1.0], [0.0, 2.0]])
    np.testing.assert_allclose(gini(values, axis=1), [0.0, 0.5])
    np.testing.assert_allclose(gini(values.T, axis=0), [0.0, 0.5])


def test_gini_refuses_negative_values() -> None:
    with pytest.raises(ParameterError, match="values"):
        gini(np.array([1.0, -1.0]))


def test_lock_in_is_the_jaccard_of_consecutive_sets() -> None:
    flagged = np.array([[1, 1, 0, 0], [1, 0, 1, 0], [1, 0, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]], dtype=bool)
    np.testing.assert_allclose(lock_in(flagged), [1 / 3, 1.0, 0.0, 1.0])


def test_share_gap_and_misallocation() -> None:
    allocation = np.array([2.0, 0.0])
    rate = np.array([1.0, 1.0])
    np.testing.assert_allclose(share_gap(allocation, rate), [0.5, -0.5])
    np.testing.assert_allclose(misallocation(allocation, rate), 0.5)
    np.testing.assert_allclose(misallocation(rate, rate), 0.0)


def test_exposure_by_group_and_disparity() -> None:
    allocation = np.array([1.0, 0.0])
    population = np.array([100.0, 300.0])
    share = np.array([0.5, 0.1])  # group: 50 + 30 residents; rest: 50 + 270
    np.testing.assert_allclose(
        exposure_by_group(allocation, population, np.stack([share, 1 - share])), [50 / 80, 50 / 320]
    )
    np.testing.assert_allclose(exposure_disparity(allocation, population, share), (50 / 80) / (50 / 320))
    np.testing.assert_allclose(exposure_disparity(np.array([0.4, 0.4]), population, share), 1.0)


def test_exposure_refuses_shares_outside_zero_one() -> None:
    with pytest.raises(ParameterError, match="group_share"):
        exposure_by_group(np.ones(2), np.ones(2), np.array([[1.5, 0.2]]))
