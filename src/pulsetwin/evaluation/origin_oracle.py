"""The origin oracle: the best forecast knowable *at the forecast origin* under the twin's true process.

The twin's truth (:mod:`pulsetwin.twin.truth`) for a period ``[a, b)`` is ``E[N(a, b) | H_a]``: it conditions
on every offence before the period's own start ``a``. For step ``h >= 2`` of a forecast made at origin ``o <
a`` that includes offences between ``o`` and ``a``, which no forecaster can know. The origin oracle is
``E[N(a, b) | H_o]``: with the exponential kernel the expected excitation after ``o`` obeys
``dx/dt = -k x + (n / tau) mu(t)`` with ``k = (1 - n) / tau`` and ``x(o) = E_o`` (the realised excitation at
``o``), so

``x(a) = E_o exp(-k (a - o)) + (n / tau) int_o^a mu(s) exp(-k (a - s)) ds``

replaces the realised ``E_a`` in the truth formula: ``E[N(a, b) | H_o] = truth(a) + (x(a) - E_a)(1 - exp(-k
L)) / k``. At step 1 (``a = o``) it equals the truth. Times the recording probability it is the expected
recorded count. It still knows every offence (recorded or not) and the true rates, so it bounds what any model
of recorded counts can reach from above; the share of the naive-to-origin-oracle gap a model closes is the
share of the *attainable* gap.

The true rates and all offences are not stored in :class:`pulsetwin.twin.generate.TwinCity`, so the oracle
works on the :class:`pulsetwin.twin.replay.TwinProcess` of :func:`pulsetwin.twin.replay.replay_twin`, the
twin's public replay of its simulation; the unit tests check that it reproduces the twin's truth table
exactly. For a store, :func:`recover_process` finds the twin's preset and seed in the import source (the
twin's own label, :class:`pulsetwin.twin.source.TwinSource`) and its calendar in the truth's period range,
replays it and keeps it only when it reproduces the stored truth.

Notes
-----
Expected intensity of a Hawkes process with exponential kernel (Hawkes 1971, Biometrika 58(1); Dassios & Zhao
2011, Adv. Appl. Prob. 43(3), for the conditional mean ODE).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from pulsetwin.evaluation.oracle import poisson_rows
from pulsetwin.exceptions import ParameterError, PulsetwinError, bad_parameter
from pulsetwin.models.base import History, Model, check_horizon
from pulsetwin.twin.replay import TwinProcess, check_twin_arguments, replay_twin
from pulsetwin.twin.source import TwinSource

ORIGIN_ORACLE_NAME = "origin_oracle"
TRUTH_RTOL = 1e-9


@dataclass(frozen=True)
class Recovery:
    """The replayed process of a store's twin, or None, with a one-line note on what was done or why not."""

    process: TwinProcess | None
    note: str


def recover_process(
    sources: Iterable[str], truth: pd.DataFrame | None, *, rtol: float = TRUTH_RTOL
) -> Recovery:
    """Replay the twin named by the import ``sources`` of the incidents and truth, if its truth matches.

    Every source must be the same ``twin:<preset>:seed<N>``; the calendar (start year, years) is the span of
    the truth's periods, as :func:`pulsetwin.twin.generate.generate_twin` covers whole calendar years. The
    replay is kept only when its truth equals the stored ``truth`` to ``rtol`` at each frequency ``truth``
    holds (a backtest reads the truth of its own frequency only).
    """
    names = sorted(set(sources))
    twin = TwinSource.parse(names[0]) if len(names) == 1 else None
    if twin is None:
        shown = ", ".join(repr(n) for n in names) or "none"
        return Recovery(
            None,
            "no origin oracle: the incidents and truth must all come from one generated twin "
            f"(source twin:<preset>:seed<N>); their import sources are {shown}.",
        )
    preset, seed = twin.preset, twin.seed
    if truth is None or truth.empty:
        return Recovery(None, f"no origin oracle: {names[0]} has no truth table in this data.")
    years_seen = pd.DatetimeIndex(truth["period_start"]).year
    start_year, years = int(years_seen.min()), int(years_seen.max() - years_seen.min() + 1)
    label = f"twin {preset} seed {seed}, {years} year(s) from {start_year}"
    try:
        check_twin_arguments(preset, seed, years, start_year)
    except PulsetwinError as error:
        return Recovery(None, f"no origin oracle: {label} cannot be replayed ({error})")
    process = replay_twin(preset, seed=seed, years=years, start_year=start_year).process
    mismatch = truth_mismatch(process, truth, rtol=rtol)
    if mismatch is not None:
        return Recovery(
            None, f"no origin oracle: the stored truth is not that of {label} replayed: {mismatch}"
        )
    return Recovery(process, f"origin oracle: {label} replayed; it reproduces the stored truth.")


