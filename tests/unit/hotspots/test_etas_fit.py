"""ETAS by EM recovers the parameters of a simulated Hawkes process; prospective weights are as published."""

from __future__ import annotations

import numpy as np
import pytest

from pulsetwin.exceptions import ParameterError
from pulsetwin.grid.cells import build_grid
from pulsetwin.hotspots.base import GridHistory
from pulsetwin.hotspots.etas import fit_etas
from pulsetwin.hotspots.prospective import Prospective
from pulsetwin.hotspots.simulate import simulate_hawkes

MU_RTOL = 0.10  # background rate within 10 %
THETA_ATOL = 0.06  # branching ratio within 0.06
OMEGA_RTOL = 0.15
SIGMA_RTOL = 0.10


@pytest.mark.parametrize(
    ("seed", "mu", "theta", "omega", "sigma"), [(1, 5.0, 0.5, 0.2, 50.0), (2, 8.0, 0.3, 0.1, 80.0)]
)
def test_em_recovers_background_rate_and_branching_ratio(
    seed: int, mu: float, theta: float, omega: float, sigma: float
) -> None:
    days = 730.0
    sample = simulate_hawkes(mu=mu, theta=theta, omega=omega, sigma=sigma, days=days, seed=seed)
    fit = fit_etas(sample.t, sample.x, sample.y, t_start=0.0, t_end=days)
    assert fit.converged
    assert fit.mu == pytest.approx(mu, rel=MU_RTOL)
    assert fit.theta == pytest.approx(theta, abs=THETA_ATOL)
    assert fit.omega == pytest.approx(omega, rel=OMEGA_RTOL)
    assert fit.sigma == pytest.approx(sigma, rel=SIGMA_RTOL)
    # Background probabilities separate the two kinds of events.
    assert (
        fit.background_prob[sample.is_background].mean()
        > fit.background_prob[~sample.is_background].mean() + 0.3
    )


def test_events_outside_the_observation_window_are_refused() -> None:
    with pytest.raises(ParameterError, match="t_start"):
        fit_etas(np.array([1.0, 5.0]), np.zeros(2), np.zeros(2), t_start=2.0, t_end=10.0)


def test_prospective_weights_follow_bowers_johnson_pease() -> None:
    grid = build_grid(np.array([0.0, 999.0]), np.array([0.0, 999.0]), 100)
    cell = grid.locate(np.array([450.0, 450.0]), np.array([450.0, 450.0]))
    history = GridHistory(
        grid=grid,
        cells=np.arange(grid.n_cells),
        origin=__import__("pandas").Timestamp("2024-01-01"),
        window_days=7,
        t=np.array([-10.0, -3.0]),  # one event 1 week old, one 0 weeks old, same cell (4, 4)
        x=np.array([450.0, 450.0]),
        y=np.array([450.0, 450.0]),
        cell=cell,
        other_t=np.empty(0),
        other_cell=np.empty(0, dtype=np.int64),
    )
    risk = Prospective(radius_m=200.0).fit(history).predict()
    image = risk.reshape(grid.ny, grid.nx) / risk.sum()
    time_weight = 1.0 + 0.5
    raw = np.zeros((grid.ny, grid.nx))
    for dy in range(-2, 3):
        for dx in range(-2, 3):
            d = np.hypot(dx, dy)
            if d <= 2.0:
                raw[4 + dy, 4 + dx] = time_weight / (1.0 + d)
    np.testing.assert_allclose(image, raw / raw.sum())
