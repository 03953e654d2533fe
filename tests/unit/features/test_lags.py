"""Lags and windows: known values, and the leakage property (truncating after a cutoff changes nothing)."""

from __future__ import annotations

from collections.abc import Callable
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from pulsetwin.exceptions import ParameterError
from pulsetwin.features import lags
from pulsetwin.features.lags import discounted_sums, lag_values, last_observed, rolling_means, window_sums
from pulsetwin.models.design import history_features

Feature = Callable[[np.ndarray, np.ndarray], np.ndarray]


def leaks(feature: Feature, values: np.ndarray, cutoff: int) -> bool:
    """True when the feature at ``cutoff`` differs between the full data and the data truncated at ``cutoff``."""
    full = feature(values, np.array([cutoff]))
    cut = feature(values[..., :cutoff], np.array([cutoff]))
    return not np.array_equal(full, cut, equal_nan=True)


def peeking_mean(values: np.ndarray, cutoffs: np.ndarray) -> np.ndarray:
    """A deliberately wrong feature: the window [c - 3, c] includes period c itself."""
    padded = np.concatenate([values, np.zeros((*values.shape[:-1], 1))], axis=-1)
    return np.stack([padded[..., max(c - 3, 0) : c + 1].mean(axis=-1) for c in cutoffs], axis=-1)


def all_features(values: np.ndarray, cutoffs: np.ndarray) -> np.ndarray:
    expected = np.ones_like(values) * 0.7
    feats = history_features(
        values, expected, cutoffs, alpha=2.0, windows=(1, 3), neighbours=None, neighbour_windows=()
    )
    return feats.values


def discounted_features(values: np.ndarray, cutoffs: np.ndarray) -> np.ndarray:
    expected = np.ones_like(values) * 0.7
    feats = history_features(
        values,
        expected,
        cutoffs,
        alpha=2.0,
        windows=(1,),
        neighbours=None,
        neighbour_windows=(),
        halflife=3.0,
    )
    return feats.values


FEATURES: dict[str, Feature] = {
    "sum_all": lambda v, c: window_sums(v, c, None)[0],
    "sum_3": lambda v, c: window_sums(v, c, 3)[0],
    "mean_4": lambda v, c: rolling_means(v, c, 4),
    "lag_1": lambda v, c: lag_values(v, c, 1),
    "lag_5": lambda v, c: lag_values(v, c, 5),
    "last": last_observed,
    "history_features": all_features,
    "discounted_2": lambda v, c: discounted_sums(v, c, 2.0)[0],
    "discounted_history_features": discounted_features,
}

panels = arrays(
    np.float64,
    st.tuples(st.integers(1, 4), st.integers(2, 30)),
    elements=st.one_of(st.integers(0, 9).map(float), st.just(np.nan)),
)


@settings(max_examples=60, deadline=None)
@given(values=panels, data=st.data())
def test_no_feature_peeks_past_its_cutoff(values: np.ndarray, data: st.DataObject) -> None:
    cutoff = data.draw(st.integers(1, values.shape[-1] - 1))
    for name, feature in FEATURES.items():
        assert not leaks(feature, values, cutoff), name


@settings(max_examples=30, deadline=None)
@given(
    values=arrays(
        np.float64, st.tuples(st.integers(1, 3), st.integers(3, 20)), elements=st.integers(1, 9).map(float)
    ),
    data=st.data(),
)
def test_the_leakage_check_catches_a_peeking_feature(values: np.ndarray, data: st.DataObject) -> None:
    cutoff = data.draw(st.integers(1, values.shape[-1] - 1))
    assert leaks(peeking_mean, values, cutoff)


def test_window_sums_known_values() -> None:
    values = np.array([[1.0, np.nan, 3.0, 4.0, 5.0]])
    sums, counts = window_sums(values, np.array([0, 2, 4, 5]), 2)
    np.testing.assert_array_equal(sums, [[0.0, 1.0, 7.0, 9.0]])
    np.testing.assert_array_equal(counts, [[0.0, 1.0, 2.0, 2.0]])
    np.testing.assert_array_equal(rolling_means(values, np.array([0, 3]), None), [[np.nan, 2.0]])
    np.testing.assert_array_equal(lag_values(values, np.array([1, 3]), 2), [[np.nan, np.nan]])
    np.testing.assert_array_equal(lag_values(values, np.array([4]), 2), [[3.0]])
    np.testing.assert_array_equal(last_observed(values, np.array([0, 2, 3])), [[np.nan, 1.0, 3.0]])


