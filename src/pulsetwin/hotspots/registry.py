"""The named hotspot models: baselines first, then the models that must beat them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from pulsetwin.exceptions import bad_parameter
from pulsetwin.hotspots.base import HotspotModel
from pulsetwin.hotspots.baselines import Count8Weeks, Count365, CountAll
from pulsetwin.hotspots.etas import ETAS
from pulsetwin.hotspots.kde import KDE
from pulsetwin.hotspots.learned import Learned
from pulsetwin.hotspots.prospective import Prospective

BASELINES: Final = ("count_365", "count_8w", "count_all")
MODELS: Final = ("kde", "prospective", "etas", "learned")

_FACTORIES: Final[dict[str, Callable[[int], HotspotModel]]] = {
    "count_365": lambda seed: Count365(),
    "count_8w": lambda seed: Count8Weeks(),
    "count_all": lambda seed: CountAll(),
    "kde": lambda seed: KDE(),
    "prospective": lambda seed: Prospective(),
    "etas": lambda seed: ETAS(),
    "learned": lambda seed: Learned(seed=seed),
}


def model_names() -> tuple[str, ...]:
    """Every model name, baselines first."""
    return BASELINES + MODELS


def make_model(name: str, *, seed: int = 0) -> HotspotModel:
    """A fresh model with default parameters (seeded where it draws randomness)."""
    try:
        return _FACTORIES[name](seed)
    except KeyError:
        raise bad_parameter(
            "model", "hotspots", f"one of {', '.join(model_names())} or 'best'", name
        ) from None


def check_model_names(names: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Validate model names; the baselines are always added in front (a backtest never runs without them)."""
    for name in names:
        if name not in _FACTORIES:
            raise bad_parameter("models", "hotspots", f"names from {', '.join(model_names())}", name)
    return BASELINES + tuple(n for n in dict.fromkeys(names) if n not in BASELINES)
