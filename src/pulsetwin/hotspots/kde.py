"""Kernel density hotspots: recent events smoothed with a Gaussian kernel on the lattice.

Notes
-----
Chainey, Tompson & Uhlig (2008), "The utility of hotspot mapping for predicting spatial patterns of crime".
The density is binned (events counted per cell, then filtered), which is exact up to the cell size and costs
one separable filter over the lattice whatever the number of events.
"""

from __future__ import annotations

from typing import ClassVar, Self

import numpy as np
from scipy import ndimage

from pulsetwin.grid.cells import Grid
from pulsetwin.hotspots.base import GridHistory, HotspotModel, to_expected
from pulsetwin.schema.params import NoneOr, Number, Rules


def smoothed_image(
    grid: Grid, cell: np.ndarray, sigma_cells: float, weights: np.ndarray | None = None
) -> np.ndarray:
    """Dense ``(ny, nx)`` image of (weighted) events per cell convolved with a Gaussian of ``sigma_cells``."""
    image = grid.image(cell, weights)
    if sigma_cells <= 0:
        return image
    return np.asarray(ndimage.gaussian_filter(image, sigma=sigma_cells, mode="constant", truncate=4.0))


class KDE(HotspotModel):
    """Expected count proportional to a Gaussian kernel density of the events in the last ``days``.

    Parameters
    ----------
    bandwidth_m
        Standard deviation of the kernel in metres (default: one cell).
    days
        Trailing window of events used (default: 365).
    """

    name: ClassVar[str] = "kde"
    parameter_rules: ClassVar[Rules] = {
        "bandwidth_m": NoneOr(Number(low=0, closed="neither", say="a positive number of metres")),
        "days": Number(low=0, closed="neither", say="a positive number of days"),
    }

    def __init__(self, *, bandwidth_m: float | None = None, days: float = 365.0) -> None:
        self.bandwidth_m = bandwidth_m
        self.days = days

    def fit(self, history: GridHistory) -> Self:
        """Smooth the recent events and scale to the expected total."""
        self._check_params()
        bandwidth = self.bandwidth_m if self.bandwidth_m is not None else float(history.grid.cell_m)
        recent = history.t >= -self.days
        density = smoothed_image(history.grid, history.cell[recent], bandwidth / history.grid.cell_m)
        self.mean_ = to_expected(density.ravel()[history.cells], history)
        return self

    def predict(self) -> np.ndarray:
        """The scaled density per masked cell."""
        self._check_fitted()
        return self.mean_
