"""Prospective hotspots: risk spreads from recent events, decaying with distance in cells and age in weeks.

Notes
-----
Bowers, Johnson & Pease (2004), "Prospective hot-spotting: the future of crime mapping?", Brit. J. Criminol.
44(5): each event within ``radius_m`` and ``weeks`` adds ``1 / (1 + d) * 1 / (1 + w)`` to a cell, ``d`` the
distance between cell centres in cells and ``w`` the event's age in whole weeks.
"""

from __future__ import annotations

from typing import ClassVar, Self

import numpy as np

from pulsetwin.grid.cells import Grid
from pulsetwin.hotspots.base import GridHistory, HotspotModel, to_expected
from pulsetwin.schema.params import Integer, Number, Rules


def scatter_kernel(
    grid: Grid, cell: np.ndarray, weights: np.ndarray, offsets: np.ndarray, kernel: np.ndarray
) -> np.ndarray:
    """Flat lattice image of ``sum_events weight * kernel`` placed at each event's cell plus each offset.

    Costs events x kernel size, independent of the lattice size; offsets leaving the lattice are dropped.
    """
    ix = (cell % grid.nx)[:, None] + offsets[None, :, 0]
    iy = (cell // grid.nx)[:, None] + offsets[None, :, 1]
    inside = (ix >= 0) & (ix < grid.nx) & (iy >= 0) & (iy < grid.ny)
    flat = (iy * grid.nx + ix)[inside]
    values = (weights[:, None] * kernel[None, :])[inside]
    return np.bincount(flat, weights=values, minlength=grid.n_cells)


class Prospective(HotspotModel):
    """Prospective hotspot risk of Bowers, Johnson & Pease (2004), scaled to the expected total.

    Parameters
    ----------
    radius_m
        Events further than this (between cell centres) add nothing (default 400 m, as in the paper).
    weeks
        Events older than this many weeks add nothing (default 8, i.e. two months).
    """

    name: ClassVar[str] = "prospective"
    parameter_rules: ClassVar[Rules] = {
        "radius_m": Number(low=0, say="a number of metres >= 0"),
        "weeks": Integer(low=1),
    }

    def __init__(self, *, radius_m: float = 400.0, weeks: int = 8) -> None:
        self.radius_m = radius_m
        self.weeks = weeks

    def fit(self, history: GridHistory) -> Self:
        """Add every recent event's distance- and age-weighted contribution to the cells around it."""
        self._check_params()
        reach = int(np.floor(self.radius_m / history.grid.cell_m))
        dx, dy = np.meshgrid(np.arange(-reach, reach + 1), np.arange(-reach, reach + 1))
        distance = np.hypot(dx, dy).ravel()
        near = distance * history.grid.cell_m <= self.radius_m
        offsets = np.column_stack([dx.ravel()[near], dy.ravel()[near]])
        age_weeks = np.floor(-history.t / 7.0)
        recent = age_weeks < self.weeks
        risk = scatter_kernel(
            history.grid,
            history.cell[recent],
            1.0 / (1.0 + age_weeks[recent]),
            offsets,
            1.0 / (1.0 + distance[near]),
        )
        self.mean_ = to_expected(risk[history.cells], history)
        return self

    def predict(self) -> np.ndarray:
        """The scaled risk per masked cell."""
        self._check_fitted()
        return self.mean_
