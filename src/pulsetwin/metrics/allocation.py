"""Allocation metrics of a patrol loop: concentration (Gini), lock-in of the flagged set, patrol share against
true-crime share and resident exposure by group.

Pure functions of arrays, used by the feedback-loop audit, the studies on the twin and the benchmarks alike.
"""

from __future__ import annotations

import numpy as np

from pulsetwin.exceptions import bad_parameter


def gini(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """Gini concentration of non-negative values along ``axis``: 0 when equal, ``1 - 1/n`` when all in one.

    A slice whose values sum to zero has no concentration to measure and gives ``nan``.

    Notes
    -----
    Sorted-values formula ``G = 2 Σ_i i x_(i) / (n Σ x) - (n + 1) / n`` (Gini 1912; Damgaard & Weiner 2000).
    """
    x = np.sort(np.moveaxis(np.asarray(values, dtype=float), axis, -1), axis=-1)
    if np.any(x < 0):
        raise bad_parameter("values", "gini", "non-negative", float(x.min()))
    n = x.shape[-1]
    total = x.sum(axis=-1)
    ranks = np.arange(1, n + 1, dtype=float)
    weighted = (x * ranks).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        result = 2.0 * weighted / (n * total) - (n + 1.0) / n
    return np.asarray(np.where(total > 0, result, np.nan))


def lock_in(flagged: np.ndarray) -> np.ndarray:
    """Jaccard similarity of consecutive flagged sets, ``(..., periods, areas)`` to ``(..., periods - 1)``.

    1 means the flagged set did not change from one period to the next (two empty sets count as unchanged).

    Notes
    -----
    Jaccard (1912); used for rank stability of hotspot lists (e.g. Mohler et al. 2015).
    """
    f = np.asarray(flagged, dtype=bool)
    if f.ndim < 2:
        raise bad_parameter("flagged", "lock_in", "an array of shape (..., periods, areas)", f.shape)
    previous, current = f[..., :-1, :], f[..., 1:, :]
    both = (previous & current).sum(axis=-1)
    either = (previous | current).sum(axis=-1)
    return np.asarray(np.where(either > 0, both / np.maximum(either, 1), 1.0))


def share_gap(allocation: np.ndarray, true_rate: np.ndarray) -> np.ndarray:
    """Patrol share minus true-crime share per area, along the last axis (both may broadcast)."""
    patrol = _shares(np.asarray(allocation, dtype=float), "allocation")
    crime = _shares(np.asarray(true_rate, dtype=float), "true_rate")
    return np.asarray(patrol - crime)


def misallocation(allocation: np.ndarray, true_rate: np.ndarray) -> np.ndarray:
    """Total-variation distance between patrol shares and true-crime shares: 0 fair to crime, 1 disjoint."""
    return np.asarray(0.5 * np.abs(share_gap(allocation, true_rate)).sum(axis=-1))


def exposure_by_group(allocation: np.ndarray, population: np.ndarray, group_share: np.ndarray) -> np.ndarray:
    """Patrol exposure per resident of each group: ``Σ_i pop_i s_gi a_i / Σ_i pop_i s_gi``.

    Parameters
    ----------
    allocation
        Patrol intensity per area along the last axis, ``(..., areas)``.
    population
        Residents per area, ``(areas,)``.
    group_share
        Share of each group in each area's residents, ``(groups, areas)`` with values in ``[0, 1]``.

    Returns
    -------
    ``(..., groups)``: the mean patrol intensity a resident of each group lives under.
    """
    a = np.asarray(allocation, dtype=float)
    pop = np.asarray(population, dtype=float)
    share = np.atleast_2d(np.asarray(group_share, dtype=float))
    if pop.ndim != 1 or pop.size != a.shape[-1] or np.any(pop < 0) or not np.all(np.isfinite(pop)):
        raise bad_parameter(
            "population", "exposure_by_group", f"{a.shape[-1]} non-negative counts", pop.shape
        )
    if share.shape[-1] != a.shape[-1] or np.any((share < 0) | (share > 1)) or not np.all(np.isfinite(share)):
        raise bad_parameter(
            "group_share",
            "exposure_by_group",
            f"shares in [0, 1] of shape (groups, {a.shape[-1]})",
            share.shape,
        )
    residents = share * pop  # (groups, areas)
    sizes = residents.sum(axis=1)
    if np.any(sizes <= 0):
        raise bad_parameter("group_share", "exposure_by_group", "groups with at least one resident", sizes)
    return np.asarray(a @ residents.T / sizes)


def exposure_disparity(allocation: np.ndarray, population: np.ndarray, group_share: np.ndarray) -> np.ndarray:
    """Ratio of the patrol exposure of a group's residents to that of everyone else (1 = no disparity).

    ``group_share`` is the group's share per area, ``(areas,)``; the rest is ``1 - group_share``.

    Notes
    -----
    A disparity ratio in the sense of Aequitas (Saleiro et al. 2018), applied to place-based exposure.
    """
    share = np.asarray(group_share, dtype=float)
    exposure = exposure_by_group(allocation, population, np.stack([share, 1.0 - share]))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(exposure[..., 0] / exposure[..., 1])


def _shares(values: np.ndarray, name: str) -> np.ndarray:
    """Normalise the last axis to shares, refusing negative values."""
    if np.any(values < 0):
        raise bad_parameter(name, "share_gap", "non-negative", float(values.min()))
    total = values.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.where(total > 0, values / total, np.nan))
