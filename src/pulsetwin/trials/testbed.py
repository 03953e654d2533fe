"""The twin as a test bed: the trial period simulated again by the twin's own process, with a known effect.

The twin's replay (:mod:`pulsetwin.twin.replay`) gives every offence before the trial; the trial period is
branched from there (:func:`pulsetwin.twin.branch.branch_counts`): in treated buurten (or, in a crossover or
stepped wedge, treated buurt-periods) the primary category's chains start at ``effect`` times their rate, in
buurten adjacent to a treated one at ``1 + displacement`` times; the self-excitation, the serial dependence and
the recording of the twin stay as they are. Given the pre-trial history the expected recorded count of a
treated cell is exactly ``effect`` times its count without the intervention, so the true rate ratio is known.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pulsetwin.evaluation.origin_oracle import recover_process
from pulsetwin.exceptions import ParameterError, StoreError
from pulsetwin.store.database import Store
from pulsetwin.trials.displacement import adjacent_buurten
from pulsetwin.twin.branch import branch_counts
from pulsetwin.twin.replay import TwinProcess

SOURCE = "twin-trial"


def store_process(store: Store) -> TwinProcess:
    """The replayed process of the twin a store was generated from (its own imports of the test bed aside).

    Raises StoreError when the store's incidents and truth do not come from one replayable twin.
    """
    records = store.provenance()
    sources = records.loc[records["table_name"].isin(["incidents", "truth"]), "source"].astype(str)
    recovery = recover_process(sources[sources != SOURCE], store.read("truth"))
    if recovery.process is None:
        raise StoreError(
            f"the trial test bed needs the store's twin: {recovery.note} Fix: simulate trials only in a store "
            "made by `pulsetwin twin generate`"
        )
    return recovery.process


def trial_edges(process: TwinProcess, periods: Sequence[pd.Timestamp], freq: str) -> np.ndarray:
    """Day edges (from the twin's origin) of consecutive trial ``periods``; refuses periods outside the twin."""
    grid = process.periods(freq)
    position = grid.starts.get_indexer(pd.DatetimeIndex(list(periods)))
    if (position < 0).any() or np.any(np.diff(position) != 1):
        raise StoreError(
            f"the trial periods {periods[0].date()} to {periods[-1].date()} are not consecutive {freq} periods of "
            f"the twin's calendar ({grid.starts[0].date()} to {grid.starts[-1].date()}). Fix: design the trial on "
            "a run whose forecast periods lie inside the twin's simulated years"
        )
    return np.append(grid.start_day[position], grid.end_day[position[-1]])


def simulate_counts(process: TwinProcess, edges: np.ndarray, category: str, treated: np.ndarray,
                    buffer: np.ndarray, effect: float, displacement: float,
                    rng: np.random.Generator) -> np.ndarray:  # fmt: skip
    """Recorded counts (periods, categories, buurten) of the branched trial period.

    ``treated`` is boolean (periods, buurten) in ``process.codes`` order, ``buffer`` boolean (buurten,): the
    buurten whose chains of ``category`` start at ``1 + displacement`` times the rate.
    """
    slugs = [c.slug for c in process.cats]
    if category not in slugs:
        raise ParameterError(f"the twin has no category '{category}'; it has {', '.join(slugs)}")
    if effect < 0 or displacement <= -1:
        raise ParameterError(
            f"effect must be >= 0 and displacement > -1; got {effect} and {displacement}. Fix: pass a rate ratio "
            "and a relative change (0.2 = +20 %)"
        )
    multiplier = np.ones((edges.size - 1, *process.rates.shape))
    row = slugs.index(category)
    multiplier[:, row, buffer] = 1.0 + displacement
    multiplier[:, row][treated] = effect
    return branch_counts(process, edges, multiplier, rng)


def simulate_trial_outcomes(
    process: TwinProcess, areas: pd.DataFrame, *, treated: list[str], units: list[str], category: str,
    periods: list[pd.Timestamp], freq: str, effect: float, displacement: float = 0.0, seed: int = 0,
    treated_cells: Sequence[tuple[str, pd.Timestamp]] | None = None,
) -> pd.DataFrame:  # fmt: skip
    """Canonical ``incidents`` rows of every category and buurt of the twin in the trial ``periods``.

    ``category`` in ``treated`` buurten runs at ``effect`` times; in buurten adjacent to a treated one (outside
    ``units``) at ``1 + displacement`` times. ``treated_cells`` (a crossover's or stepped wedge's treated
    buurt-periods) limits the effect to those periods.
    """
    edges = trial_edges(process, periods, freq)
    codes = pd.Index(process.codes.astype(str))
    starts = pd.DatetimeIndex(list(periods))
    mask = np.zeros((len(periods), codes.size), dtype=bool)
    if treated_cells is None:
        mask[:, codes.isin(treated)] = True
    else:
        for code, start in treated_cells:
            mask[starts.get_loc(pd.Timestamp(start)), codes.get_loc(code)] = True
    buffer = (
        codes.isin(adjacent_buurten(areas, treated, units)) if displacement else np.zeros(codes.size, bool)
    )
    counts = simulate_counts(process, edges, category, mask, buffer, effect, displacement,
                             np.random.default_rng(seed))  # fmt: skip
    k, c, a = np.indices(counts.shape).reshape(3, -1)
    return pd.DataFrame({
        "area_code": codes.to_numpy()[a], "period_start": starts[k].date, "freq": freq,
        "category": np.array([cat.slug for cat in process.cats])[c], "count": counts.ravel().astype(np.int64),
        "source": SOURCE,
    })  # fmt: skip
