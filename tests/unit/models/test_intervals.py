"""NB intervals: exact quantiles and about 90 % coverage on simulated negative-binomial data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from pulsetwin.exceptions import ParameterError
from pulsetwin.models.intervals import MAX_SIZE, fit_nb_size, nb_quantiles


def test_nb_intervals_cover_about_ninety_percent() -> None:
    rng = np.random.default_rng(4)
    mu = rng.gamma(2.0, 1.5, size=40_000)
    y = rng.negative_binomial(2.5, 2.5 / (2.5 + mu))
    size = fit_nb_size(y[:20_000], mu[:20_000])
    assert abs(size - 2.5) < 0.3
    q = nb_quantiles(mu[20_000:], size)
    inside = (y[20_000:] >= q[0]) & (y[20_000:] <= q[2])
    assert 0.89 <= inside.mean() <= 0.96
    below = (y[20_000:] < q[0]).mean()
    above = (y[20_000:] > q[2]).mean()
    assert below <= 0.05 and above <= 0.05


def test_quantiles_match_scipy_and_order() -> None:
    mu = np.array([0.0, 0.2, 1.5, 9.0, 350.0])
    q = nb_quantiles(mu, 3.0)
    ref = [stats.nbinom.ppf(p, 3.0, 3.0 / (3.0 + mu[1:])) for p in (0.05, 0.5, 0.95)]
    np.testing.assert_array_equal(q[:, 1:], ref)
    np.testing.assert_array_equal(q[:, 0], 0.0)
    assert (q[0] <= q[1]).all() and (q[1] <= q[2]).all()
    np.testing.assert_array_equal(nb_quantiles(mu[1:], MAX_SIZE)[2], stats.poisson.ppf(0.95, mu[1:]))


def test_poisson_data_gives_a_large_size_and_bad_quantiles_are_refused() -> None:
    rng = np.random.default_rng(1)
    mu = rng.uniform(0.5, 5, size=20_000)
    assert fit_nb_size(rng.poisson(mu), mu) > 50
    with pytest.raises(ParameterError, match="quantiles"):
        nb_quantiles(mu, 1.0, (0.5, 0.05))
