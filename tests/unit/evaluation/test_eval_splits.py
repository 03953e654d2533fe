"""Rolling-origin splits: counts, positions and refusals."""

from __future__ import annotations

import pandas as pd
import pytest

from pulsetwin.evaluation.splits import RollingOrigin, period_grid
from pulsetwin.exceptions import ParameterError
from pulsetwin.models.base import future_periods
from pulsetwin.schema.periods import Freq

WEEKS = future_periods(pd.Timestamp("2021-01-04"), "W", 100)


def test_default_folds_end_at_the_last_period_and_tile() -> None:
    folds = RollingOrigin("W", horizon=4, folds=3).split(WEEKS)
    assert [f.origin for f in folds] == [WEEKS[88], WEEKS[92], WEEKS[96]]
    assert folds[-1].test_periods[-1] == WEEKS[-1]
    assert all(f.horizon == 4 and f.n_train == 88 + 4 * f.index for f in folds)


def test_step_smaller_than_horizon_overlaps_test_windows() -> None:
    folds = RollingOrigin("W", horizon=4, folds=3, step=1).split(WEEKS)
    assert [f.n_train for f in folds] == [94, 95, 96]


def test_train_and_test_never_overlap() -> None:
    for fold in RollingOrigin("W", horizon=6, folds=5, step=3).split(WEEKS):
        train = WEEKS[fold.origin > WEEKS]
        assert len(train) == fold.n_train
        assert not set(train) & set(fold.test_periods)
        assert fold.test_periods[0] == fold.origin


def test_explicit_origins_and_monthly_grid() -> None:
    months = future_periods(pd.Timestamp("2019-01-01"), "M", 48)
    folds = RollingOrigin("M", horizon=3, origins=("2022-06-01", "2021-03-01")).split(months)
    assert [f.origin for f in folds] == [pd.Timestamp("2021-03-01"), pd.Timestamp("2022-06-01")]
    assert [f.n_train for f in folds] == [26, 41]


def test_gaps_in_observed_periods_are_filled_on_the_grid() -> None:
    grid = period_grid(WEEKS.delete([10, 11]), Freq.W)
    assert grid.equals(WEEKS)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"horizon": 4, "folds": 20}, "min_train"),
        ({"horizon": 0}, "horizon"),
        ({"horizon": 4, "origins": ("2021-12-01",)}, "Monday"),
        ({"horizon": 4, "origins": ("2022-11-21",)}, "last observed period"),
        ({"horizon": 4, "folds": 2, "min_train": 99}, "min_train"),
    ],
)
def test_bad_designs_are_refused(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        RollingOrigin("W", **kwargs).split(WEEKS)  # type: ignore[arg-type]


def test_period_starts_off_the_grid_are_refused() -> None:
    with pytest.raises(ParameterError, match="1st of a month"):
        period_grid(pd.to_datetime(["2021-01-01", "2021-02-02"]), Freq.M)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"freq": "Q", "horizon": 4}, "'freq' parameter of RollingOrigin must be 'W'"),
        (
            {"freq": "W", "horizon": True},
            "'horizon' parameter of RollingOrigin must be an integer >= 1. Got True",
        ),
        ({"freq": "W", "horizon": 4, "folds": 0}, "'folds' parameter"),
        ({"freq": "W", "horizon": 4, "step": 2.0}, "'step' parameter"),
        ({"freq": "W", "horizon": 4, "min_train": 0}, "'min_train' parameter"),
        ({"freq": "W", "horizon": 4, "origins": ()}, "non-empty"),
        ({"freq": "W", "horizon": 4, "origins": "2021-01-04"}, "a sequence of dates"),
        ({"freq": "W", "horizon": 4, "origins": ("2021-01-04", "2021-01-04")}, "distinct dates"),
        ({"freq": "W", "horizon": 4, "origins": ("2021-13-45",)}, "ISO dates YYYY-MM-DD. Got '2021-13-45'"),
    ],
)
def test_a_bad_design_is_refused_when_built_before_any_data_is_read(
    kwargs: dict[str, object], match: str
) -> None:
    with pytest.raises(ParameterError, match=match):
        RollingOrigin(**kwargs)  # type: ignore[arg-type]


def test_a_design_is_frozen_parsed_and_reports_its_settings() -> None:
    design = RollingOrigin("M", horizon=3, origins=("2022-06-01", pd.Timestamp("2021-03-01")))
    assert design.freq is Freq.M and design.train_periods == 12
    assert design.origins == (pd.Timestamp("2021-03-01"), pd.Timestamp("2022-06-01"))
    assert design.settings() == {
        "freq": "M", "horizon": 3, "folds": 3, "step": None, "origins": ["2021-03-01", "2022-06-01"],
        "min_train": None,
    }  # fmt: skip
    with pytest.raises(AttributeError):
        design.horizon = 4  # type: ignore[misc]
