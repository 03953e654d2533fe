"""The model contract every forecaster honours.

``Model(*, params)`` stores keyword-only parameters; ``fit(history) -> self`` learns state in attributes ending
in ``_``; ``predict(horizon)`` returns the canonical forecasts frame for the ``horizon`` periods starting at
``history.origin``; predicting before fitting raises :class:`~pulsetwin.exceptions.NotFittedError`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Literal

import pandas as pd

from pulsetwin.exceptions import NotFittedError
from pulsetwin.schema.params import DeclaredParameters, Integer, check_param
from pulsetwin.schema.periods import PANDAS_FREQ
from pulsetwin.schema.tables import FORECASTS

Freq = Literal["W", "M"]


@dataclass(frozen=True)
class History:
    """Everything a model may know at a forecast origin.

    Attributes
    ----------
    incidents
        Canonical incidents of one ``freq``, only periods strictly before ``origin``. Text columns may be
        categorical with the same values (a backtest hands every fold a slice of one compact frame).
    freq
        ``"W"`` (periods start on Monday) or ``"M"`` (periods start on the 1st).
    origin
        The first period to forecast. No row of any frame here may describe time at or after it.
    covariates
        Canonical long covariates (``area_code, year, variable, value``); a model may use a year only when
        that year ended before ``origin`` or as published, per the feature code's rule.
    areas
        Canonical areas (geometry as WKT in EPSG:28992), for spatial neighbours.
    events
        Canonical anonymous point events before ``origin``, for point-process models.
    """

    incidents: pd.DataFrame
    freq: Freq
    origin: pd.Timestamp
    covariates: pd.DataFrame | None = None
    areas: pd.DataFrame | None = None
    events: pd.DataFrame | None = None


class Model(DeclaredParameters, ABC):
    """Base class of every forecaster; subclasses set ``name`` and ``parameter_rules`` and implement ``fit`` (which
    starts with ``_check_params()``) and ``predict``."""

    name: ClassVar[str] = "model"
    uses_events: ClassVar[bool] = False
    """Whether ``fit`` reads ``History.events`` (point-process models); a backtest holds events only then."""

    @abstractmethod
    def fit(self, history: History) -> Model:
        """Learn from ``history`` and return ``self``."""

    @abstractmethod
    def predict(self, horizon: int, *, run_id: str = "adhoc") -> pd.DataFrame:
        """Return the forecasts frame for ``horizon`` periods from the origin of the fitted history."""

    def get_params(self) -> dict[str, object]:
        """The constructor parameters, for run records."""
        return {k: v for k, v in vars(self).items() if not k.endswith("_") and not k.startswith("_")}

    def _check_fitted(self) -> None:
        """Raise NotFittedError unless ``fit`` has run."""
        if not any(k.endswith("_") and not k.startswith("_") for k in vars(self)):
            raise NotFittedError(
                f"{type(self).__name__} is not fitted yet: call fit(history) before predict()."
            )


def check_horizon(horizon: int, owner: str) -> None:
    """Refuse a horizon that is not a positive integer."""
    check_param("horizon", owner, Integer(low=1), horizon)


def future_periods(origin: pd.Timestamp, freq: Freq, horizon: int) -> pd.DatetimeIndex:
    """The ``horizon`` period starts from ``origin`` on (Mondays for W, month starts for M)."""
    return pd.date_range(origin, periods=horizon, freq=PANDAS_FREQ[freq])


def empty_forecasts() -> pd.DataFrame:
    """An empty frame with the canonical forecasts columns."""
    return pd.DataFrame({c: pd.Series(dtype="object") for c in FORECASTS.column_names})
