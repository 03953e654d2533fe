"""The stack: weights on the simplex chosen on inner origins, the forecast the weighted mean of its members."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pulsetwin.exceptions import ParameterError
from pulsetwin.models.registry import make_model
from pulsetwin.models.stack import StackedCount, simplex_grid
from pulsetwin.testing.panels import simulate_panel

KEYS = ["area_code", "category", "period_start"]


def test_simplex_grid_holds_every_point_once() -> None:
    grid = simplex_grid(3, 0.5)
    assert grid.shape == (6, 3)
    np.testing.assert_allclose(grid.sum(axis=1), 1.0)
    assert len({tuple(p) for p in grid}) == 6 and set(np.unique(grid)) == {0.0, 0.5, 1.0}
    assert simplex_grid(2, 0.1).shape == (11, 2)


def test_the_forecast_is_the_weighted_mean_and_the_better_member_weighs_more() -> None:
    """Stationary counts: the historical mean beats the last value, so it gets most of the weight, and the
    stack's mean is exactly the weighted mean of the members fitted alone."""
    sim = simulate_panel(seed=2, side=4, periods=40, freq="M", seasonal=(0.0, 0.0))
    history = sim.history(36, "M")
    stack = StackedCount(members=("naive_last", "naive_hist"), inner_origins=4).fit(history)
    assert stack.weights_["naive_hist"] >= 0.7 and sum(stack.weights_.values()) == pytest.approx(1.0)
    assert stack.inner_rows_ > 0
    got = stack.predict(3).set_index(KEYS)
    parts = [
        make_model(m).fit(history).predict(3).set_index(KEYS)["mean"] * w for m, w in stack.weights_.items()
    ]
    np.testing.assert_allclose(got["mean"], (parts[0] + parts[1]).reindex(got.index))
    assert (got["q05"] <= got["q50"]).all() and (got["q50"] <= got["q95"]).all()
    assert list(got.index.get_level_values("period_start").unique()) == list(
        pd.date_range(history.origin, periods=3, freq="MS")
    )


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"members": ("glm",)}, "members"),
        ({"members": ("glm", "kde")}, "members"),
        ({"members": ["glm", "lgbm"]}, "members"),
        ({"inner_origins": 0}, "inner_origins"),
        ({"weight_step": 0.3}, "weight_step"),
    ],
)
def test_bad_parameters_are_refused(params: dict[str, object], name: str) -> None:
    sim = simulate_panel(seed=1, side=3, periods=20, freq="M")
    with pytest.raises(ParameterError, match=f"'{name}' parameter of StackedCount"):
        StackedCount(**params).fit(sim.history(18, "M"))  # type: ignore[arg-type]