def test_bad_window_and_cutoffs_refused() -> None:
    with pytest.raises(ParameterError, match="'window'"):
        window_sums(np.zeros((1, 3)), np.array([1]), 0)
    with pytest.raises(ParameterError, match="'cutoffs'"):
        window_sums(np.zeros((1, 3)), np.array([4]), 1)
    with pytest.raises(ParameterError, match="'lag'"):
        lag_values(np.zeros((1, 3)), np.array([1]), 0)


@settings(max_examples=40, deadline=None)
@given(
    values=arrays(
        np.float64,
        st.tuples(st.integers(1, 5), st.integers(1, 4), st.integers(1, 12)),
        elements=st.one_of(st.just(np.nan), st.integers(0, 9).map(float)),
    ),
    window=st.one_of(st.none(), st.integers(1, 6)),
    block=st.integers(1, 30),
)
def test_window_sums_in_blocks_equal_one_prefix_over_the_whole_array(
    values: np.ndarray, window: int | None, block: int
) -> None:
    # Prefix sums run over blocks of rows to bound memory; any block size must give the whole-array result.
    cutoffs = np.arange(values.shape[-1] + 1)
    observed = ~np.isnan(values)
    zero = np.zeros((*values.shape[:-1], 1))
    sums = np.concatenate([zero, np.cumsum(np.where(observed, values, 0.0), axis=-1)], axis=-1)
    counts = np.concatenate([zero, np.cumsum(observed, axis=-1, dtype=np.float64)], axis=-1)
    start = np.zeros_like(cutoffs) if window is None else np.maximum(cutoffs - window, 0)
    with mock.patch.object(lags, "BLOCK", block):
        got_sums, got_counts = window_sums(values, cutoffs, window)
    np.testing.assert_array_equal(got_sums, sums[..., cutoffs] - sums[..., start])
    np.testing.assert_array_equal(got_counts, counts[..., cutoffs] - counts[..., start])


def test_discounted_sums_known_values() -> None:
    """Weight 1 for the last period before the cutoff, halved every ``halflife`` periods back; missing values
    count in neither sum; an infinite half-life is the plain sum."""
    values = np.array([[4.0, np.nan, 2.0, 1.0]])
    sums, counts = discounted_sums(values, np.array([0, 1, 3, 4]), 1.0)
    np.testing.assert_allclose(sums, [[0.0, 4.0, 2.0 + 4.0 / 4, 1.0 + 2.0 / 2 + 4.0 / 8]])
    np.testing.assert_allclose(counts, [[0.0, 1.0, 1.0 + 1 / 4, 1.0 + 1 / 2 + 1 / 8]])
    for got, want in zip(
        discounted_sums(values, np.array([2, 4]), np.inf),
        window_sums(values, np.array([2, 4]), None),
        strict=True,
    ):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ParameterError, match="'halflife'"):
        discounted_sums(values, np.array([1]), 0.0)


@settings(max_examples=30, deadline=None)
@given(values=panels, block=st.integers(1, 30), halflife=st.floats(0.5, 50.0))
def test_discounted_sums_in_blocks_equal_the_direct_sum(
    values: np.ndarray, block: int, halflife: float
) -> None:
    cutoffs = np.arange(values.shape[-1] + 1)
    observed = ~np.isnan(values)
    age = cutoffs[None, :] - 1 - np.arange(values.shape[-1])[:, None]  # (periods, cutoffs)
    weight = np.where(age >= 0, 0.5 ** (np.maximum(age, 0) / halflife), 0.0)
    with mock.patch.object(lags, "BLOCK", block):
        got_sums, got_counts = discounted_sums(values, cutoffs, halflife)
    np.testing.assert_allclose(got_sums, np.where(observed, values, 0.0) @ weight, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got_counts, observed.astype(float) @ weight, rtol=1e-9, atol=1e-12)
