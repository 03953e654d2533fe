"""``check_model`` catches each way a model can break the contract (a check that cannot fail is no check)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pulsetwin.features.panel import Panel
from pulsetwin.models.base import History
from pulsetwin.models.naive import LastValue, MovingMean
from pulsetwin.testing import check_model


class Unchecked(MovingMean):
    """Forgets to check its parameters."""

    def _check_params(self) -> None:
        return None


class Noisy(LastValue):
    """Draws from the global generator: same parameters, different output."""

    def _predict_mean(self, horizon: int) -> np.ndarray:
        mean = super()._predict_mean(horizon)
        return mean + np.random.default_rng().random(mean.shape)


class Peeking(LastValue):
    """Reads covariates of the origin's year and later (not yet known at the origin)."""

    def _fit_panel(self, panel: Panel, history: History) -> None:
        super()._fit_panel(panel, history)
        assert history.covariates is not None
        future = history.covariates["year"] >= pd.Timestamp(history.origin).year
        self.shift_ = float(history.covariates.loc[future, "value"].abs().sum())

    def _predict_mean(self, horizon: int) -> np.ndarray:
        return super()._predict_mean(horizon) + self.shift_


class Undeclared(LastValue):
    """Stores a parameter without declaring its rule."""

    def __init__(self, *, damping: float = 0.5) -> None:
        self.damping = damping


@pytest.mark.parametrize(
    ("model", "check"),
    [
        (Unchecked(k=2), "bad_parameters_refused"),
        (Noisy(), "fit_output_and_determinism"),
        (Peeking(), "no_peeking"),
        (Undeclared(), "parameters_only"),
    ],
)
def test_a_broken_model_fails_the_named_check(model: LastValue, check: str) -> None:
    with pytest.raises(AssertionError, match=f"{type(model).__name__} fails the contract check '{check}'"):
        check_model(model, freq="M")


def test_a_sound_model_passes() -> None:
    check_model(MovingMean(k=2), freq="M")
