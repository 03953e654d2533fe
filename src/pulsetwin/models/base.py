"""The model contract every forecaster honours.

``Model(*, params)`` stores keyword-only parameters; ``fit(history) -> self`` learns state in attributes ending
in ``_``; ``predict(horizon)`` returns the canonical forecasts frame for the ``horizon`` periods starting at
``history.origin``; predicting before fitting raises :class:`~pulsetwin.exceptions.NotFittedError`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import pandas as pd

from pulsetwin.exceptions import LeakageError, NotFittedError, bad_parameter
from pulsetwin.schema.params import DeclaredParameters, Integer, check_param
from pulsetwin.schema.periods import Freq
from pulsetwin.schema.tables import FORECASTS


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

    Raises
    ------
    LeakageError
        An incident period or an event lies at or after ``origin`` (checked on construction, so no History
        holds the future however it was built).
    """

    incidents: pd.DataFrame
    freq: Freq
    origin: pd.Timestamp
    covariates: pd.DataFrame | None = None
    areas: pd.DataFrame | None = None
    events: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        """Refuse a history that holds an incident period or an event at or after its origin."""
        late = self.incidents[self.incidents["period_start"] >= self.origin]
        if len(late):
            first = late.iloc[0]
            raise LeakageError(
                f"History for origin {self.origin.date()} holds {len(late)} incident row(s) at or after the "
                f"origin, e.g. area {first['area_code']}, category {first['category']}, "
                f"period {first['period_start'].date()}. "
                "Fix: build histories with History.from_frames."
            )
        if self.events is not None and len(self.events):
            late_events = self.events[self.events["occurred_at"] >= self.origin]
            if len(late_events):
                raise LeakageError(
                    f"History for origin {self.origin.date()} holds {len(late_events)} event(s) at or after "
                    f"the origin, e.g. event {late_events.iloc[0]['event_id']}. "
                    "Fix: build histories with History.from_frames."
                )

    @classmethod
    def from_frames(
        cls,
        frames: Mapping[str, pd.DataFrame],
        *,
        origin: pd.Timestamp,
        freq: Freq,
        categories: Sequence[str] | None = None,
        incidents: pd.DataFrame | None = None,
    ) -> History:
        """Cut canonical frames to what is known before ``origin``.

        Incidents keep one ``freq`` (and ``categories``) and periods strictly before ``origin``; events keep
        ``occurred_at < origin`` (and ``categories``); covariates and areas pass whole (the feature code applies
        the publication rule per year).

        Parameters
        ----------
        frames
            Canonical frames: ``incidents`` (required unless ``incidents`` is given), ``covariates``,
            ``areas``, ``events``.
        incidents
            Incidents already cut to ``freq`` and before ``origin``, used as they are instead of cutting
            ``frames["incidents"]`` (a backtest hands each fold a slice of one compact frame); the cut is still
            checked.
        """
        if incidents is None:
            if "incidents" not in frames:
                raise bad_parameter(
                    "frames", "History.from_frames", "a mapping with an 'incidents' frame", sorted(frames)
                )
            every = frames["incidents"]
            keep = (every["freq"] == freq) & (every["period_start"] < origin)
            if categories is not None:
                keep &= every["category"].isin(list(categories))
            incidents = every[keep].reset_index(drop=True)
        events = frames.get("events")
        if events is not None:
            events = events[events["occurred_at"] < origin]
            if categories is not None:
                events = events[events["category"].isin(list(categories))]
            events = events.reset_index(drop=True)
        return cls(
            incidents=incidents,
            freq=freq,
            origin=pd.Timestamp(origin),
            covariates=frames.get("covariates"),
            areas=frames.get("areas"),
            events=events,
        )


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
    return Freq(freq).periods(origin, horizon)


def empty_forecasts() -> pd.DataFrame:
    """An empty frame with the canonical forecasts columns."""
    return pd.DataFrame({c: pd.Series(dtype="object") for c in FORECASTS.column_names})
