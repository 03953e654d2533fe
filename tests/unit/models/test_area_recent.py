"""The other categories' recent excess in an area (``area_recent_<k>``): what it measures and what it ignores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulsetwin.exceptions import ParameterError
from pulsetwin.models.base import History
from pulsetwin.models.design import area_recent, fit_baseline, history_features
from pulsetwin.models.glm import PoissonGLM

N_AREAS, N_PERIODS, WINDOWS = 60, 104, (4, 13)
CUTOFFS = np.arange(60, N_PERIODS + 1)


def _features(counts: np.ndarray, c: int) -> dict[str, np.ndarray]:
    """History features of category ``c`` of ``counts`` (areas, categories, periods), with area_recent."""
    area_x = np.ones((counts.shape[0], 1))
    period_x = np.zeros((counts.shape[2], 0))
    bases = [fit_baseline(counts[:, k, :], area_x, period_x, ridge=1.0) for k in range(counts.shape[1])]
    others = area_recent(counts, bases, CUTOFFS, WINDOWS)
    feats = history_features(
        counts[:, c, :], bases[c].expected, CUTOFFS, alpha=bases[c].alpha, windows=WINDOWS, neighbours=None,
        neighbour_windows=(), others=others,
    )  # fmt: skip
    return {name: feats.values[..., j] for j, name in enumerate(feats.names)}


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**16))
def test_a_category_s_own_counts_do_not_enter_its_area_recent(seed: int) -> None:
    """Redrawing category 0's counts changes its own features but not its view of the other categories."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(0.5, size=(N_AREAS, 3, N_PERIODS)).astype(float)
    before = _features(counts, 0)
    counts[:, 0, :] = rng.poisson(2.0, size=(N_AREAS, N_PERIODS))
    after = _features(counts, 0)
    assert not np.allclose(before["recent_4"], after["recent_4"])
    for k in WINDOWS:
        np.testing.assert_allclose(after[f"area_recent_{k}"], before[f"area_recent_{k}"], atol=1e-12)


def test_a_shift_shared_by_the_other_categories_is_measured() -> None:
    """Half the areas double in every other category for the last 13 periods: their area_recent_13 at the end
    is about log 2 above the unchanged areas'."""
    rng = np.random.default_rng(4)
    rate = np.full((N_AREAS, 4, N_PERIODS), 2.0)
    shifted = np.arange(N_AREAS) < N_AREAS // 2
    rate[np.ix_(shifted, [1, 2, 3], np.arange(N_PERIODS - 13, N_PERIODS))] *= 2.0
    feature = _features(rng.poisson(rate).astype(float), 0)["area_recent_13"][:, -1]
    gap = feature[shifted].mean() - feature[~shifted].mean()
    assert abs(gap - np.log(2.0)) < 0.15


def _history(counts: np.ndarray, periods: pd.DatetimeIndex, categories: list[str]) -> History:
    """Weekly history of ``counts`` (areas, categories, periods) with one row per cell."""
    a, c, t = np.meshgrid(np.arange(counts.shape[0]), np.arange(counts.shape[1]), np.arange(counts.shape[2]),
                          indexing="ij")  # fmt: skip
    incidents = pd.DataFrame(
        {
            "area_code": [f"BU{i:08d}" for i in a.ravel()],
            "period_start": periods[t.ravel()],
            "freq": "W",
            "category": np.array(categories)[c.ravel()],
            "count": counts.ravel().astype("int64"),
            "source": "sim",
        }
    )
    return History(incidents=incidents, freq="W", origin=periods[-1] + pd.Timedelta(weeks=1))


def test_the_glm_forecasts_a_shared_shift_in_a_sparse_category() -> None:
    """When an area's dense categories have recently doubled with its sparse one, the GLM forecasts the sparse
    one higher there than in unchanged areas (its own few counts alone could not show the shift)."""
    rng = np.random.default_rng(5)
    categories = ["vandalism", "violence", "theft_bicycle", "burglary_residential"]
    rate = np.broadcast_to(np.array([3.0, 3.0, 3.0, 0.1])[None, :, None], (N_AREAS, 4, N_PERIODS)).copy()
    shifted = np.arange(N_AREAS) < N_AREAS // 2
    rate[np.ix_(shifted, [0, 1, 2, 3], np.arange(N_PERIODS - 20, N_PERIODS))] *= 2.0
    periods = pd.date_range("2021-01-04", periods=N_PERIODS, freq="W-MON")
    history = _history(rng.poisson(rate).astype(float), periods, categories)
    forecast = PoissonGLM(spatial=False).fit(history).predict(1)
    sparse = (
        forecast[forecast["category"] == "burglary_residential"].sort_values("area_code")["mean"].to_numpy()
    )
    assert sparse[shifted].mean() / sparse[~shifted].mean() > 1.3


def test_sums_over_other_windows_are_refused() -> None:
    """The other categories' sums must cover the category's own windows, or the subtraction is meaningless."""
    counts = np.random.default_rng(6).poisson(1.0, size=(N_AREAS, 2, N_PERIODS)).astype(float)
    area_x, period_x = np.ones((N_AREAS, 1)), np.zeros((N_PERIODS, 0))
    bases = [fit_baseline(counts[:, k, :], area_x, period_x, ridge=1.0) for k in range(2)]
    with pytest.raises(ParameterError, match="windows"):
        history_features(
            counts[:, 0, :], bases[0].expected, CUTOFFS, alpha=bases[0].alpha, windows=WINDOWS,
            neighbours=None, neighbour_windows=(), others=area_recent(counts, bases, CUTOFFS, (4,)),
        )  # fmt: skip
