"""The public replay of a twin: round trip with generate_twin, the latent state, and argument checks."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest

from pulsetwin.exceptions import ParameterError, ParameterTypeError
from pulsetwin.twin import TwinCity, generate_twin
from pulsetwin.twin.generate import STEPS as GENERATE_STEPS
from pulsetwin.twin.parameters import CATEGORIES
from pulsetwin.twin.process import Offences, build_timeline
from pulsetwin.twin.replay import STEPS, TwinProcess, TwinReplay, check_twin_arguments, replay_twin


@pytest.fixture(scope="module")
def replay() -> TwinReplay:
    """The replay of the ``city`` fixture (heerlen, 2021-2022, seed 11)."""
    return replay_twin("heerlen", seed=11, years=2)


def _stored(truth: pd.DataFrame, process: TwinProcess, freq: str, column: str) -> np.ndarray:
    """A truth column as (periods, categories, buurten) in the process's order; NaN where no row."""
    rows = truth[truth["freq"] == freq]
    p = process.periods(freq).starts.get_indexer(pd.DatetimeIndex(rows["period_start"]))
    c = pd.Index([cat.slug for cat in process.cats]).get_indexer(pd.Index(rows["category"].astype(str)))
    a = pd.Index(process.codes.astype(str)).get_indexer(pd.Index(rows["area_code"].astype(str)))
    out = np.full((process.periods(freq).starts.size, len(process.cats), process.codes.size), np.nan)
    out[p, c, a] = rows[column].to_numpy(dtype=np.float64)
    return out


@pytest.mark.parametrize("freq", ["W", "M"])
def test_replay_reproduces_the_stored_truth_exactly(city: TwinCity, replay: TwinReplay, freq: str) -> None:
    process = replay.process
    offence_mean = process.expected_offences(freq)
    truth = city.tables["truth"]
    np.testing.assert_array_equal(offence_mean, _stored(truth, process, freq, "offence_intensity"))
    np.testing.assert_array_equal(
        offence_mean * process.probabilities, _stored(truth, process, freq, "intensity")
    )


def test_replay_reproduces_offences_and_latent_state(city: TwinCity, replay: TwinReplay) -> None:
    process = replay.process
    window = process.offences.t >= process.timeline.start_day
    inside = process.offences.take(window)
    stored = city.offences
    assert len(stored) == int(window.sum())
    np.testing.assert_array_equal(stored["recorded"].to_numpy(), replay.recorded[window])
    np.testing.assert_array_equal(stored["generation"].to_numpy(), inside.generation)
    np.testing.assert_array_equal(stored["area_code"].astype(str).to_numpy(), process.codes[inside.area])
    assert int(replay.recorded[window].sum()) == len(city.tables["events"])
    np.testing.assert_array_equal(city.latent["area_code"].to_numpy(), process.codes)
    np.testing.assert_array_equal(city.latent["patrol"].to_numpy(), replay.patrol)
    assert (replay.preset, replay.seed, replay.years, replay.start_year) == ("heerlen", 11, 2, 2021)
    pd.testing.assert_frame_equal(replay.geography.areas, city.tables["areas"], check_exact=True)


def test_offences_before_is_the_history(replay: TwinReplay) -> None:
    process = replay.process
    day = process.day(pd.Timestamp("2021-07-01"))
    history = process.offences_before(day)
    assert day == (pd.Timestamp("2021-07-01") - process.timeline.origin).days
    assert history.t.size == int(np.sum(process.offences.t < day)) > 0
    assert history.t.max() < day <= process.offences.take(process.offences.t >= day).t.min()


def test_each_offence_excites_its_own_cell_by_n_over_tau(replay: TwinReplay) -> None:
    process = replay.process
    off = process.offences
    i = int(np.searchsorted(off.t, process.day(pd.Timestamp("2021-03-01"))))
    t, c, a = float(off.t[i]), int(off.category[i]), int(off.area[i])
    jump = process.excitation_at(np.nextafter(t, np.inf)) - process.excitation_at(t)
    cat = process.cats[c]
    assert jump[c, a] == pytest.approx(cat.branching / cat.decay_days, rel=1e-9)
    jump[c, a] = 0.0
    assert np.abs(jump).max() < 1e-9
    np.testing.assert_array_equal(
        process.intensity_at(t), process.background_at(t) + process.excitation_at(t)
    )


