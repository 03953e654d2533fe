"""The twin as a test bed: trial-period outcomes with a known multiplicative effect (and displacement).

The twin's replay (:mod:`pulsetwin.twin.replay`) simulates the whole self-exciting process from the start of
the burn-in with fixed random streams; changing the intensity of some buurten from a date on would need a
branch of that simulation it does not offer. So the trial period is simulated from the truth table instead:
each buurt's true expected recorded count (``truth.intensity``, the oracle) times the true effect in treated
buurten and ``1 + displacement`` in buurten adjacent to them, observed as a Poisson count. Within-period
self-excitation is thereby left out; the true rate ratio is known exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pulsetwin.exceptions import StoreError
from pulsetwin.trials.displacement import adjacent_buurten

SOURCE = "twin-trial"


def simulate_trial_outcomes(
    truth: pd.DataFrame, areas: pd.DataFrame, *, treated: list[str], units: list[str], category: str,
    periods: list[pd.Timestamp], freq: str, effect: float, displacement: float = 0.0, seed: int = 0,
    treated_cells: Sequence[tuple[str, pd.Timestamp]] | None = None,
) -> pd.DataFrame:  # fmt: skip
    """Canonical ``incidents`` rows of every category and buurt of the truth in ``periods``.

    ``category`` in ``treated`` buurten has intensity times ``effect``; in buurten adjacent to a treated one
    (outside ``units``) times ``1 + displacement``. Other categories and buurten are drawn unchanged.
    ``treated_cells`` (a crossover's treated buurt-periods) limits the effect to those periods.
    """
    rows = truth[pd.to_datetime(truth["period_start"]).isin(periods)]
    if "freq" in rows:
        rows = rows[rows["freq"] == freq]
    if rows.empty:
        raise StoreError(
            "the store's truth table has no rows for the trial periods. Fix: simulate a trial only on a twin "
            "store whose truth covers the registered periods"
        )
    multiplier = pd.Series(1.0, index=rows.index)
    primary = rows["category"] == category
    in_treated = rows["area_code"].isin(treated)
    if treated_cells is not None:
        cells = pd.MultiIndex.from_tuples([(c, pd.Timestamp(p)) for c, p in treated_cells])
        keys = pd.MultiIndex.from_arrays([rows["area_code"], pd.to_datetime(rows["period_start"])])
        in_treated = pd.Series(keys.isin(cells), index=rows.index)
    multiplier[primary & in_treated] = effect
    if displacement:
        buffer = adjacent_buurten(areas, treated, units)
        multiplier[primary & rows["area_code"].isin(buffer)] = 1.0 + displacement
    rng = np.random.default_rng(seed)
    counts = rng.poisson(rows["intensity"].to_numpy(dtype=float) * multiplier.to_numpy())
    return pd.DataFrame({
        "area_code": rows["area_code"].astype(str).to_numpy(),
        "period_start": pd.to_datetime(rows["period_start"]).dt.date.to_numpy(),
        "freq": freq, "category": rows["category"].astype(str).to_numpy(), "count": counts.astype(np.int64),
        "source": SOURCE,
    })  # fmt: skip
