"""Displacement and diffusion of benefits: the buffer of adjacent buurten and the Weighted Displacement Quotient."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from pulsetwin.features.spatial import neighbour_matrix
from pulsetwin.trials.estimate import CONTINUITY


@dataclass(frozen=True)
class Adjacency:
    """Queen contiguity of all buurten (:func:`pulsetwin.features.spatial.neighbour_matrix`, which links a buurt
    without any touching neighbour to its nearest three) and the trial's units among them."""

    codes: pd.Index
    matrix: sparse.csr_matrix
    units: np.ndarray
    """Positions in ``codes`` of the trial's units (allocation order)."""

    @classmethod
    def build(cls, areas: pd.DataFrame, units: list[str]) -> Adjacency:
        """From the stored geometries of the buurten."""
        buurten = areas.loc[areas["level"] == "buurt"].drop_duplicates("area_code")
        codes = pd.Index(buurten["area_code"].astype(str))
        return cls(codes, neighbour_matrix(buurten, list(codes)), codes.get_indexer(pd.Index(units)))

    def buffers(self, allocations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Boolean (draws, buurten) masks: the treated buffer (adjacent to a treated unit) and the control
        buffer (adjacent to a control unit, not in the treated buffer); trial units belong to neither."""
        a = np.atleast_2d(np.asarray(allocations, dtype=bool))
        treated = np.zeros((a.shape[0], len(self.codes)))
        control = np.zeros_like(treated)
        treated[:, self.units] = a
        control[:, self.units] = ~a
        outside = np.ones(len(self.codes), dtype=bool)
        outside[self.units] = False
        near_treated = (np.asarray((self.matrix @ treated.T).T) > 0) & outside
        near_control = (np.asarray((self.matrix @ control.T).T) > 0) & outside & ~near_treated
        return near_treated, near_control


def adjacent_buurten(areas: pd.DataFrame, treated: list[str], exclude: list[str]) -> list[str]:
    """Buurten adjacent to a treated buurt (queen contiguity, see :class:`Adjacency`), minus ``exclude``."""
    adjacency = Adjacency.build(areas, exclude)
    allocation = np.isin(np.asarray(exclude), treated)
    return sorted(adjacency.codes[adjacency.buffers(allocation)[0][0]])


def buffer_statistic(
    before: np.ndarray, after: np.ndarray, adjacency: Adjacency, allocations: np.ndarray
) -> np.ndarray:
    """Log change of the treated buffer's count minus that of the control buffer, per allocation.

    ``before`` and ``after`` are counts per buurt in ``adjacency.codes`` order. Positive: the buurten next to
    treated buurten rose relative to those next to control buurten (displacement); negative: diffusion.
    """
    return buffer_contrast(before, after, adjacency.buffers(allocations))


def buffer_contrast(
    before: np.ndarray, after: np.ndarray, buffers: tuple[np.ndarray, np.ndarray]
) -> np.ndarray:
    """:func:`buffer_statistic` from buffers already formed (``Adjacency.buffers``), e.g. for a fixed pool of
    re-drawn allocations used again and again."""
    near_treated, near_control = buffers
    b, a = np.asarray(before, float), np.asarray(after, float)
    treated = np.log((near_treated @ a + CONTINUITY) / (near_treated @ b + CONTINUITY))
    control = np.log((near_control @ a + CONTINUITY) / (near_control @ b + CONTINUITY))
    return np.asarray(treated - control)


def displacement_p(before: np.ndarray, after: np.ndarray, adjacency: Adjacency, allocation: np.ndarray,
                   redraws: np.ndarray) -> float:  # fmt: skip
    """Two-sided randomisation p-value of :func:`buffer_statistic` (buffers re-formed for every re-draw).

    Notes
    -----
    The allocation is random, so buurten next to treated and next to control buurten are exchangeable under
    no displacement; selection of the eligible (high-forecast) buurten and regression to the mean cancel.
    """
    observed = abs(float(buffer_statistic(before, after, adjacency, allocation)[0]))
    null = np.abs(buffer_statistic(before, after, adjacency, redraws))
    return float((1 + np.sum(null >= observed - 1e-12)) / (1 + null.size))


@dataclass(frozen=True)
class WDQ:
    """The Weighted Displacement Quotient and its two parts (None when the treated area did not improve)."""

    success: float
    buffer_change: float
    wdq: float | None

    def reading(self) -> str:
        """One sentence: displacement, diffusion of benefits, or not interpretable."""
        if self.wdq is None:
            return "not interpretable: the treated buurten did not improve relative to the control buurten"
        if self.wdq > 0:
            return f"diffusion of benefits to adjacent buurten (WDQ {self.wdq:.2f})"
        if self.wdq < 0:
            return f"displacement to adjacent buurten (WDQ {self.wdq:.2f}; below -1 more than the gain)"
        return "no change in adjacent buurten (WDQ 0)"


def weighted_displacement_quotient(
    treated_before: float, treated_after: float, buffer_before: float, buffer_after: float,
    control_before: float, control_after: float, buffer_control: tuple[float, float] | None = None,
) -> WDQ:  # fmt: skip
    """``WDQ = (B_a/C_a - B_b/C_b) / (A_a/C_a - A_b/C_b)`` for treated area A, buffer B and control C.

    The denominator (success measure) must be negative, i.e. the treated area improved relative to control;
    otherwise the quotient is not interpretable and ``wdq`` is None. Positive WDQ: diffusion of benefits;
    negative: displacement (below -1: more displaced than gained).

    Multiplied by ``C_a`` it reads ``(B_a - B_b C_a/C_b) / (A_a - A_b C_a/C_b)``: the buffer's excess over the
    control trend per event prevented. ``buffer_control`` = (before, after) of a control area comparable to
    the buffer (the buurten next to control buurten) replaces ``C`` in the buffer's trend; without it the
    quotient is Bowers & Johnson's. High-forecast trial buurten regress to the mean, their low-forecast
    buffers do not, so the randomised control buffer is the fairer trend for the buffer.

    Notes
    -----
    Bowers & Johnson (2003), Measuring the geographical displacement and diffusion of benefit effects of crime
    prevention activity, J. Quantitative Criminology 19(3), 275-301.
    """
    trend_before, trend_after = buffer_control or (control_before, control_after)
    if min(control_before, control_after, trend_before, trend_after) <= 0:
        return WDQ(float("nan"), float("nan"), None)
    success = treated_after / control_after - treated_before / control_before
    buffer_change = (buffer_after - buffer_before * trend_after / trend_before) / control_after
    return WDQ(success, buffer_change, buffer_change / success if success < 0 else None)


def assess_displacement(before: pd.Series, after: pd.Series, adjacency: Adjacency, allocation: np.ndarray,
                        redraws: np.ndarray) -> dict[str, Any]:  # fmt: skip
    """WDQ (buffer trend from the control buffer) and the randomisation p-value of the buffer change.

    ``before`` and ``after`` are counts per buurt code over as many periods before and in the trial.
    """
    b = before.reindex(adjacency.codes).fillna(0.0).to_numpy(dtype=float)
    a = after.reindex(adjacency.codes).fillna(0.0).to_numpy(dtype=float)
    near_treated, near_control = (mask[0] for mask in adjacency.buffers(allocation))
    unit_treated = np.zeros(len(adjacency.codes), dtype=bool)
    unit_control = np.zeros(len(adjacency.codes), dtype=bool)
    unit_treated[adjacency.units[allocation]] = True
    unit_control[adjacency.units[~np.asarray(allocation, dtype=bool)]] = True
    wdq = weighted_displacement_quotient(
        b[unit_treated].sum(), a[unit_treated].sum(), b[near_treated].sum(), a[near_treated].sum(),
        b[unit_control].sum(), a[unit_control].sum(), buffer_control=(b[near_control].sum(), a[near_control].sum()),
    )  # fmt: skip
    statistic = float(buffer_statistic(b, a, adjacency, allocation)[0])
    return {
        "buffer": sorted(adjacency.codes[near_treated]), "control_buffer": sorted(adjacency.codes[near_control]),
        "success": wdq.success, "buffer_change": wdq.buffer_change, "wdq": wdq.wdq, "reading": wdq.reading(),
        "buffer_log_change": statistic, "p_value": displacement_p(b, a, adjacency, allocation, redraws),
    }  # fmt: skip