def test_intensity_known_answer() -> None:
    """Two buurten, an hourly profile ``1, 2, 3, ...``, offences in buurt 0 only."""
    cat = dataclasses.replace(CATEGORIES[0], branching=0.5, decay_days=2.0)
    timeline = build_timeline(2021, 1)
    n_hours = timeline.n_days * 24
    t = np.array([10.0, 11.5, 40.0])
    zeros = np.zeros(t.size, dtype=np.int64)
    offences = Offences(zeros, zeros, t, np.zeros(t.size), np.zeros(t.size), zeros)
    rates = np.array([[0.25, 2.0]])
    process = TwinProcess(
        timeline, (cat,), rates, (np.arange(n_hours, dtype=float) + 1.0,), offences, np.ones((1, 2)),
        np.array(["BU1", "BU2"]),
    )  # fmt: skip
    day = 12.0 + 5.5 / 24.0  # hour 293 from the origin
    excitation = 0.5 / 2.0 * (np.exp(-(day - 10.0) / 2.0) + np.exp(-(day - 11.5) / 2.0))
    np.testing.assert_allclose(process.background_at(day), [[0.25 * 294.0, 2.0 * 294.0]], rtol=1e-15)
    np.testing.assert_allclose(process.excitation_at(day), [[excitation, 0.0]], rtol=1e-12)
    np.testing.assert_allclose(
        process.intensity_at(day), [[0.25 * 294.0 + excitation, 2.0 * 294.0]], rtol=1e-12
    )
    assert process.offences_before(40.0).t.tolist() == [10.0, 11.5]


def test_progress_reports_every_step() -> None:
    seen: list[str] = []
    replay_twin("heerlen", seed=1, years=1, progress=seen.append)
    assert tuple(seen) == STEPS
    seen.clear()
    generate_twin("heerlen", seed=1, years=1, progress=seen.append)
    assert tuple(seen) == GENERATE_STEPS == (*STEPS, "tables", "truth")


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        ((3, 1, 1, 2021), ParameterTypeError, "The 'preset' parameter of replay_twin() must be a str. Got 3"),
        (
            ("amsterdam", 1, 1, 2021),
            ParameterError,
            "The 'preset' parameter of replay_twin() must be one of heerlen, nl. Got 'amsterdam' instead.",
        ),
        (
            ("heerlen", -1, 1, 2021),
            ParameterError,
            f"The 'seed' parameter of replay_twin() must be an integer in [0, {2**63 - 1}]. Got -1 instead.",
        ),
        (
            ("heerlen", 1.5, 1, 2021),
            ParameterTypeError,
            f"The 'seed' parameter of replay_twin() must be an integer in [0, {2**63 - 1}]. Got 1.5 instead.",
        ),
        (
            ("heerlen", 1, True, 2021),
            ParameterTypeError,
            "The 'years' parameter of replay_twin() must be an integer in [1, 30]. Got True instead.",
        ),
        (
            ("heerlen", 1, 31, 2021),
            ParameterError,
            "The 'years' parameter of replay_twin() must be an integer in [1, 30]. Got 31 instead.",
        ),
        (
            ("heerlen", 1, 1, 1989),
            ParameterError,
            "The 'start_year' parameter of replay_twin() must be an integer in [1990, 2100]. Got 1989",
        ),
    ],
)
def test_bad_arguments_are_refused_precisely(
    args: tuple[object, object, object, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=re.escape(message)):
        check_twin_arguments(*args)
    preset, seed, years, start_year = args
    with pytest.raises(error, match=re.escape(message)):
        replay_twin(preset, seed=seed, years=years, start_year=start_year)  # type: ignore[arg-type]


def test_numpy_integers_are_accepted_and_the_owner_is_named() -> None:
    check_twin_arguments("nl", np.int64(7), np.int32(2), 2030)
    with pytest.raises(ParameterError, match=re.escape("of generate_twin() must be an integer in [1, 30]")):
        check_twin_arguments("heerlen", 1, 0, 2021, owner="generate_twin()")


def test_process_refuses_bad_freq_and_times(replay: TwinReplay) -> None:
    process = replay.process
    with pytest.raises(ParameterError, match=re.escape("'freq' parameter of TwinProcess.periods() must be")):
        process.periods("Q")
    for day in (-0.5, float(process.timeline.n_days)):
        with pytest.raises(ParameterError, match="outside the simulated time"):
            process.background_at(day)