def truth_mismatch(process: TwinProcess, truth: pd.DataFrame, *, rtol: float = TRUTH_RTOL) -> str | None:
    """How the stored ``truth`` differs from the replayed process's truth (None when it matches to ``rtol``).

    Only the frequencies present in ``truth`` are compared: each must hold the replay's whole grid of it.
    Rows are located on the replay's (period, category, buurt) grid by their keys, so row order is free;
    ``intensity`` and, when present, ``offence_intensity`` are compared.
    """
    if "freq" not in truth.columns:
        return "the truth has no freq column."
    slugs = pd.Index([c.slug for c in process.cats])
    codes = pd.Index(process.codes.astype(str))
    present = {str(value) for value in truth["freq"].unique()}
    unknown = sorted(present - {"W", "M"})
    if unknown:
        return f"truth rows of freq {', '.join(unknown)} are not on the replay's grid."
    grids = {freq: process.periods(freq) for freq in ("W", "M") if freq in present}
    expected_rows = sum(periods.starts.size * slugs.size * codes.size for periods in grids.values())
    if len(truth) != expected_rows:
        return f"{len(truth)} truth rows stored, the replay has {expected_rows}."
    for freq, periods in grids.items():
        rows = truth if len(grids) == 1 else truth[(truth["freq"] == freq).to_numpy(dtype=bool)]
        p = _period_positions(rows["period_start"], periods.starts)
        c = _label_positions(rows["category"], slugs)
        a = _label_positions(rows["area_code"], codes)
        outside = (p < 0) | (c < 0) | (a < 0)
        if outside.any() or len(rows) != periods.starts.size * slugs.size * codes.size:
            return f"{int(outside.sum())} of {len(rows)} {freq} truth rows are not on the replay's grid."
        cell = (
            p * slugs.size + c
        ) * codes.size + a  # the row's place in the flat (period, category, buurt) grid
        del p, c, a, outside
        offence_mean = process.expected_offences(freq)
        replayed = {"offence_intensity": offence_mean, "intensity": offence_mean * process.probabilities}
        for column in [k for k in ("intensity", "offence_intensity") if k in rows.columns]:
            stored = rows[column].to_numpy(dtype=np.float64, na_value=np.nan)
            expected = replayed[column].ravel()[cell]
            bad = ~np.isclose(stored, expected, rtol=rtol, atol=0.0)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                first = rows.iloc[i]
                return (
                    f"{int(bad.sum())} of {len(rows)} {freq} {column} values differ beyond rtol {rtol:g}, e.g. "
                    f"{first['area_code']} {first['category']} {pd.Timestamp(first['period_start']).date()}: "
                    f"stored {stored[i]:.12g}, replayed {expected[i]:.12g}."
                )
    return None


def _label_positions(values: pd.Series, labels: pd.Index) -> np.ndarray:
    """Position of each text value in ``labels`` (-1 when absent); a categorical is looked up per category,
    not per row (a national truth has ~13 M rows)."""
    if not isinstance(values.dtype, pd.CategoricalDtype):
        return labels.get_indexer(pd.Index(values.astype(str)))
    where = np.append(labels.get_indexer(pd.Index(values.cat.categories.astype(str))), -1)
    return where[values.cat.codes.to_numpy()]  # a missing value (code -1) takes the appended -1


def _period_positions(values: pd.Series, starts: pd.DatetimeIndex) -> np.ndarray:
    """Position of each period start in the sorted ``starts`` (-1 when absent)."""
    days = values.to_numpy(dtype="datetime64[ns]")
    grid = starts.to_numpy(dtype="datetime64[ns]")
    pos = np.minimum(np.searchsorted(grid, days), grid.size - 1)
    return np.where(grid[pos] == days, pos, -1)


