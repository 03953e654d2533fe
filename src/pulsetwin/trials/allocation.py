"""Blocked randomisation of eligible buurten: blocks by wijk and forecast decile, a seeded draw within each.

The same function draws the registered allocation and the re-draws of the randomisation test, so the test
re-randomises exactly as the design did.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from pulsetwin.exceptions import ParameterError

MIN_BLOCK = 2
"""A block needs two buurten to randomise within; smaller ones are pooled (see :func:`build_blocks`)."""


def forecast_deciles(expected: np.ndarray) -> np.ndarray:
    """Decile (0-9) of each unit's expected count among the units (ties broken by order)."""
    ranks = np.argsort(np.argsort(np.asarray(expected, dtype=float), kind="stable"), kind="stable")
    return (ranks * 10 // max(len(ranks), 1)).astype(np.int64)


def build_blocks(units: pd.DataFrame, keys: tuple[str, ...]) -> pd.Series:
    """Block label per unit from ``keys`` (``wijk``, ``forecast_decile``), pooling blocks under two units.

    ``units`` has ``area_code``, ``wijk`` and ``expected``. A block of one buurt cannot be randomised, so
    singletons of (wijk, decile) join a pool of their decile across wijken; a pool still under two units joins
    the overall pool ``rest``; a ``rest`` of one joins the smallest other block. Every pooling shows in the
    labels, which the pre-registration lists.
    """
    deciles = forecast_deciles(units["expected"].to_numpy())
    parts: list[pd.Series] = []
    if "wijk" in keys:
        parts.append(units["wijk"].astype(str))
    if "forecast_decile" in keys:
        parts.append(pd.Series([f"d{d}" for d in deciles], index=units.index))
    if not parts:
        return pd.Series("all", index=units.index)
    label = parts[0] if len(parts) == 1 else parts[0] + "|" + parts[1]
    if len(parts) == 2:
        small = label.map(label.value_counts()) < MIN_BLOCK
        label = label.where(~small, "pool|" + parts[1])
    small = label.map(label.value_counts()) < MIN_BLOCK
    label = label.where(~small, "rest")
    counts = label.value_counts()
    if counts.get("rest", MIN_BLOCK) < MIN_BLOCK and len(counts) > 1:
        label = label.replace("rest", counts.drop("rest").sort_values(kind="stable").index[0])
    return label.rename("block")


def draw_allocation(blocks: pd.Series, share: float, rng: np.random.Generator) -> np.ndarray:
    """Treated (True) or control per unit: within each block, a random ``share`` of its units.

    A block of ``n`` treats ``floor(share * n)`` units plus one more with probability equal to the remainder,
    so every unit's probability of treatment is exactly ``share``. Blocks are visited in sorted label order, so
    the same seed gives the same allocation.
    """
    if not 0.0 < share < 1.0:
        raise ParameterError(
            f"The 'share' parameter of draw_allocation must be in (0, 1). Got {share!r} instead."
        )
    treated = np.zeros(len(blocks), dtype=bool)
    values = blocks.to_numpy()
    for label in sorted(set(values)):
        members = np.flatnonzero(values == label)
        exact = share * members.size
        count = int(np.floor(exact)) + int(rng.random() < exact - np.floor(exact))
        treated[rng.permutation(members)[:count]] = True
    return treated


def redraw_allocations(blocks: pd.Series, share: float, draws: int, seed: int) -> np.ndarray:
    """``draws`` further allocations by the same procedure, shape (draws, units); for randomisation tests."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    return np.stack([draw_allocation(blocks, share, rng) for _ in range(draws)])


def allocation_hash(codes: list[str], treated: np.ndarray) -> str:
    """SHA-256 of the sorted ``code=0/1`` lines: equal exactly when the allocation is the same."""
    lines = sorted(f"{c}={int(t)}" for c, t in zip(codes, treated, strict=True))
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()
