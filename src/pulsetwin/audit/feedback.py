"""Feedback-loop audit: Ensign's Pólya-urn model of predictive policing and the metrics of a patrol loop.

The urn shows why a learner fed only with what patrols discover runs away from the true crime rates, and how
an inverse-propensity ("surprise") update repairs it. The metrics measure a simulated or real patrol
history: patrol share against true crime share, concentration (Gini), lock-in of the flagged set (Jaccard of
consecutive sets) and resident exposure by group (protected attributes enter here, in the audit, never in a
model).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from pulsetwin.exceptions import bad_parameter
from pulsetwin.schema.params import Integer, Number, check_param

UrnCorrection = Literal["none", "surprise"]


@dataclass(frozen=True)
class UrnResult:
    """The history of ``runs`` urns over ``days``.

    Attributes
    ----------
    visit_probability
        ``(runs, days, areas)``: the probability of sending the patrol to each area on each day (the urn's
        colour shares before that day's draw).
    visits
        ``(runs, days)``: index of the area visited each day.
    counts
        ``(runs, areas)``: the urn's ball counts after the last day.
    """

    visit_probability: np.ndarray
    visits: np.ndarray
    counts: np.ndarray

    @property
    def mean_share(self) -> np.ndarray:
        """Mean patrol probability per area over all runs and days, shape ``(areas,)``."""
        return np.asarray(self.visit_probability.mean(axis=(0, 1)))

    @property
    def final_share(self) -> np.ndarray:
        """Mean urn share per area after the last day over runs, shape ``(areas,)``."""
        return np.asarray((self.counts / self.counts.sum(axis=1, keepdims=True)).mean(axis=0))


def simulate_urn(
    rates: np.ndarray | list[float] | tuple[float, ...],
    prior: np.ndarray | list[int] | tuple[int, ...],
    *,
    days: int,
    runs: int,
    correction: UrnCorrection = "none",
    decay: float = 0.0,
    seed: int | np.random.SeedSequence,
) -> UrnResult:
    """Simulate Ensign's predictive-policing urn, vectorised over runs.

    Each day one patrol goes to area ``i`` with probability proportional to the urn's ball count ``n_i``; it
    discovers ``Poisson(rates[i])`` incidents there and none elsewhere. The naive urn adds every discovered
    incident as a ball of the visited colour. The ``"surprise"`` urn adds them only with probability
    ``min_j p_j / p_i`` (``p`` the visit probabilities): in expectation the update of area ``i`` is then
    ``rates[i] * min_j p_j`` whatever ``p_i`` is, i.e. discovered incidents are weighted by the inverse of
    the visit probability (rescaled so the largest weight is one), and the urn's shares converge to the true
    shares ``rates / rates.sum()``. With ``decay > 0`` every ball leaves the urn with that probability each
    day (floored at one ball per colour): the authors' limited-memory variant.

    Parameters
    ----------
    rates
        True daily incident rate per area (at least two areas, all positive).
    prior
        Initial ball count per area (positive integers), e.g. historical incident counts.
    days, runs
        Length and number of independent simulations.
    correction
        ``"none"`` (the runaway loop) or ``"surprise"`` (the paper's correction).
    decay
        Daily probability that a ball is removed, in ``[0, 1)``.
    seed
        Seed of the random generator; same seed, same result.

    Notes
    -----
    Ensign, Friedler, Neville, Scheidegger & Venkatasubramanian (2018), Runaway feedback loops in predictive
    policing, FAT* (PMLR 81). With two areas the acceptance probability ``min_j p_j / p_i`` equals the paper's
    linear-surprise rule ``(1 - p_i) / max_j (1 - p_j)``; for more areas it is its inverse-propensity
    generalisation. Updates are Poisson draws and decay is binomial thinning, as in the authors' published
    simulation code.
    """
    lam = _positive_vector(rates, "rates", "simulate_urn")
    start = _positive_vector(prior, "prior", "simulate_urn")
    if lam.size != start.size:
        raise bad_parameter("prior", "simulate_urn", f"one count per area ({lam.size})", list(start))
    if not np.allclose(start, np.round(start)):
        raise bad_parameter("prior", "simulate_urn", "whole ball counts", list(start))
    _check_count(days, "days", "simulate_urn")
    _check_count(runs, "runs", "simulate_urn")
    if correction not in ("none", "surprise"):
        raise bad_parameter("correction", "simulate_urn", "'none' or 'surprise'", correction)
    check_param("decay", "simulate_urn", Number(low=0.0, high=1.0, closed="left"), decay)

    rng = np.random.default_rng(seed)
    areas = lam.size
    counts = np.tile(np.round(start).astype(np.int64), (runs, 1))
    probability = np.empty((runs, days, areas))
    visits = np.empty((runs, days), dtype=np.int64)
    rows = np.arange(runs)
    for day in range(days):
        share = counts / counts.sum(axis=1, keepdims=True)
        probability[:, day] = share
        choice = (rng.random((runs, 1)) >= np.cumsum(share, axis=1)).sum(axis=1)
        choice = np.minimum(choice, areas - 1)
        visits[:, day] = choice
        found = rng.poisson(lam[choice])
        if correction == "surprise":
            accept = rng.random(runs) < share.min(axis=1) / share[rows, choice]
            found = np.where(accept, found, 0)
        counts[rows, choice] += found
        if decay > 0.0:
            counts = np.maximum(counts - rng.binomial(counts, decay), 1)
    return UrnResult(visit_probability=probability, visits=visits, counts=counts)


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


def _positive_vector(values: object, name: str, owner: str) -> np.ndarray:
    """A finite, positive 1-D float vector with at least two entries."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise bad_parameter(name, owner, "a sequence of positive numbers", values) from None
    if array.ndim != 1 or array.size < 2 or not np.all(np.isfinite(array)) or np.any(array <= 0):
        raise bad_parameter(name, owner, "at least two finite positive numbers", values)
    return array


def _check_count(value: object, name: str, owner: str) -> None:
    """Refuse anything but a positive integer."""
    check_param(name, owner, Integer(low=1, say="a positive integer"), value)
