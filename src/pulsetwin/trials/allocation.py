"""Randomisation of eligible buurten: blocked (by wijk and forecast decile, a seeded draw within each) or a
stepped wedge (each buurt's crossing step, balanced over forecast rank).

The same functions draw the registered allocation and the re-draws of the randomisation test (through
:class:`Scheme`), so the test re-randomises exactly as the design did.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

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


def crossing_periods(periods: int, steps: int) -> np.ndarray:
    """Index of the trial period in which each of ``steps`` sequences crosses to treatment.

    Sequence ``k`` (0-based) crosses at ``(k + 1) * periods // (steps + 1)``: with ``steps = periods - 1`` the
    classic wedge (period 0 all control, one sequence more treated each period, the last all treated).
    """
    return (np.arange(1, steps + 1) * periods) // (steps + 1)


def draw_wedge(totals: np.ndarray, steps: int, rng: np.random.Generator) -> np.ndarray:
    """Sequence (0 to ``steps - 1``) per buurt, balanced over the forecast.

    Buurten are ranked by forecast total (highest first, ties by order) and cut into consecutive groups of
    ``steps``; each group gets a random permutation of the sequences (a last, smaller group a random subset),
    so every sequence holds buurten of every forecast level and each buurt is equally likely in each sequence.
    """
    totals = np.asarray(totals, dtype=float)
    order = np.argsort(-totals, kind="stable")
    sequence = np.empty(totals.size, dtype=np.int64)
    for start in range(0, totals.size, steps):
        members = order[start : start + steps]
        sequence[members] = rng.permutation(steps)[: members.size]
    return sequence


@dataclass(frozen=True)
class Scheme:
    """How a registered design randomises its units (the rows of the design's ``units`` table).

    ``cluster`` and ``crossover`` draw ``share`` of each block (:func:`draw_allocation`); ``stepped_wedge``
    draws a sequence per buurt (:func:`draw_wedge`) over ``periods`` periods; its units are buurt-periods
    sorted by buurt, then period, and a cell is treated from its sequence's crossing period on.
    """

    kind: str
    share: float
    steps: int | None
    periods: int

    @classmethod
    def of(cls, design: dict[str, Any], periods: int) -> Scheme:
        """From the ``design`` mapping of a spec (as written into the pre-registration)."""
        steps = design.get("steps")
        return cls(str(design["type"]), float(design["treated_share"]), None if steps is None else int(steps),
                   periods)  # fmt: skip

    def draw(self, units: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        """Treated (True) per row of ``units``."""
        if self.kind != "stepped_wedge":
            return draw_allocation(units["block"], self.share, rng)
        totals = self._totals(units)
        steps = int(self.steps or self.periods - 1)
        crossing = crossing_periods(self.periods, steps)[draw_wedge(totals, steps, rng)]
        return (np.arange(self.periods)[None, :] >= crossing[:, None]).ravel()

    def redraw(self, units: pd.DataFrame, draws: int, seed: int) -> np.ndarray:
        """``draws`` further allocations by the same procedure, shape (draws, rows); for randomisation tests."""
        if self.kind != "stepped_wedge":
            return redraw_allocations(units["block"], self.share, draws, seed)
        rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
        return np.stack([self.draw(units, rng) for _ in range(draws)])

    def period_index(self, units: pd.DataFrame) -> np.ndarray | None:
        """Trial period (0-based) of each row in a stepped wedge (its analysis compares within periods)."""
        if self.kind != "stepped_wedge":
            return None
        return np.tile(np.arange(self.periods), len(units) // self.periods)

    def _totals(self, units: pd.DataFrame) -> np.ndarray:
        """Forecast total per buurt of a wedge's buurt-period rows, refusing rows in another order."""
        codes = units["area_code"].to_numpy()
        if len(units) % self.periods or not np.array_equal(
            codes, np.repeat(codes[:: self.periods], self.periods)
        ):
            raise ParameterError(
                f"a stepped wedge's units must be {self.periods} rows (one per period) per buurt, sorted by buurt "
                "and period. Fix: build them with pulsetwin.trials.design.cell_units"
            )
        return units["expected"].to_numpy(dtype=float).reshape(-1, self.periods).sum(axis=1)


def allocation_hash(codes: list[str], treated: np.ndarray) -> str:
    """SHA-256 of the sorted ``code=0/1`` lines: equal exactly when the allocation is the same."""
    lines = sorted(f"{c}={int(t)}" for c, t in zip(codes, treated, strict=True))
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()
