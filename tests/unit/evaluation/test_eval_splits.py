"""Rolling-origin splits: counts, positions and refusals."""

from __future__ import annotations

import pandas as pd
import pytest

from pulsetwin.evaluation.splits import period_grid, rolling_origins
from pulsetwin.exceptions import ParameterError
from pulsetwin.models.base import future_periods

WEEKS = future_periods(pd.Timestamp("2021-01-04"), "W", 100)


def test_default_folds_end_at_the_last_period_and_tile() -> None:
    folds = rolling_origins(WEEKS, freq="W", horizon=4, folds=3)
    assert [f.origin for f in folds] == [WEEKS[88], WEEKS[92], WEEKS[96]]
    assert folds[-1].test_periods[-1] == WEEKS[-1]
    assert all(f.horizon == 4 and f.n_train == 88 + 4 * f.index for f in folds)


def test_step_smaller_than_horizon_overlaps_test_windows() -> None:
    folds = rolling_origins(WEEKS, freq="W", horizon=4, folds=3, step=1)
    assert [f.n_train for f in folds] == [94, 95, 96]


def test_train_and_test_never_overlap() -> None:
    for fold in rolling_origins(WEEKS, freq="W", horizon=6, folds=5, step=3):
        train = WEEKS[fold.origin > WEEKS]
        assert len(train) == fold.n_train
        assert not set(train) & set(fold.test_periods)
        assert fold.test_periods[0] == fold.origin


def test_explicit_origins_and_monthly_grid() -> None:
    months = future_periods(pd.Timestamp("2019-01-01"), "M", 48)
    folds = rolling_origins(months, freq="M", horizon=3, origins=["2022-06-01", "2021-03-01"])
    assert [f.origin for f in folds] == [pd.Timestamp("2021-03-01"), pd.Timestamp("2022-06-01")]
    assert [f.n_train for f in folds] == [26, 41]


def test_gaps_in_observed_periods_are_filled_on_the_grid() -> None:
    grid = period_grid(WEEKS.delete([10, 11]), "W")
    assert grid.equals(WEEKS)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"horizon": 4, "folds": 20}, "min_train"),
        ({"horizon": 0}, "horizon"),
        ({"horizon": 4, "origins": ["2021-12-01"]}, "Monday"),
        ({"horizon": 4, "origins": ["2022-11-21"]}, "last observed period"),
        ({"horizon": 4, "folds": 2, "min_train": 99}, "min_train"),
    ],
)
def test_bad_designs_are_refused(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        rolling_origins(WEEKS, freq="W", **kwargs)  # type: ignore[arg-type]


def test_period_starts_off_the_grid_are_refused() -> None:
    with pytest.raises(ParameterError, match="1st of a month"):
        period_grid(pd.to_datetime(["2021-01-01", "2021-02-02"]), "M")
