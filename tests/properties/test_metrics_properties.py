"""Invariants of the scores: non-negative, zero at a perfect point forecast, propriety of the deviance."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from pulsetwin.metrics import scores as m

counts = arrays(np.int64, st.integers(1, 30), elements=st.integers(0, 200))
means = st.floats(0.01, 300.0, allow_nan=False)


@given(counts, means)
def test_deviance_is_nonnegative_and_zero_only_at_y(y: np.ndarray, mu: float) -> None:
    d = m.poisson_deviance(y, np.full(y.shape, mu))
    assert (d >= -1e-9).all()
    assert np.allclose(m.poisson_deviance(y[y > 0], y[y > 0].astype(float)), 0.0, atol=1e-9)


@given(counts)
def test_mean_deviance_is_minimised_by_the_sample_mean(y: np.ndarray) -> None:
    centre = max(float(y.mean()), m.MEAN_FLOOR)
    best = m.poisson_deviance(y, np.full(y.shape, centre)).mean()
    for factor in (0.5, 0.9, 1.1, 2.0):
        assert best <= m.poisson_deviance(y, np.full(y.shape, centre * factor)).mean() + 1e-9


@given(counts, st.floats(0.0, 50.0), st.floats(0.0, 50.0), st.floats(0.0, 50.0))
def test_wis_is_nonnegative_and_zero_for_a_point_mass_at_y(
    y: np.ndarray, a: float, b: float, c: float
) -> None:
    lo, med, hi = sorted((a, b, c))
    full = np.full(y.shape, 1.0)
    assert (m.weighted_interval_score(y, full * lo, full * med, full * hi) >= 0).all()
    yf = y.astype(float)
    assert np.allclose(m.weighted_interval_score(y, yf, yf, yf), 0.0)


@given(counts, st.floats(0.0, 50.0), st.floats(0.0, 50.0))
def test_coverage_is_a_share_and_wider_intervals_cover_more(y: np.ndarray, a: float, b: float) -> None:
    lo, hi = min(a, b), max(a, b)
    full = np.ones(y.shape)
    narrow = m.interval_covered(y, full * lo, full * hi)
    wide = m.interval_covered(y, full * max(lo - 1, 0), full * (hi + 1))
    assert set(np.unique(narrow)) <= {0.0, 1.0}
    assert (wide >= narrow).all()


@settings(max_examples=40, deadline=None)
@given(counts, means, st.floats(0.0, 400.0))
def test_log_score_is_finite_and_nonnegative(y: np.ndarray, mu: float, q95: float) -> None:
    score = m.nb_log_score(y, np.full(y.shape, mu), np.full(y.shape, max(q95, mu)))
    assert np.isfinite(score).all() and (score >= -1e-9).all()
