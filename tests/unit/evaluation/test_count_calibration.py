"""Calibration of count forecasts: the NB CDF, the mean PIT histogram (flat when calibrated, U when too narrow,
hump when too wide), the recovered NB size and the strict/non-strict quantile band."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from pulsetwin.evaluation.calibration import (
    CALIBRATION_COLUMNS,
    PIT_COLUMNS,
    STRICT_COLUMNS,
    calibration_scores,
    nb_cdf,
    pit_bin_masses,
    recover_nb_size,
)
from pulsetwin.exceptions import ParameterError
from pulsetwin.metrics.scores import below_quantile
from pulsetwin.models.intervals import nb_quantiles

ROWS = 20_000
BIN_TOLERANCE = 0.012
"""About five standard errors of one bin's share over 20,000 cells (sqrt(0.1 * 0.9 / 20000) = 0.0021)."""


def simulate(
    seed: int, size: float, low: float, high: float, forecast_size: float | None = None
) -> pd.DataFrame:
    """Scored cells: means log-uniform on [low, high], counts from NB2(mean, size) (inf: Poisson) and the
    quantiles of NB2(mean, forecast_size) (default: the true size, a calibrated forecast)."""
    rng = np.random.default_rng(seed)
    mean = np.exp(rng.uniform(np.log(low), np.log(high), ROWS))
    y = rng.poisson(mean) if np.isinf(size) else rng.negative_binomial(size, size / (size + mean))
    issued = size if forecast_size is None else forecast_size
    q = stats.poisson.ppf([[0.05], [0.5], [0.95]], mean) if np.isinf(issued) else nb_quantiles(mean, issued)
    return pd.DataFrame(
        {
            "category": "violence",
            "period_start": pd.Timestamp("2024-01-01"),
            "count": y.astype(np.float64),
            "mean": mean,
            "q05": q[0],
            "q50": q[1],
            "q95": q[2],
        }
    )


def pit(frame: pd.DataFrame) -> np.ndarray:
    return calibration_scores(frame)[list(PIT_COLUMNS)].to_numpy()[0]


@pytest.mark.parametrize(
    ("k", "mean", "size"),
    [(np.arange(-1, 25), 3.7, 0.8), (np.arange(-1, 25), 0.2, 12.0), (np.arange(-1, 25), 5.5, np.inf)],
)
def test_nb_cdf_matches_scipy(k: np.ndarray, mean: float, size: float) -> None:
    expected = (
        stats.poisson.cdf(k, mean) if np.isinf(size) else stats.nbinom.cdf(k, size, size / (size + mean))
    )
    np.testing.assert_allclose(nb_cdf(k, mean, size), expected, rtol=1e-10, atol=1e-14)
    assert nb_cdf(np.array([-1.0, 0.0, 4.0]), 0.0, size).tolist() == [0.0, 1.0, 1.0]


def test_pit_masses_of_one_cell_are_known() -> None:
    masses = pit_bin_masses(np.array([0.25, 0.3]), np.array([0.45, 0.3]))
    np.testing.assert_allclose(masses[0], [0, 0, 0.25, 0.5, 0.25, 0, 0, 0, 0, 0], atol=1e-12)
    np.testing.assert_allclose(masses[1], [0, 0, 1, 0, 0, 0, 0, 0, 0, 0])  # a point at 0.3 lies in (0.2, 0.3]
    np.testing.assert_allclose(pit_bin_masses(np.zeros(1), np.zeros(1), 4), [[1, 0, 0, 0]])


@given(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=30), st.integers(1, 20))
def test_pit_masses_are_a_distribution(pairs: list[tuple[float, float]], bins: int) -> None:
    lower = np.array([min(a, b) for a, b in pairs])
    upper = np.array([max(a, b) for a, b in pairs])
    masses = pit_bin_masses(lower, upper, bins)
    assert masses.shape == (len(pairs), bins)
    assert (masses >= -1e-12).all()
    np.testing.assert_allclose(masses.sum(axis=1), 1.0, atol=1e-12)


