"""Displacement and diffusion of benefits: the buffer of adjacent buurten and the Weighted Displacement Quotient."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pulsetwin.features.spatial import neighbour_matrix


def adjacent_buurten(areas: pd.DataFrame, treated: list[str], exclude: list[str]) -> list[str]:
    """Buurten sharing a border or corner with a treated buurt, minus ``exclude`` (the trial's own units).

    Adjacency is queen contiguity of the stored geometries (:func:`pulsetwin.features.spatial.neighbour_matrix`,
    which links a buurt without any touching neighbour to its nearest three).
    """
    buurten = areas.loc[areas["level"] == "buurt"].drop_duplicates("area_code")
    codes = buurten["area_code"].astype(str).tolist()
    matrix = neighbour_matrix(buurten, codes)
    index = pd.Index(codes)
    rows = index.get_indexer(pd.Index(treated))
    rows = rows[rows >= 0]
    touched = np.flatnonzero(np.asarray(matrix[rows].sum(axis=0)).ravel() > 0)
    skip = set(exclude)
    return sorted(c for c in index[touched] if c not in skip)


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
    control_before: float, control_after: float,
) -> WDQ:  # fmt: skip
    """``WDQ = (B_a/C_a - B_b/C_b) / (A_a/C_a - A_b/C_b)`` for treated area A, buffer B and control C.

    The denominator (success measure) must be negative, i.e. the treated area improved relative to control;
    otherwise the quotient is not interpretable and ``wdq`` is None. Positive WDQ: diffusion of benefits;
    negative: displacement (below -1: more displaced than gained).

    Notes
    -----
    Bowers & Johnson (2003), Measuring the geographical displacement and diffusion of benefit effects of crime
    prevention activity, J. Quantitative Criminology 19(3), 275-301.
    """
    if control_before <= 0 or control_after <= 0:
        return WDQ(float("nan"), float("nan"), None)
    success = treated_after / control_after - treated_before / control_before
    buffer_change = buffer_after / control_after - buffer_before / control_before
    return WDQ(success, buffer_change, buffer_change / success if success < 0 else None)
