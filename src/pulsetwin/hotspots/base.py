"""What a hotspot model may know at an origin (:class:`GridHistory`) and the contract every model honours.

Times are days relative to the origin: every event a model sees has ``t < 0``; the forecast window is
``[0, window_days)``. A model maps the history to the expected number of events of the target categories in each
masked cell during the window.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from typing import ClassVar, Self

import numpy as np
import pandas as pd

from pulsetwin.exceptions import NotFittedError, ParameterError
from pulsetwin.grid.cells import Grid
from pulsetwin.schema.params import DeclaredParameters

YEAR_DAYS = 365.0


@dataclass(frozen=True)
class GridHistory:
    """Past events on a lattice, the masked cells to score and the forecast window.

    Attributes
    ----------
    grid
        The lattice; every event below lies inside it.
    cells
        Sorted flat numbers of the masked cells: the rows of every map.
    origin
        Start of the forecast window (midnight).
    window_days
        Length of the forecast window in days.
    t, x, y, cell
        Target-category events before the origin, sorted by time: days relative to the origin (negative),
        RD coordinates and flat lattice cell.
    other_t, other_cell
        Events of all other categories before the origin.
    covariates
        ``(len(cells), k)`` area covariates of the buurt holding each cell centre (NaN where none), or None.
    covariate_names
        Names of the covariate columns.
    cell_area
        Area in m² of each masked cell clipped to the study area (the union of the area polygons), or None when
        cells are whole squares. Area-based metrics (PAI, PEI) use it; models predict counts per cell as before.
    """

    grid: Grid
    cells: np.ndarray
    origin: pd.Timestamp
    window_days: int
    t: np.ndarray
    x: np.ndarray
    y: np.ndarray
    cell: np.ndarray
    other_t: np.ndarray
    other_cell: np.ndarray
    covariates: np.ndarray | None = None
    covariate_names: tuple[str, ...] = ()
    cell_area: np.ndarray | None = None

    def areas(self) -> np.ndarray:
        """Area in m² of each masked cell: clipped when known, else the full square."""
        return self.grid.areas(self.cells) if self.cell_area is None else self.cell_area

    def area_share(self) -> np.ndarray:
        """Each masked cell's area as a share of a full square (exactly 1.0 for unclipped cells)."""
        return self.areas() / float(self.grid.cell_m) ** 2

    @property
    def span_days(self) -> float:
        """Days from the first target event to the origin (at least one window)."""
        return max(float(-self.t[0]) if self.t.size else 0.0, float(self.window_days))

    def counts(self, days: float | None, *, other: bool = False) -> np.ndarray:
        """Events per masked cell in the last ``days`` before the origin (all history when None)."""
        t, cell = (self.other_t, self.other_cell) if other else (self.t, self.cell)
        keep = slice(None) if days is None else t >= -days
        return self.grid.image(cell[keep]).ravel()[self.cells]

    def shifted(self, days: float) -> GridHistory:
        """The history as it stood ``days`` earlier: events before that moment, times re-based to it."""
        if days <= 0:
            raise ParameterError(f"A history can only be shifted back in time. Got {days!r} days instead.")
        keep = self.t < -days
        keep_other = self.other_t < -days
        return replace(
            self,
            origin=self.origin - pd.Timedelta(days=days),
            t=self.t[keep] + days,
            x=self.x[keep],
            y=self.y[keep],
            cell=self.cell[keep],
            other_t=self.other_t[keep_other] + days,
            other_cell=self.other_cell[keep_other],
        )

    def future_counts(self, days_back: float, *, windows: int = 1) -> np.ndarray:
        """Events per masked cell in ``[-days_back, -days_back + windows * window_days)``: a training target
        (``days_back`` must be at least that span, so the target lies before the origin)."""
        span = windows * self.window_days
        if days_back < span:
            raise ParameterError(
                f"A training target of {span} days must end by the origin. Got {days_back!r} days back instead."
            )
        keep = (self.t >= -days_back) & (self.t < -days_back + span)
        return self.grid.image(self.cell[keep]).ravel()[self.cells]


def expected_total(history: GridHistory) -> float:
    """Expected events in the masked cells during the window: the rate over the last year (or all history).

    The shared calibration of models that only rank (counts, KDE, prospective): their shares are scaled so the
    map sums to this total.
    """
    days = min(YEAR_DAYS, history.span_days)
    return float(history.counts(days).sum()) * history.window_days / days


def to_expected(score: np.ndarray, history: GridHistory) -> np.ndarray:
    """Scale non-negative scores to shares of :func:`expected_total` (zero scores everywhere stay zero)."""
    total = float(score.sum())
    if total <= 0:
        return np.zeros_like(score, dtype=float)
    return score / total * expected_total(history)


class HotspotModel(DeclaredParameters, ABC):
    """A map of expected event counts per masked cell; ``__init__`` stores parameters, ``fit`` checks them
    against ``parameter_rules`` (``_check_params()``) and learns."""

    name: ClassVar[str] = "hotspot"

    @abstractmethod
    def fit(self, history: GridHistory) -> Self:
        """Learn from the events before the origin and return ``self``."""

    @abstractmethod
    def predict(self) -> np.ndarray:
        """Expected events in each masked cell (``history.cells`` order) during the forecast window."""

    def _check_fitted(self) -> None:
        """Raise NotFittedError unless ``fit`` has run."""
        if not any(k.endswith("_") and not k.startswith("_") for k in vars(self)):
            raise NotFittedError(
                f"{type(self).__name__} is not fitted yet: call fit(history) before predict()."
            )
