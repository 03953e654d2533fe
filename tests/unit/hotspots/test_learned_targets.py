"""Multi-window training targets of the learned hotspot model: sums of single windows, never past the origin."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pulsetwin.exceptions import ParameterError
from pulsetwin.hotspots.learned import Learned
from pulsetwin.hotspots.prepare import prepare_history
from pulsetwin.hotspots.simulate import simulate_drifting_city


@pytest.fixture(scope="module")
def history():  # type: ignore[no-untyped-def]
    events = simulate_drifting_city(seed=4, days=200, events_per_year=2_000.0, size_m=2_000.0)
    return prepare_history(
        events,
        categories=["burglary_residential"],
        origin=pd.Timestamp("2021-07-01"),
        window_days=14,
        cell_m=200,
    ).history


def test_a_two_window_target_is_the_sum_of_its_windows(history) -> None:  # type: ignore[no-untyped-def]
    both = history.future_counts(28.0, windows=2)
    assert both.sum() > 0
    np.testing.assert_array_equal(both, history.future_counts(28.0) + history.future_counts(14.0))


def test_a_target_reaching_past_the_origin_is_refused(history) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ParameterError, match="must end by the origin"):
        history.future_counts(14.0, windows=2)


@pytest.mark.parametrize("windows", [0, True, 1.5])
def test_bad_target_windows_refused_by_fit(history, windows: object) -> None:  # type: ignore[no-untyped-def]
    model = Learned(target_windows=windows)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="target_windows"):
        model.fit(history)


def test_training_rows_carry_their_origin_age_from_the_latest(history) -> None:  # type: ignore[no-untyped-def]
    features, target, _, ages = Learned(n_origins=3)._training_set(history)
    assert len(features) == len(target) == len(ages) == 3 * history.cells.size
    np.testing.assert_array_equal(ages, np.repeat([0.0, 1.0, 2.0], history.cells.size))


def test_recency_weighting_changes_the_map_and_bad_half_lives_are_refused(history) -> None:  # type: ignore[no-untyped-def]
    flat = Learned(n_origins=6).fit(history).predict()
    recent = Learned(n_origins=6, half_life=1.0).fit(history).predict()
    assert flat.shape == recent.shape and not np.allclose(flat, recent)
    for bad in (0, -1.0, True, "6"):
        with pytest.raises(ParameterError, match="half_life"):
            Learned(half_life=bad).fit(history)  # type: ignore[arg-type]
