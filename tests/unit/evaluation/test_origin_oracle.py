"""The origin oracle: exact replay of the twin, equality with the truth at step 1, and a closed-form answer."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from pulsetwin.evaluation.origin_oracle import (
    ORIGIN_ORACLE_NAME,
    OriginOracle,
    origin_expected,
    truth_mismatch,
)
from pulsetwin.exceptions import ParameterError
from pulsetwin.models.base import History
from pulsetwin.schema.tables import FORECASTS
from pulsetwin.twin import TwinProcess, generate_twin, replay_twin
from pulsetwin.twin.parameters import CATEGORIES
from pulsetwin.twin.process import Offences, build_timeline

SEED = 11


@pytest.fixture(scope="module")
def twin_and_process() -> tuple[dict[str, pd.DataFrame], TwinProcess]:
    twin = generate_twin("heerlen", seed=SEED, years=1)
    return twin.tables, replay_twin("heerlen", seed=SEED, years=1).process


def _truth_array(truth: pd.DataFrame, process: TwinProcess, starts: pd.DatetimeIndex) -> np.ndarray:
    """The truth table's weekly intensity as (periods, categories, buurten) in the process's order."""
    weekly = truth[(truth["freq"] == "W") & truth["period_start"].isin(starts)]
    wide = weekly.pivot_table(
        index=["period_start", "category"], columns="area_code", values="intensity", observed=True
    )
    wide = wide.reindex(
        pd.MultiIndex.from_product([starts, [c.slug for c in process.cats]]), columns=process.codes
    )
    return wide.to_numpy().reshape(len(starts), len(process.cats), process.codes.size)


def test_replay_reproduces_the_twin_truth(twin_and_process: tuple[dict, TwinProcess]) -> None:
    tables, process = twin_and_process
    replayed = process.expected_offences("W") * process.probabilities[None, :, :]
    assert np.allclose(
        replayed, _truth_array(tables["truth"], process, process.periods("W").starts), rtol=1e-12
    )


def test_step_one_equals_truth_and_later_steps_differ(twin_and_process: tuple[dict, TwinProcess]) -> None:
    tables, process = twin_and_process
    origin = pd.Timestamp("2021-06-07")
    starts, mean = origin_expected(process, "W", origin, 4)
    truth = _truth_array(tables["truth"], process, starts)
    assert np.allclose(mean[0], truth[0], rtol=1e-12)
    assert not np.allclose(mean[1:], truth[1:], rtol=1e-3)
    # conditioning on less information cannot change the expected city total much (law of total expectation)
    assert abs(mean[1:].sum() / truth[1:].sum() - 1.0) < 0.05


def test_closed_form_for_constant_background() -> None:
    """One category, one buurt, constant rate: ``int_a^b mu + x(t) dt`` with ``x`` solving the mean ODE."""
    cat = dataclasses.replace(CATEGORIES[0], branching=0.4, decay_days=3.0)
    timeline = build_timeline(2021, 1)
    rate, n_days = 0.5, timeline.n_days
    t = np.array([100.0, 150.5, 151.25])
    zeros = np.zeros(t.size, dtype=np.int64)
    offences = Offences(zeros, zeros, t, np.zeros(t.size), np.zeros(t.size), zeros)
    process = TwinProcess(
        timeline,
        (cat,),
        np.array([[rate]]),
        (np.ones(n_days * 24),),
        offences,
        np.ones((1, 1)),
        np.array(["B"]),
    )
    origin = pd.Timestamp("2021-05-31")
    _, mean = origin_expected(process, "W", origin, 3)
    n, tau = cat.branching, cat.decay_days
    k = (1.0 - n) / tau
    o = float((origin - timeline.origin).days)
    e_o = float(np.sum(n / tau * np.exp(-(o - t[t < o]) / tau)))
    stationary = n * rate / (1.0 - n)
    for j in range(3):
        a, b = o + 7.0 * j, o + 7.0 * (j + 1)
        decay = (np.exp(-k * (a - o)) - np.exp(-k * (b - o))) / k
        expected = rate * 7.0 + stationary * (7.0 - decay) + e_o * decay
        assert mean[j, 0, 0] == pytest.approx(expected, rel=1e-9)


def test_model_forecasts_every_pair_and_refuses_outside_origins(
    twin_and_process: tuple[dict, TwinProcess],
) -> None:
    tables, process = twin_and_process
    origin = pd.Timestamp("2021-09-06")
    history = History.from_frames(tables, origin=origin, freq="W")
    forecast = OriginOracle(process=process).fit(history).predict(3, run_id="t")
    pairs = history.incidents[["area_code", "category"]].drop_duplicates()
    assert list(forecast.columns) == list(FORECASTS.column_names)
    assert len(forecast) == 3 * len(pairs)
    assert (forecast["model"] == ORIGIN_ORACLE_NAME).all()
    assert (forecast["q05"] <= forecast["q50"]).all() and (forecast["q50"] <= forecast["q95"]).all()
    with pytest.raises(ParameterError, match="not inside"):
        origin_expected(process, "W", pd.Timestamp("2030-01-07"), 2)


@pytest.mark.parametrize("freq", ["W", "M"])
def test_truth_of_one_freq_is_checked_alone(twin_and_process: tuple[dict, TwinProcess], freq: str) -> None:
    """A backtest reads the truth of its own freq only (categorical text): that freq must match in full."""
    tables, process = twin_and_process
    truth = tables["truth"]
    one = truth[truth["freq"] == freq].reset_index(drop=True)
    assert truth_mismatch(process, truth) is None
    assert truth_mismatch(process, one.astype({"area_code": "category", "category": "category"})) is None
    tampered = one.copy()
    tampered.loc[7, "offence_intensity"] *= 1.0 + 1e-6
    assert f"1 of {len(one)} {freq} offence_intensity values differ" in str(truth_mismatch(process, tampered))
    assert "truth rows stored" in str(truth_mismatch(process, one.iloc[1:]))
