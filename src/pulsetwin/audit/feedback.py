"""Feedback-loop audit: Ensign's Pólya-urn model of predictive policing.

The urn shows why a learner fed only with what patrols discover runs away from the true crime rates, and how
an inverse-propensity ("surprise") update repairs it. The metrics of a patrol history (patrol share against
true crime share, concentration (Gini), lock-in of the flagged set (Jaccard of consecutive sets) and resident
exposure by group; protected attributes enter in the audit, never in a model) are in
:mod:`pulsetwin.metrics.allocation`.
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
