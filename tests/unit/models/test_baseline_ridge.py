"""The baseline ridge is chosen by how well EB area levels forecast held-out periods."""

from __future__ import annotations

import numpy as np

from pulsetwin.models.penalties import BASELINE_RIDGE_GRID, baseline_ridge_losses, choose_baseline_ridge

N_PERIODS = 104


def _panel(effect: float, n_areas: int, n_covariates: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Counts (areas, 3 categories, periods) whose log rate is ``effect`` times the first covariate."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n_areas, n_covariates))
    area_x = np.column_stack([np.ones(n_areas), z])
    rate = 0.5 * np.exp(effect * z[:, 0])
    counts = rng.poisson(rate[:, None, None], size=(n_areas, 3, N_PERIODS)).astype(float)
    return counts, area_x


def test_noise_covariates_get_a_strong_penalty() -> None:
    """Twenty covariates without any effect on 40 areas: the held-out choice shrinks them hard."""
    counts, area_x = _panel(0.0, 40, 20, seed=1)
    period_x = np.zeros((N_PERIODS, 0))
    chosen = choose_baseline_ridge(counts, area_x, period_x, ridge=1.0, freq="W")
    assert chosen >= 100.0


def test_a_strong_real_effect_keeps_a_light_penalty() -> None:
    """One covariate with a large effect on many areas: a heavy penalty would bias it, so a light one wins."""
    counts, area_x = _panel(1.0, 400, 1, seed=2)
    period_x = np.zeros((N_PERIODS, 0))
    chosen = choose_baseline_ridge(counts, area_x, period_x, ridge=1.0, freq="W")
    assert chosen <= 100.0


def test_short_history_keeps_the_given_ridge() -> None:
    """Fewer periods than twice the held-out window: nothing can be held out, the model's ridge stays."""
    counts, area_x = _panel(0.5, 30, 2, seed=3)
    short = counts[:, :, :40]
    assert baseline_ridge_losses(short[:, 0, :], area_x, np.zeros((40, 0)), ridge=2.0, valid=26) is None
    assert choose_baseline_ridge(short, area_x, np.zeros((40, 0)), ridge=2.0, freq="W") == 2.0


def test_losses_cover_the_grid() -> None:
    counts, area_x = _panel(0.5, 30, 2, seed=4)
    losses = baseline_ridge_losses(counts[:, 0, :], area_x, np.zeros((N_PERIODS, 0)), ridge=1.0, valid=26)
    assert losses is not None and losses.shape == BASELINE_RIDGE_GRID.shape and np.isfinite(losses).all()
