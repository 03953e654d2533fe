"""Naive count baselines every grid backtest shows next to every model.

Each ranks cells by their count of target events in a trailing window: the last 365 days (``count_365``), the
last 8 weeks (``count_8w``) or all history (``count_all``). Equal counts keep cell order.
"""

from __future__ import annotations

from typing import ClassVar, Self

import numpy as np

from pulsetwin.hotspots.base import GridHistory, HotspotModel, to_expected
from pulsetwin.schema.params import NoneOr, Number, Rules


class CountBaseline(HotspotModel):
    """Expected count proportional to the cell's count in the last ``days`` (all history when None)."""

    name: ClassVar[str] = "count"
    parameter_rules: ClassVar[Rules] = {
        "days": NoneOr(Number(low=0, closed="neither", say="a positive number of days")),
    }

    def __init__(self, *, days: float | None) -> None:
        self.days = days

    def fit(self, history: GridHistory) -> Self:
        """Count the events per masked cell and scale to the expected total."""
        self._check_params()
        self.mean_ = to_expected(history.counts(self.days), history)
        return self

    def predict(self) -> np.ndarray:
        """The scaled counts."""
        self._check_fitted()
        return self.mean_


class Count365(CountBaseline):
    """Count in the last 365 days."""

    name: ClassVar[str] = "count_365"

    def __init__(self) -> None:
        super().__init__(days=365.0)


class Count8Weeks(CountBaseline):
    """Count in the last 8 weeks."""

    name: ClassVar[str] = "count_8w"

    def __init__(self) -> None:
        super().__init__(days=56.0)


class CountAll(CountBaseline):
    """Count over all history."""

    name: ClassVar[str] = "count_all"

    def __init__(self) -> None:
        super().__init__(days=None)
