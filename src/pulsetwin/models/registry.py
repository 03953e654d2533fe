"""The model registry: every forecaster by its short name, and a factory the CLI and backtests use."""

from __future__ import annotations

from typing import Final

from pulsetwin.exceptions import bad_parameter
from pulsetwin.models.base import Model
from pulsetwin.models.boosting import LightGBMCount
from pulsetwin.models.glm import PoissonGLM
from pulsetwin.models.naive import HistoricalMean, LastValue, MovingMean, SeasonalNaive

MODELS: Final[dict[str, type[Model]]] = {
    cls.name: cls for cls in (LastValue, SeasonalNaive, MovingMean, HistoricalMean, PoissonGLM, LightGBMCount)
}
NAIVE: Final = (LastValue.name, SeasonalNaive.name, MovingMean.name, HistoricalMean.name)


def naive_names() -> tuple[str, ...]:
    """Names of the naive baselines every backtest must include."""
    return NAIVE


def make_model(name: str, **params: object) -> Model:
    """Build the registered model ``name`` with keyword ``params``."""
    if name not in MODELS:
        raise bad_parameter("name", "make_model", f"one of {', '.join(sorted(MODELS))}", name)
    return MODELS[name](**params)
