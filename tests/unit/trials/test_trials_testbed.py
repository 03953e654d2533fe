"""The twin test bed branches the twin's own process: exactly the planted effect, displacement next to it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pulsetwin.exceptions import ParameterError, StoreError
from pulsetwin.trials.displacement import adjacent_buurten
from pulsetwin.trials.testbed import SOURCE, simulate_counts, simulate_trial_outcomes, trial_edges
from pulsetwin.twin.branch import branch_counts
from pulsetwin.twin.replay import TwinProcess, TwinReplay, replay_twin

PERIODS = list(pd.date_range("2022-07-01", periods=3, freq="MS"))


@pytest.fixture(scope="module")
def replay() -> TwinReplay:
    return replay_twin("heerlen", seed=3, years=2)


@pytest.fixture(scope="module")
def process(replay: TwinReplay) -> TwinProcess:
    return replay.process


def test_no_intervention_reproduces_the_twin_truth_on_average(process: TwinProcess) -> None:
    # Branching with all multipliers one is the twin's own law of the period: the mean recorded count over
    # many branches matches the truth's E[N | history] (which conditions on the realised history per period).
    edges = trial_edges(process, PERIODS, "M")
    ones = np.ones((len(PERIODS), *process.rates.shape))
    rng = np.random.default_rng(0)
    mean = np.mean([branch_counts(process, edges, ones, rng).sum() for _ in range(60)])
    grid = process.periods("M")
    first = grid.starts.get_loc(PERIODS[0])
    truth = (process.expected_offences("M") * process.probabilities)[first : first + len(PERIODS)].sum()
    assert mean == pytest.approx(truth, rel=0.03)


def test_a_zero_effect_silences_exactly_the_treated_cells(process: TwinProcess) -> None:
    # Rate ratio 0: no chain starts in a treated cell, so its count is exactly zero; others run on.
    edges = trial_edges(process, PERIODS, "M")
    treated = np.zeros((len(PERIODS), process.codes.size), dtype=bool)
    treated[1, :10] = True
    none = np.zeros(process.codes.size, dtype=bool)
    counts = simulate_counts(process, edges, "violence", treated, none, 0.0, 0.0, np.random.default_rng(1))
    row = [c.slug for c in process.cats].index("violence")
    assert counts[1, row, :10].sum() == 0
    assert counts[1, row, 10:].sum() > 0 and counts[0, row, :10].sum() > 0


def test_effect_and_displacement_scale_the_expected_counts(replay: TwinReplay, process: TwinProcess) -> None:
    areas = replay.geography.areas
    codes = process.codes.astype(str).tolist()
    units, treated = codes[:20], codes[:20:2]

    def totals(effect: float, displacement: float) -> pd.Series:
        frames = [simulate_trial_outcomes(process, areas, treated=treated, units=units, category="violence",
                                          periods=PERIODS, freq="M", effect=effect, displacement=displacement,
                                          seed=s) for s in range(30)]  # fmt: skip
        frame = pd.concat(frames)
        assert set(frame["source"]) == {SOURCE}
        return frame[frame["category"] == "violence"].groupby("area_code")["count"].sum()

    base, planted = totals(1.0, 0.0), totals(0.5, 1.0)
    assert planted[treated].sum() / base[treated].sum() == pytest.approx(0.5, abs=0.06)
    buffer = adjacent_buurten(areas, treated, units)
    assert planted[buffer].sum() / base[buffer].sum() == pytest.approx(2.0, abs=0.2)
    rest = [c for c in codes if c not in buffer and c not in units]
    assert planted[rest].sum() / base[rest].sum() == pytest.approx(1.0, abs=0.06)


def test_periods_outside_the_twin_and_bad_effects_are_refused(process: TwinProcess) -> None:
    with pytest.raises(StoreError, match="not consecutive M periods of the twin's calendar"):
        trial_edges(process, [pd.Timestamp("2030-01-01")], "M")
    edges = trial_edges(process, PERIODS, "M")
    none = np.zeros((len(PERIODS), process.codes.size), dtype=bool)
    with pytest.raises(ParameterError, match="effect must be >= 0"):
        simulate_counts(process, edges, "violence", none, none[0], -0.5, 0.0, np.random.default_rng(0))
    with pytest.raises(ParameterError, match="no category 'arson'"):
        simulate_counts(process, edges, "arson", none, none[0], 0.5, 0.0, np.random.default_rng(0))
