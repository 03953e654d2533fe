"""Skill intervals cover the true skill in simulation; gap shares have known values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pulsetwin.evaluation.skill import block_bootstrap_indices, skill_table
from pulsetwin.exceptions import ParameterError


def _expected_deviance(mu: np.ndarray, forecast: np.ndarray) -> float:
    """E[2 (y log(y / f) - y + f)] for y ~ Poisson(mu), averaged over cells (exact up to the pmf tail)."""
    k = np.arange(0, 80)[:, None]
    ylogy = (
        stats.poisson.pmf(k, mu.ravel()[None, :]) * np.where(k > 0, k * np.log(np.maximum(k, 1)), 0.0)
    ).sum(0)
    mu_f, f = mu.ravel(), forecast.ravel()
    return float(np.mean(2 * (ylogy - mu_f * np.log(f) - mu_f + f)))


def _losses(y: np.ndarray, forecasts: dict[str, np.ndarray]) -> pd.DataFrame:
    rows = []
    for name, f in forecasts.items():
        d = 2 * (np.where(y > 0, y * np.log(np.maximum(y, 1) / f), 0.0) - y + f)
        rows.append(
            pd.DataFrame(
                {"period": np.arange(y.shape[0]), "model": name, "deviance_sum": d.sum(1), "n": y.shape[1]}
            )
        )
    return pd.concat(rows, ignore_index=True)


def _world(
    rng: np.random.Generator, n_t: int = 60, n_a: int = 30
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Period effects drawn afresh per seed (periods sample a stationary process); fixed area levels."""
    base = np.random.default_rng(99).gamma(2.0, 1.5, n_a)
    effect = rng.gamma(6.0, 1.0 / 6.0, n_t)
    mu = effect[:, None] * base[None, :]
    forecasts = {
        "naive_a": np.repeat(base[None, :], n_t, 0),
        "naive_b": mu * 0.5 + 0.5,
        "model": mu * 1.15,
        "oracle": mu,
    }
    return mu, forecasts


def test_95_percent_interval_covers_the_true_skill_in_about_90_percent_of_seeds() -> None:
    # Measured: nominal 95 % covers in 89 % of these 150 seeds (nominal 90 %: 83 %); percentile intervals
    # of a ratio over 60 periods run a little narrow. True skill: expected deviances over the period-effect
    # distribution (large sample) and the Poisson noise.
    mu, forecasts = _world(np.random.default_rng(12345), n_t=4000)
    true_skill = 1 - _expected_deviance(mu, forecasts["model"]) / _expected_deviance(mu, forecasts["naive_a"])
    assert 0.05 < true_skill < 0.6
    hits = []
    for seed in range(150):
        rng = np.random.default_rng(seed)
        mu, forecasts = _world(rng)
        y = rng.poisson(mu)
        table = skill_table(_losses(y, forecasts), naive=["naive_a"], n_boot=300, seed=seed).set_index(
            "model"
        )
        hits.append(table.loc["model", "skill_lo"] <= true_skill <= table.loc["model", "skill_hi"])
    assert 0.85 <= np.mean(hits) <= 0.99


def test_gap_share_and_baseline_choice() -> None:
    mu, forecasts = _world(np.random.default_rng(1))
    y = np.random.default_rng(5).poisson(mu)
    table = skill_table(
        _losses(y, forecasts), naive=["naive_a", "naive_b"], oracle="oracle", n_boot=200
    ).set_index("model")
    totals = _losses(y, forecasts).groupby("model")["deviance_sum"].sum()
    best = table["baseline"].iloc[0]
    assert best == totals[["naive_a", "naive_b"]].idxmin()
    expected = (totals[best] - totals["model"]) / (totals[best] - totals["oracle"])
    assert table.loc["model", "gap_share"] == pytest.approx(expected)
    assert table.loc["oracle", "gap_share"] == pytest.approx(1.0)
    assert table.loc[best, "skill"] == pytest.approx(0.0, abs=1e-12)
    assert table.loc["model", "gap_share_lo"] <= expected <= table.loc["model", "gap_share_hi"]


def test_same_seed_same_interval() -> None:
    mu, forecasts = _world(np.random.default_rng(2))
    losses = _losses(np.random.default_rng(2).poisson(mu), forecasts)
    a = skill_table(losses, naive=["naive_a"], n_boot=100, seed=4)
    b = skill_table(losses, naive=["naive_a"], n_boot=100, seed=4)
    pd.testing.assert_frame_equal(a, b)


def test_blocks_are_consecutive_runs() -> None:
    idx = block_bootstrap_indices(10, block=3, n_boot=50, rng=np.random.default_rng(0))
    assert idx.shape == (50, 10)
    assert idx.min() >= 0 and idx.max() <= 9
    assert (np.diff(idx[:, :3], axis=1) % 10 == 1).all()


def test_unpaired_losses_are_refused() -> None:
    losses = pd.DataFrame({"period": [0, 1, 0], "model": ["a", "a", "b"], "deviance_sum": 1.0, "n": 5})
    with pytest.raises(ParameterError, match="paired"):
        skill_table(losses, naive=["a"])
