"""The model registry: every forecaster by its short name, and a factory the CLI and backtests use."""

from __future__ import annotations

from typing import Final

from pulsetwin.exceptions import bad_parameter
from pulsetwin.models.base import Model
from pulsetwin.models.boosting import LightGBMCount
from pulsetwin.models.glm import PoissonGLM
from pulsetwin.models.naive import HistoricalMean, LastValue, MovingMean, SeasonalNaive, YearMean
from pulsetwin.models.point_process import ETASArea, KDEArea, ProspectiveArea
from pulsetwin.models.stack import StackedCount

MODELS: Final[dict[str, type[Model]]] = {
    cls.name: cls
    for cls in (
        LastValue,
        SeasonalNaive,
        MovingMean,
        YearMean,
        HistoricalMean,
        PoissonGLM,
        LightGBMCount,
        KDEArea,
        ProspectiveArea,
        ETASArea,
        StackedCount,
    )
}
NAIVE: Final = (LastValue.name, SeasonalNaive.name, MovingMean.name, YearMean.name, HistoricalMean.name)
OPT_IN: Final = (KDEArea.name, ProspectiveArea.name, ETASArea.name, StackedCount.name)
"""Registered but run only when named: the grid point-process models fit per category and fold, and the stack
fits every member at each of its inner origins; too slow for the default backtest."""
DEFAULT_LINEUP: Final = tuple(name for name in MODELS if name not in OPT_IN)
"""The models a backtest runs when none are named."""


def naive_names() -> tuple[str, ...]:
    """Names of the naive baselines every backtest must include."""
    return NAIVE


def default_model_names() -> tuple[str, ...]:
    """Names of the models a backtest runs by default (every registered model except :data:`OPT_IN`)."""
    return DEFAULT_LINEUP


def make_model(name: str, **params: object) -> Model:
    """Build the registered model ``name`` with keyword ``params``."""
    if name not in MODELS:
        raise bad_parameter("name", "make_model", f"one of {', '.join(sorted(MODELS))}", name)
    return MODELS[name](**params)