@pytest.mark.parametrize(
    ("seed", "size", "low", "high"),
    [(1, 0.4, 0.02, 0.5), (2, 3.0, 0.02, 0.5), (3, 0.4, 0.5, 20.0), (4, np.inf, 0.5, 20.0)],
)
def test_a_calibrated_nb_forecast_has_a_flat_pit_and_a_band_around_each_level(
    seed: int, size: float, low: float, high: float
) -> None:
    cells = simulate(seed, size, low, high)
    scores = calibration_scores(cells)
    np.testing.assert_allclose(scores[list(PIT_COLUMNS)].to_numpy()[0], 0.1, atol=BIN_TOLERANCE)
    assert scores["pit_match"].iloc[0] > 0.99
    for level, strict, column in zip((0.05, 0.5, 0.95), STRICT_COLUMNS, ("q05", "q50", "q95"), strict=True):
        at_or_below = below_quantile(cells["count"], cells[column]).mean()
        assert scores[strict].iloc[0] - BIN_TOLERANCE <= level <= at_or_below + BIN_TOLERANCE


def test_the_old_check_misreads_weekly_counts_and_the_pit_does_not() -> None:
    cells = simulate(5, 1.0, 0.02, 0.3)
    assert below_quantile(cells["count"], cells["q05"]).mean() > 0.8  # "y <= q05" looks badly off at 5 %
    np.testing.assert_allclose(pit(cells), 0.1, atol=BIN_TOLERANCE)


def test_a_poisson_forecast_of_overdispersed_counts_gives_a_u_shape() -> None:
    masses = pit(simulate(6, 0.5, 0.5, 20.0, forecast_size=np.inf))
    assert masses[0] > 0.15 and masses[-1] > 0.15
    assert (masses[3:7] < 0.085).all()


def test_a_too_wide_forecast_gives_a_hump() -> None:
    masses = pit(simulate(7, np.inf, 0.5, 20.0, forecast_size=0.5))
    assert masses[0] < 0.05 and masses[-1] < 0.05
    assert masses[3:8].max() > 0.2  # skewed by the NB's long right tail, but a hump


@pytest.mark.parametrize("size", [0.3, 2.0, 25.0])
def test_the_nb_size_is_recovered_from_means_and_quantiles(size: float) -> None:
    rng = np.random.default_rng(8)
    mean = np.exp(rng.uniform(np.log(1.0), np.log(40.0), 2_000))
    assert recover_nb_size(mean, nb_quantiles(mean, size)) == pytest.approx(size, rel=0.05)
    assert recover_nb_size(np.zeros(3), np.zeros((3, 3))) == np.inf


def test_quantiles_not_from_one_nb_are_flagged_by_the_match_share() -> None:
    cells = simulate(9, 2.0, 0.5, 20.0)
    rng = np.random.default_rng(9)
    shifted = cells.assign(q95=cells["q95"] + rng.integers(0, 4, len(cells)))  # an area-specific spread
    assert calibration_scores(shifted)["pit_match"].iloc[0] < 0.6


def test_one_row_per_category_and_period_sorted() -> None:
    cells = simulate(10, 2.0, 0.1, 2.0).iloc[:400].copy()
    cells["category"] = np.where(np.arange(400) % 2 == 0, "violence", "burglary_residential")
    cells["period_start"] = pd.Timestamp("2024-01-08") - pd.to_timedelta(7 * (np.arange(400) % 4 // 2), "D")
    scores = calibration_scores(cells)
    assert list(scores.columns) == ["category", "period_start", *CALIBRATION_COLUMNS]
    assert scores[["category", "period_start"]].values.tolist() == [
        ["burglary_residential", pd.Timestamp("2024-01-01")],
        ["burglary_residential", pd.Timestamp("2024-01-08")],
        ["violence", pd.Timestamp("2024-01-01")],
        ["violence", pd.Timestamp("2024-01-08")],
    ]
    np.testing.assert_allclose(scores[list(PIT_COLUMNS)].sum(axis=1), 1.0)


def test_missing_columns_are_named() -> None:
    with pytest.raises(ParameterError, match=r"\['count'\] are missing"):
        calibration_scores(simulate(11, 2.0, 0.1, 2.0).drop(columns="count"))
