"""Recency weighting of the area levels: the half-life is chosen on held-out periods, long on a stable city and
short after a lasting shift."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pulsetwin.exceptions import ParameterError
from pulsetwin.models.design import Baseline, fit_baseline
from pulsetwin.models.glm import PoissonGLM
from pulsetwin.models.penalties import HALFLIFE_GRID_YEARS, choose_level_halflife
from pulsetwin.testing.panels import simulate_panel


def panel(shift: float, n_periods: int = 60, seed: int = 0) -> tuple[np.ndarray, list[Baseline]]:
    """Monthly counts of 200 areas x 1 category; from period 36 on half the areas' rates change by ``shift``."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(4.0, 1.0, 200)[:, None] * np.ones(n_periods)
    rate[:100, 36:] *= shift
    counts = rng.poisson(rate)[:, None, :].astype(float)
    area_x = np.ones((200, 1))
    period_x = np.zeros((n_periods, 0))
    return counts, [fit_baseline(counts[:, 0, :], area_x, period_x, ridge=1.0)]


def test_a_lasting_shift_gets_the_shortest_half_life() -> None:
    counts, bases = panel(shift=2.5)
    assert choose_level_halflife(None, counts, bases, freq="M") == HALFLIFE_GRID_YEARS[0] * 12


def test_a_stable_city_keeps_a_long_memory() -> None:
    counts, bases = panel(shift=1.0)
    assert choose_level_halflife(None, counts, bases, freq="M") >= 4 * 12


def test_given_years_are_used_and_a_short_history_weighs_every_year_alike() -> None:
    counts, bases = panel(shift=2.5)
    assert choose_level_halflife(0.5, counts, bases, freq="W") == 26.0
    short, short_bases = panel(shift=1.0, n_periods=10)
    assert math.isinf(choose_level_halflife(None, short, short_bases, freq="M"))


def test_the_glm_records_its_half_life_and_refuses_a_bad_one() -> None:
    sim = simulate_panel(seed=4, side=3, periods=30, freq="M")
    model = PoissonGLM(level_halflife=math.inf).fit(sim.history(28, "M"))
    assert math.isinf(model.level_halflife_)
    with pytest.raises(ParameterError, match="'level_halflife' parameter of PoissonGLM"):
        PoissonGLM(level_halflife=0).fit(sim.history(28, "M"))
