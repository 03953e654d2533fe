"""Known answers: the GLM recovers simulated covariate effects, seasonality and the EB prior size."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pulsetwin.features.calendar import fourier_terms
from pulsetwin.models.glm import PoissonGLM, Rows, fit_step, select_ridge
from pulsetwin.models.intervals import fit_nb_size
from pulsetwin.models.poisson import fit_poisson, fit_separable_poisson
from pulsetwin.testing.panels import simulate_panel

EFFECT_TOL = 0.05
"""Absolute tolerance on log-rate coefficients (standard errors here are about 0.01)."""


def test_separable_solver_recovers_a_poisson_glm() -> None:
    rng = np.random.default_rng(11)
    n_a, weeks = 400, pd.date_range("2020-01-06", periods=104, freq="W-MON")
    z = rng.normal(size=(n_a, 2))
    area_x = np.column_stack([np.ones(n_a), z])
    period_x = fourier_terms(weeks, "W", 1)
    beta, gamma = np.array([-0.5, 0.4, -0.25]), np.array([0.3, -0.2])
    y = rng.poisson(np.exp((area_x @ beta)[:, None] + (period_x @ gamma)[None, :])).astype(float)
    y[rng.random(y.shape) < 0.1] = np.nan
    got_beta, got_gamma = fit_separable_poisson(y, area_x, period_x, ridge=1e-6)
    np.testing.assert_allclose(got_beta, beta, atol=EFFECT_TOL)
    np.testing.assert_allclose(got_gamma, gamma, atol=EFFECT_TOL)
    observed = ~np.isnan(y)
    dense_x = np.column_stack([np.repeat(area_x, len(weeks), axis=0), np.tile(period_x, (n_a, 1))])[
        observed.ravel()
    ]
    dense = fit_poisson(dense_x, y[observed], np.zeros(int(observed.sum())), ridge=1e-6)
    np.testing.assert_allclose(dense, np.concatenate([got_beta, got_gamma]), atol=1e-5)


def test_glm_recovers_covariate_effects_and_seasonality() -> None:
    sim = simulate_panel(
        seed=5,
        side=20,
        periods=156,
        categories=("violence",),
        base=1.0,
        covariate_effects=(0.5, -0.3),
        area_shape=1e6,
        seasonal=(0.3, 0.1),
    )
    model = PoissonGLM(spatial=False, fourier_order=1, trend=False).fit(sim.history(156 - 4))
    z = sim.covariates.query("year == 2020").pivot(index="area_code", columns="variable", values="value")
    sd = z.loc[list(model.panel_.areas)].std(ddof=0).to_numpy()
    names = model.design_.covariate_names
    effects = model.area_coef_[0, 1:] / sd[[0 if n == "z1" else 1 for n in names]]
    np.testing.assert_allclose(effects, [0.5, -0.3], atol=EFFECT_TOL)
    np.testing.assert_allclose(model.period_coef_[0], [0.3, 0.1], atol=EFFECT_TOL)


def test_eb_prior_size_recovers_the_gamma_shape_of_area_effects() -> None:
    rng = np.random.default_rng(2)
    expected = rng.uniform(5, 60, size=5000)
    theta = rng.gamma(4.0, 1 / 4.0, size=expected.size)
    totals = rng.poisson(theta * expected)
    assert abs(fit_nb_size(totals, expected) - 4.0) < 0.4


def test_area_levels_are_shrunk_toward_the_covariate_prediction() -> None:
    sim = simulate_panel(seed=8, side=12, periods=60, categories=("violence",), base=0.2, area_shape=3.0)
    model = PoissonGLM(spatial=False).fit(sim.history(56))
    level = model.origin_features_[:, 0, 0]
    counts = np.nansum(model.panel_.counts[:, 0, :], axis=1)
    raw = np.log((counts + 1e-9) / counts.mean())
    assert np.std(level) < np.std(raw[counts > 0])
    truth = np.log(sim.intensity[:, 0, :56].mean(axis=1))
    assert np.corrcoef(level + model.area_coef_[0] @ model.design_.area_x.T, truth)[0, 1] > 0.7


def _stage2_rows(rng: np.random.Generator, effect: float, n_a: int = 300, n_noise: int = 1) -> list[Rows]:
    """One step of stage-2 rows: level (enters with coefficient 1), a feature with ``effect``, and
    ``n_noise`` features of pure noise."""
    n_t = 40
    level = rng.normal(0.0, 0.5, size=n_a * n_t)
    signal, *noise = rng.normal(size=(1 + n_noise, n_a * n_t))
    offset = np.full(n_a * n_t, np.log(2.0))
    y = rng.poisson(np.exp(offset + level + effect * signal)).astype(float)
    when = np.tile(np.arange(n_t), n_a)
    return [(y, np.column_stack([level, signal, *noise]), offset, when)]


def test_stage2_without_penalty_recovers_a_unit_level_and_the_effects() -> None:
    y, x, offset, _ = _stage2_rows(np.random.default_rng(4), 0.3)[0]
    coef, mu = fit_step(y, x, offset, 1e-6)
    np.testing.assert_allclose(coef, [0.0, 1.0, 0.3, 0.0], atol=EFFECT_TOL)
    assert mu.shape == y.shape


def test_held_out_likelihood_keeps_a_signal_and_shrinks_overfitted_noise() -> None:
    rng = np.random.default_rng(6)
    rows = _stage2_rows(rng, 1.0)
    y, x, offset, _ = rows[0]
    coef, _ = fit_step(y, x, offset, select_ridge(rows, 32, 1.0))
    np.testing.assert_allclose(coef[1:3], [1.0, 1.0], atol=EFFECT_TOL)
    assert select_ridge(_stage2_rows(rng, 0.0, n_a=5, n_noise=40), 32, 1.0) >= 100.0


def test_glm_keeps_the_strongest_ridge_without_history_features_signal() -> None:
    sim = simulate_panel(seed=3, side=8, periods=110, categories=("violence",), excitation=0.0)
    model = PoissonGLM(spatial=False).fit(sim.history(106))
    assert model.stage2_ridge_.shape == (1,)
    np.testing.assert_allclose(model.step_coef_[0, :, 1], 1.0, atol=0.05)
