"""Stepped wedge (spec, allocation by steps, within-period randomisation test, period-adjusted GLM) and the
simulated power of the design: dispersion measured out of sample, displacement power."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pulsetwin.exceptions import SchemaError
from pulsetwin.models.intervals import MAX_SIZE
from pulsetwin.trials.allocation import Scheme, crossing_periods, draw_wedge
from pulsetwin.trials.displacement import Adjacency
from pulsetwin.trials.estimate import randomisation_p, rate_ratio, ri_statistic
from pulsetwin.trials.power import Dispersion, displacement_power, measure_dispersion, rejection_rate
from pulsetwin.trials.spec import parse_spec

SPEC = {
    "name": "wedge", "hypothesis": "h", "intervention": {"description": "d"}, "eligible": {"top_share": 0.5},
    "design": {"type": "stepped_wedge"}, "outcome": {"category": "violence", "periods": 6},
}  # fmt: skip


def cells(buurten: int, periods: int, expected: float | np.ndarray = 1.0) -> pd.DataFrame:
    """Buurt-period rows sorted by buurt then period, as the design builds them."""
    codes = np.repeat([f"B{i:02d}" for i in range(buurten)], periods)
    return pd.DataFrame({"area_code": codes, "period_start": np.tile(np.arange(periods), buurten),
                         "expected": np.broadcast_to(expected, codes.size).astype(float), "block": codes})  # fmt: skip


def test_the_spec_defaults_to_one_step_per_period_after_the_first_and_refuses_misfits() -> None:
    assert parse_spec(SPEC).design.steps == 5
    assert parse_spec({**SPEC, "design": {"type": "stepped_wedge", "steps": 2}}).design.steps == 2
    with pytest.raises(SchemaError, match=r"design\.steps"):
        parse_spec({**SPEC, "design": {"type": "stepped_wedge", "steps": 6}})
    with pytest.raises(SchemaError, match=r"design\.blocks"):
        parse_spec({**SPEC, "design": {"type": "stepped_wedge", "blocks": ["wijk"]}})
    with pytest.raises(SchemaError, match=r"design\.steps"):
        parse_spec({**SPEC, "design": {"type": "cluster", "steps": 2}})
    with pytest.raises(SchemaError, match=r"outcome\.periods"):
        parse_spec({**SPEC, "outcome": {"category": "violence", "periods": 1}})


def test_crossing_periods_and_the_wedge_shape() -> None:
    assert crossing_periods(6, 5).tolist() == [1, 2, 3, 4, 5]
    assert crossing_periods(6, 2).tolist() == [2, 4]
    units = cells(10, 6)
    scheme = Scheme("stepped_wedge", 0.5, 5, 6)
    treated = scheme.draw(units, np.random.default_rng(3)).reshape(10, 6)
    assert not treated[:, 0].any() and treated[:, -1].all(), "period 0 all control, the last all treated"
    assert (np.diff(treated.astype(int), axis=1) >= 0).all(), "once treated, treated for good"
    assert sorted(treated.sum(axis=1).tolist()) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5], "two buurten per step"
    again = scheme.draw(units, np.random.default_rng(3)).reshape(10, 6)
    assert np.array_equal(treated, again), "the seed fixes the allocation"


def test_draw_wedge_balances_the_forecast_ranks_over_the_sequences() -> None:
    # Ranked by forecast, buurten come in groups of `steps`; each group holds every sequence once.
    totals = np.array([50.0, 1.0, 40.0, 2.0, 30.0, 3.0])
    sequence = draw_wedge(totals, 3, np.random.default_rng(0))
    assert sorted(sequence[[0, 2, 4]]) == [0, 1, 2] and sorted(sequence[[5, 3, 1]]) == [0, 1, 2]


def test_the_within_period_statistic_matches_the_hand_computation() -> None:
    # Two buurten, three periods, two steps crossing at periods 1 and 2: only period 1 holds both arms.
    # B00 treated from period 1 (3 events), B01 control there (7 events), forecast 1 each:
    # log(3.5 / 1) - log(7.5 / 1).
    units = cells(2, 3)
    y = np.array([5.0, 3.0, 4.0, 6.0, 7.0, 2.0])
    treated = np.array([False, True, True, False, False, True])
    periods = Scheme("stepped_wedge", 0.5, 2, 3).period_index(units)
    assert ri_statistic(y, units["expected"], treated, periods)[0] == pytest.approx(np.log(3.5 / 7.5))


def test_the_randomisation_test_on_a_tiny_wedge_matches_the_enumeration() -> None:
    # Three buurten, three periods, two steps: ranks (0, 1) get the two sequences in some order, buurt 2 one of
    # them: four allocations, equally likely. Observed: B00 first (3 + 3 events treated early) is the most
    # extreme of the four together with its mirror, so p = 2 / 4 exactly; the re-draws tend to it.
    units = cells(3, 3)
    scheme = Scheme("stepped_wedge", 0.5, 2, 3)
    periods = scheme.period_index(units)
    draws = scheme.redraw(units, 4000, seed=1)
    unique, counts = np.unique(draws, axis=0, return_counts=True)
    assert len(unique) == 4 and counts.min() > 900
    y = np.array([9.0, 1.0, 1.0, 9.0, 9.0, 1.0, 9.0, 9.0, 1.0])
    observed = unique[np.argmin([ri_statistic(y, units["expected"], u, periods)[0] for u in unique])]
    enumerated = np.abs(ri_statistic(y, units["expected"], unique, periods))
    exact = np.mean(enumerated >= abs(ri_statistic(y, units["expected"], observed, periods)[0]) - 1e-12)
    assert exact == pytest.approx(0.5)
    assert randomisation_p(y, units["expected"], observed, draws, periods) == pytest.approx(exact, abs=0.03)


def test_period_effects_keep_a_trend_the_forecast_missed_out_of_the_rate_ratio() -> None:
    # Truth rises 15 % a period, the forecast is flat; the effect is 0.7. Treated cells are the later ones, so
    # without period effects the trend inflates the ratio; with them the 99 % interval holds 0.7.
    rng = np.random.default_rng(5)
    units = cells(40, 6, 20.0)
    scheme = Scheme("stepped_wedge", 0.5, 5, 6)
    periods = scheme.period_index(units)
    treated = scheme.draw(units, rng)
    y = rng.poisson(20.0 * 1.15**periods * np.where(treated, 0.7, 1.0)).astype(float)
    adjusted = rate_ratio(
        y, units["expected"], treated, units["block"], size=MAX_SIZE, level=0.99, periods=periods
    )
    naive = rate_ratio(y, units["expected"], treated, units["block"], size=MAX_SIZE, level=0.99)
    assert adjusted.lower < 0.7 < adjusted.upper
    assert naive.lower > adjusted.upper
    assert ri_statistic(y, units["expected"], treated, periods)[0] == pytest.approx(np.log(0.7), abs=0.08)


def test_the_wedge_test_holds_its_size_and_finds_a_strong_effect() -> None:
    units = cells(30, 6, 6.0)
    scheme = Scheme("stepped_wedge", 0.5, 5, 6)
    noise = Dispersion(within=20.0, total=5.0, between=8.0, periods=6)
    assert rejection_rate(units, scheme, noise, 1.0, 0.05, 200, seed=2, draws=199) <= 0.09
    assert rejection_rate(units, scheme, noise, 0.6, 0.05, 60, seed=2, draws=199) > 0.8


def test_dispersion_of_iid_poisson_history_shows_no_heterogeneity() -> None:
    # Constant rates, Poisson counts: the rolling mean forecasts the windows without persistent error.
    rng = np.random.default_rng(4)
    history = pd.DataFrame(rng.poisson(np.repeat(rng.uniform(5, 30, 200)[:, None], 24, axis=1)))
    found = measure_dispersion(history, 6)
    assert found.within > 50 and found.total > 20 and found.between > 20
    # A level shift per buurt between halves (a persistent forecast error) shows as between-buurt spread.
    shifted = history * np.where(np.arange(24) >= 12, rng.gamma(4.0, 0.25, 200)[:, None], 1.0)
    assert measure_dispersion(shifted.round(), 6).between < 10


def test_displacement_power_finds_a_clear_rise_and_rarely_a_negligible_one() -> None:
    # An 8 x 8 grid, nine units three cells apart: every buffer cell touches one unit, so the buffers next to
    # treated and next to control units are clean. Poisson counts of 60 before and after: +50 % next to treated
    # units is always found; +1 % about as often as a false positive (one side of a 5 % test).
    n = 8
    codes = [f"B{r}{c}" for r in range(n) for c in range(n)]
    squares = [f"POLYGON(({c} {r}, {c + 1} {r}, {c + 1} {r + 1}, {c} {r + 1}, {c} {r}))" for r in range(n)
               for c in range(n)]  # fmt: skip
    areas = pd.DataFrame(
        {"area_code": codes, "name": "x", "level": "buurt", "parent_code": "W", "geometry": squares}
    )
    unit_codes = [f"B{r}{c}" for r in range(0, n, 3) for c in range(0, n, 3)]
    units = pd.DataFrame({"area_code": unit_codes, "expected": 20.0, "block": "all"})
    adjacency = Adjacency.build(areas, unit_codes)
    scheme = Scheme("cluster", 0.5, None, 6)
    counts = np.full(n * n, 60.0)
    poisson = Dispersion(MAX_SIZE, MAX_SIZE, MAX_SIZE, 6)

    def power(rise: float) -> float:
        return displacement_power(units, scheme, adjacency, counts, counts, poisson, displacement=rise, alpha=0.05,
                                  simulations=100, seed=1, draws=199)  # fmt: skip

    assert power(0.5) >= 0.95
    assert power(0.01) <= 0.1
