"""Patrol policies: turn forecasts per area into a patrol allocation and its propensity.

A policy spreads a budget of ``k`` patrol units over areas; an area gets an intensity in ``[0, 1]`` (1 =
fully patrolled for the period). ``allocation`` is what happened this period; ``propensity`` is its
expectation given the forecasts (the probability of being patrolled for the randomised policy), which an
inverse-propensity learner needs. All work is vectorised over runs: forecasts have shape ``(runs, areas)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from pulsetwin.exceptions import bad_parameter
from pulsetwin.schema.params import Number, check_param

PolicyKind = Literal["uniform", "proportional", "top_k", "top_k_explore"]
POLICY_KINDS: tuple[str, ...] = get_args(PolicyKind)


@dataclass(frozen=True)
class Allocation:
    """One period's patrol, each ``(runs, areas)``.

    ``allocation`` is the realised intensity and ``propensity`` its expectation, both in ``[0, 1]``;
    ``flagged`` marks the ``flag_count`` areas the forecast ranked highest (1.0 flagged, else 0.0).
    """

    allocation: np.ndarray
    propensity: np.ndarray
    flagged: np.ndarray


@dataclass(frozen=True)
class Policy:
    """A patrol policy with budget ``k`` (patrol units per period).

    Parameters
    ----------
    kind
        ``"uniform"``: ``k / n`` everywhere. ``"proportional"``: intensity proportional to the forecast,
        capped at 1 with the excess passed on to the other areas. ``"top_k"``: the ``k`` highest forecasts
        are patrolled (ties broken at random). ``"top_k_explore"``: like ``top_k``, but with probability
        ``epsilon`` per run and period ``k`` areas drawn uniformly at random are patrolled instead.
    k
        Patrol budget; a whole number for the top-k kinds.
    epsilon
        Exploration probability of ``top_k_explore`` (must be 0 for the other kinds).

    Notes
    -----
    ε-greedy exploration keeps every area's patrol probability at least ``epsilon * k / n``, the positivity
    that inverse-propensity weighting needs (Sutton & Barto 2018, ch. 2; Ensign et al. 2018).
    """

    kind: PolicyKind
    k: float
    epsilon: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in POLICY_KINDS:
            raise bad_parameter("kind", "Policy", f"one of {', '.join(POLICY_KINDS)}", self.kind)
        check_param("k", "Policy", Number(low=0.0, closed="neither", finite=True), self.k)
        if self.kind in ("top_k", "top_k_explore") and float(self.k) != int(self.k):
            raise bad_parameter("k", "Policy", f"a whole number of areas for kind '{self.kind}'", self.k)
        check_param("epsilon", "Policy", Number(), self.epsilon)
        if self.kind == "top_k_explore" and not 0.0 < self.epsilon <= 1.0:
            raise bad_parameter("epsilon", "Policy", "in (0, 1] for kind 'top_k_explore'", self.epsilon)
        if self.kind != "top_k_explore" and self.epsilon != 0:
            raise bad_parameter(
                "epsilon", "Policy", f"0 for kind '{self.kind}' (use 'top_k_explore')", self.epsilon
            )

    @property
    def flag_count(self) -> int:
        """How many areas count as flagged by a forecast under this budget (for lock-in)."""
        return max(1, round(self.k))

    def allocate(self, forecasts: np.ndarray, rng: np.random.Generator) -> Allocation:
        """Allocate this period's patrol from ``forecasts`` of shape ``(runs, areas)``."""
        f = np.asarray(forecasts, dtype=float)
        if f.ndim != 2 or not np.all(np.isfinite(f)) or np.any(f < 0):
            raise bad_parameter(
                "forecasts", "Policy.allocate", "finite non-negative (runs, areas) values", f.shape
            )
        n = f.shape[1]
        if self.k > n:
            raise bad_parameter("k", "Policy", f"at most the number of areas ({n})", self.k)
        top = flag_top(f, self.flag_count, rng)
        if self.kind == "uniform":
            even = np.full(f.shape, self.k / n)
            return Allocation(even, even, top)
        if self.kind == "proportional":
            share = proportional_capped(f, float(self.k))
            return Allocation(share, share, top)
        if self.kind == "top_k":
            return Allocation(top, top, top)
        explore = np.asarray(rng.random(f.shape[0]) < self.epsilon)
        realised = top.copy()
        realised[explore] = random_subset(int(explore.sum()), n, int(self.k), rng)
        propensity = (1.0 - self.epsilon) * top + self.epsilon * self.k / n
        return Allocation(realised, propensity, top)


def flag_top(forecasts: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """1.0 for the ``k`` highest forecasts of each run, else 0.0; ties are broken uniformly at random.

    Linear-time selection (``np.partition``); only rows whose ``k``-th value is tied sort random priorities.
    """
    f = np.asarray(forecasts, dtype=float)
    n = f.shape[-1]
    kth = np.partition(f, n - k, axis=-1)[..., n - k : n - k + 1]
    above = f > kth
    tied = f == kth
    need = k - above.sum(axis=-1, keepdims=True)
    flagged = above | tied
    ambiguous = tied.sum(axis=-1) > need[..., 0]
    if ambiguous.any():
        priority = np.where(tied[ambiguous], rng.random((int(ambiguous.sum()), n)), np.inf)
        cut = np.take_along_axis(np.sort(priority, axis=-1), need[ambiguous] - 1, axis=-1)
        flagged[ambiguous] = above[ambiguous] | (priority <= cut)
    return flagged.astype(float)


def random_subset(runs: int, areas: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """``runs`` rows flagging ``k`` of ``areas`` uniformly at random (the ``k`` smallest of iid uniforms)."""
    chosen = np.argpartition(rng.random((runs, areas)), k - 1, axis=-1)[:, :k]
    flagged = np.zeros((runs, areas))
    np.put_along_axis(flagged, chosen, 1.0, axis=-1)
    return flagged


def proportional_capped(forecasts: np.ndarray, k: float) -> np.ndarray:
    """Spread budget ``k`` proportionally to the forecasts, capping each area at 1 and passing the excess on.

    Rows whose uncapped forecasts are all zero share the remaining budget evenly.
    """
    f = np.asarray(forecasts, dtype=float)
    capped = np.zeros(f.shape, dtype=bool)
    share = np.zeros(f.shape)
    for _ in range(f.shape[-1]):
        free = ~capped
        budget = k - capped.sum(axis=-1, keepdims=True)
        weight = np.where(free, f, 0.0)
        mass = weight.sum(axis=-1, keepdims=True)
        count = free.sum(axis=-1, keepdims=True)
        ratio = np.divide(weight, mass, out=np.zeros(f.shape), where=mass > 0)  # <= 1: cannot overflow
        spread = np.where(mass > 0, budget * ratio, budget / np.maximum(count, 1))
        share = np.where(capped, 1.0, spread)
        over = free & (share > 1.0)
        if not over.any():
            break
        capped |= over
    return np.asarray(np.clip(share, 0.0, 1.0))