def origin_expected(
    process: TwinProcess, freq: str, origin: pd.Timestamp, horizon: int, *, recorded: bool = True
) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """``E[N(a, b) | H_origin]`` for the ``horizon`` periods from ``origin``: (period starts, array of shape
    (horizon, categories, buurten)); times the recording probability when ``recorded``."""
    check_horizon(horizon, "origin_expected")
    periods = process.periods(freq)
    first = int(periods.starts.get_indexer(pd.DatetimeIndex([pd.Timestamp(origin)]))[0])
    if first < 0 or first + horizon > periods.starts.size:
        raise ParameterError(
            f"origin {pd.Timestamp(origin).date()} with horizon {horizon} is not inside the twin's "
            f"{freq} periods ({periods.starts[0].date()} .. {periods.starts[-1].date()}). "
            "Fix: choose an origin and horizon within the simulated years."
        )
    truth = process.expected_offences(freq)
    o = float(periods.start_day[first])
    e_origin = process.excitation_at(o)
    out = np.empty((horizon, *process.rates.shape))
    dt = 1.0 / 24.0
    s0_all = np.arange(process.profiles[0].size) * dt
    for j in range(horizon):  # a few target periods, vectorised over categories and buurten
        p = first + j
        a, length = float(periods.start_day[p]), float(periods.end_day[p] - periods.start_day[p])
        e_a = process.excitation_at(a)
        hours = slice(round(o * 24), round(a * 24))
        for c, cat in enumerate(process.cats):
            n, tau = cat.branching, cat.decay_days
            k = (1.0 - n) / tau
            s0 = s0_all[hours]
            weight = (np.exp(-k * (a - s0 - dt)) - np.exp(-k * (a - s0))) / k
            driven = n / tau * float(process.profiles[c][hours] @ weight) * process.rates[c]
            x_a = e_origin[c] * np.exp(-k * (a - o)) + driven
            out[j, c] = truth[p, c] + (x_a - e_a[c]) * (1.0 - np.exp(-k * length)) / k
    if recorded:
        out = out * process.probabilities[None, :, :]
    return periods.starts[first : first + horizon], out


def origin_oracle_frame(process: TwinProcess, freq: str, origin: pd.Timestamp, horizon: int) -> pd.DataFrame:
    """Long frame ``area_code, category, period_start, intensity`` of the origin oracle (recorded counts)."""
    starts, mean = origin_expected(process, freq, origin, horizon)
    n_h, n_c, n_a = mean.shape
    return pd.DataFrame(
        {
            "area_code": np.tile(np.repeat(process.codes.astype(object), n_c), n_h),
            "category": np.tile(np.array([c.slug for c in process.cats], dtype=object), n_h * n_a),
            "period_start": np.repeat(starts.to_numpy(dtype="datetime64[ns]"), n_a * n_c),
            "intensity": mean.transpose(0, 2, 1).ravel(),
        }
    )


class OriginOracle(Model):
    """Forecast ``E[recorded count | every offence before the origin]`` under the twin's true process.

    Like :class:`pulsetwin.evaluation.oracle.Oracle` it reads what no model may, so it lives in evaluation
    only; its quantiles are Poisson (a lower bound on the spread: only its mean is meant for comparison).

    Parameters
    ----------
    process
        The replayed twin process: ``replay_twin(...).process`` (:func:`pulsetwin.twin.replay_twin`).

    Notes
    -----
    Conditional mean of a Hawkes process (see the module docstring); Gneiting & Raftery (2007) for why the
    conditional mean minimises the expected Poisson deviance.
    """

    name: ClassVar[str] = ORIGIN_ORACLE_NAME

    def __init__(self, *, process: TwinProcess) -> None:
        self.process = process

    def fit(self, history: History) -> OriginOracle:
        """Remember the origin, freq and the (area, category) pairs of the history."""
        self.origin_ = pd.Timestamp(history.origin)
        self.freq_ = history.freq
        self.pairs_ = history.incidents[["area_code", "category"]].drop_duplicates()
        return self

    def predict(self, horizon: int, *, run_id: str = "adhoc") -> pd.DataFrame:
        """Origin-oracle rows of the fitted pairs over the ``horizon`` periods from the origin."""
        self._check_fitted()
        check_horizon(horizon, "OriginOracle.predict")
        frame = origin_oracle_frame(self.process, self.freq_, self.origin_, horizon)
        pairs = self.pairs_.astype({"area_code": object, "category": object})
        out = pairs.merge(frame, on=["area_code", "category"], how="inner")
        if len(out) != len(pairs) * horizon:
            raise bad_parameter(
                "process",
                "OriginOracle",
                f"the twin whose incidents were backtested (every pair of the history, {len(pairs)} pairs)",
                f"{len(out) // horizon} pairs matched",
            )
        return poisson_rows(out, run_id=run_id, model=self.name)
