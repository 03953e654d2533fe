"""Scores on hand-made arrays with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from pulsetwin.exceptions import ParameterError
from pulsetwin.metrics import scores as m


def test_poisson_deviance_known_values() -> None:
    got = m.poisson_deviance([0, 1, 2, 4], [1.0, 1.0, 1.0, 4.0])
    np.testing.assert_allclose(got, [2.0, 0.0, 2 * (2 * np.log(2) - 1), 0.0])


def test_zero_mean_is_floored_to_a_finite_penalty() -> None:
    got = m.poisson_deviance([1], [0.0])
    np.testing.assert_allclose(got, [2 * (np.log(1 / m.MEAN_FLOOR) - 1 + m.MEAN_FLOOR)])


def test_absolute_and_squared_error() -> None:
    np.testing.assert_allclose(m.absolute_error([3, 0], [1.5, 2.0]), [1.5, 2.0])
    np.testing.assert_allclose(m.squared_error([3, 0], [1.5, 2.0]), [2.25, 4.0])


def test_interval_score_and_wis_known_values() -> None:
    # y above the interval [1, 3] by 2: width 2 + (2 / 0.1) * 2 = 42.
    assert m.interval_score([5], [1], [3])[0] == pytest.approx(42.0)
    assert m.interval_score([2], [1], [3])[0] == pytest.approx(2.0)
    # WIS = (0.5 * |5 - 2| + 0.05 * 42) / 1.5 = 2.4 (Bracher et al. 2021, eq. 2 with K = 1).
    assert m.weighted_interval_score([5], [1], [2], [3])[0] == pytest.approx(2.4)


def test_coverage_and_quantile_hits() -> None:
    np.testing.assert_array_equal(m.interval_covered([0, 1, 3, 4], [1] * 4, [3] * 4), [0, 1, 1, 0])
    np.testing.assert_array_equal(m.below_quantile([0, 2, 3], [2, 2, 2]), [1, 1, 0])


def test_log_score_is_poisson_when_the_interval_is_poisson() -> None:
    mu = np.array([0.2, 1.0, 3.5, 12.0])
    q95 = stats.poisson.ppf(0.95, mu)
    y = np.array([0, 2, 7, 10])
    assert np.isinf(m.nb_size_from_q95(mu, q95)).all()
    np.testing.assert_allclose(m.nb_log_score(y, mu, q95), -stats.poisson.logpmf(y, mu))


@pytest.mark.parametrize("size", [0.5, 2.0, 10.0])
def test_matched_nb_reproduces_the_given_q95(size: float) -> None:
    mu = np.array([1.0, 4.0, 9.0, 30.0])
    q95 = stats.nbinom.ppf(0.95, size, size / (size + mu))
    fitted = m.nb_size_from_q95(mu, q95)
    finite = np.isfinite(fitted)
    np.testing.assert_array_equal(
        stats.nbinom.ppf(0.95, fitted[finite], fitted[finite] / (fitted[finite] + mu[finite])), q95[finite]
    )
    # A wider interval than Poisson's must yield a finite (over-dispersed) size for large means.
    assert finite[-1]


def test_log_score_rewards_the_true_dispersion() -> None:
    rng = np.random.default_rng(3)
    mu, size = np.full(20_000, 5.0), 1.5
    y = rng.negative_binomial(size, size / (size + mu))
    wide = stats.nbinom.ppf(0.95, size, size / (size + mu))
    narrow = stats.poisson.ppf(0.95, mu)
    assert m.nb_log_score(y, mu, wide).mean() < m.nb_log_score(y, mu, narrow).mean()


def test_shape_mismatch_is_refused() -> None:
    with pytest.raises(ParameterError, match="same shape"):
        m.poisson_deviance([1, 2], [1.0])
