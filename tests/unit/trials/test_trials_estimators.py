"""Known answers of the trial estimators: a hand-computed WDQ, an exact randomisation test, blocked allocation."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulsetwin.models.intervals import MAX_SIZE
from pulsetwin.trials.allocation import (
    Scheme,
    allocation_hash,
    build_blocks,
    draw_allocation,
    redraw_allocations,
)
from pulsetwin.trials.displacement import Adjacency, assess_displacement, weighted_displacement_quotient
from pulsetwin.trials.estimate import randomisation_p, rate_ratio, ri_statistic
from pulsetwin.trials.power import Dispersion, rejection_rate


def test_wdq_matches_the_hand_computation() -> None:
    # Treated 100 -> 70, buffer 50 -> 60, control 200 -> 200:
    # success = 70/200 - 100/200 = -0.15; buffer = 60/200 - 50/200 = 0.05; WDQ = 0.05 / -0.15 = -1/3.
    wdq = weighted_displacement_quotient(100, 70, 50, 60, 200, 200)
    assert wdq.success == pytest.approx(-0.15)
    assert wdq.buffer_change == pytest.approx(0.05)
    assert wdq.wdq == pytest.approx(-1 / 3)
    assert "displacement" in wdq.reading()
    # Buffer falls too (50 -> 40 with control 200 -> 250): success 70/250 - 0.5 = -0.22, buffer 0.16 - 0.25
    diffusion = weighted_displacement_quotient(100, 70, 50, 40, 200, 250)
    assert diffusion.wdq == pytest.approx((40 / 250 - 0.25) / (70 / 250 - 0.5))
    assert diffusion.wdq is not None and diffusion.wdq > 0 and "diffusion" in diffusion.reading()


def test_wdq_is_not_interpretable_when_the_treated_area_did_not_improve() -> None:
    wdq = weighted_displacement_quotient(100, 120, 50, 60, 200, 200)
    assert wdq.wdq is None and "not interpretable" in wdq.reading()


def test_randomisation_p_on_a_tiny_design_matches_the_enumeration() -> None:
    # Four buurten, one block, two treated: the 6 allocations. Observed {0, 1} and its mirror {2, 3} give the
    # largest |statistic| log(14.5 / 1.5); the four others are smaller. p = (1 + 2) / (1 + 6) = 3/7.
    y = np.array([8.0, 6.0, 1.0, 0.0])
    expected = np.ones(4)
    treated = np.array([True, True, False, False])
    everything = np.array([[i in pair for i in range(4)] for pair in itertools.combinations(range(4), 2)])
    assert abs(ri_statistic(y, expected, treated)[0]) == pytest.approx(np.log(14.5 / 1.5))
    assert randomisation_p(y, expected, treated, everything) == pytest.approx(3 / 7)
    # The design's own re-drawing visits the same six allocations uniformly: p tends to 2/6.
    redraws = redraw_allocations(pd.Series(["all"] * 4), 0.5, 6000, seed=1)
    counts = pd.Series([tuple(row) for row in redraws]).value_counts()
    assert len(counts) == 6 and counts.min() > 850
    assert randomisation_p(y, expected, treated, redraws) == pytest.approx(1 / 3, abs=0.02)


def test_allocation_is_reproducible_from_the_seed_and_blocked() -> None:
    units = pd.DataFrame({
        "area_code": [f"BU{i:08d}" for i in range(40)],
        "wijk": [f"WK{i % 4:06d}" for i in range(40)],
        "expected": np.linspace(1, 40, 40),
    })  # fmt: skip
    blocks = build_blocks(units, ("wijk", "forecast_decile"))
    assert blocks.value_counts().min() >= 2
    first = draw_allocation(blocks, 0.5, np.random.default_rng(7))
    again = draw_allocation(blocks, 0.5, np.random.default_rng(7))
    other = draw_allocation(blocks, 0.5, np.random.default_rng(8))
    codes = units["area_code"].tolist()
    assert allocation_hash(codes, first) == allocation_hash(codes, again) != allocation_hash(codes, other)
    per_block = pd.Series(first).groupby(blocks.to_numpy()).agg(["sum", "size"])
    assert ((per_block["sum"] - per_block["size"] / 2).abs() <= 0.5).all()


def test_singleton_blocks_are_pooled_within_their_decile() -> None:
    units = pd.DataFrame(
        {"area_code": list("abcdefghij"), "wijk": list("ABCDEFGHIJ"), "expected": np.arange(10.0)}
    )
    blocks = build_blocks(units, ("wijk", "forecast_decile"))
    # Every (wijk, decile) is a singleton, each decile too: all land in one pool.
    assert set(blocks) == {"rest"}
    units["wijk"] = list("AABBCCDDEE")
    assert set(build_blocks(units, ("wijk",))) == {"A", "B", "C", "D", "E"}


def test_rate_ratio_recovers_a_strong_effect_and_the_test_holds_its_size() -> None:
    rng = np.random.default_rng(3)
    expected = rng.uniform(20, 60, 60)
    blocks = pd.Series([f"b{i // 4}" for i in range(60)])
    treated = draw_allocation(blocks, 0.5, rng)
    y = rng.poisson(expected * np.where(treated, 0.6, 1.0)).astype(float)
    estimate = rate_ratio(y, expected, treated, blocks, size=1e6, level=0.9)
    assert estimate.lower < 0.6 < estimate.upper < 0.8
    units = pd.DataFrame({"area_code": [f"B{i}" for i in range(60)], "expected": expected, "block": blocks})
    scheme = Scheme("cluster", 0.5, None, 6)
    noise = Dispersion(within=50.0 / 6, total=50.0, between=MAX_SIZE, periods=6)
    size = rejection_rate(units, scheme, noise, 1.0, 0.05, 300, seed=4, draws=199)
    assert size <= 0.09
    assert rejection_rate(units, scheme, noise, 0.6, 0.05, 100, seed=4, draws=199) > 0.9


def test_wdq_with_a_control_buffer_takes_the_buffer_trend_from_it() -> None:
    # Same as Bowers & Johnson when the control buffer moves like the control area (200 -> 200 vs 80 -> 80).
    plain = weighted_displacement_quotient(100, 70, 50, 60, 200, 200)
    same = weighted_displacement_quotient(100, 70, 50, 60, 200, 200, buffer_control=(80, 80))
    assert same.wdq == pytest.approx(plain.wdq)
    # The control buffer rose 80 -> 96 (+20 %), so the buffer's 50 -> 60 is no excess at all: WDQ 0.
    trend = weighted_displacement_quotient(100, 70, 50, 60, 200, 200, buffer_control=(80, 96))
    assert trend.buffer_change == pytest.approx(0.0) and trend.wdq == pytest.approx(0.0)


def test_displacement_test_finds_a_rise_next_to_treated_buurten_only() -> None:
    # Ten buurten in a row (squares); units 1, 3, 5, 7 (alternating arms); the others are their buffers.
    areas = pd.DataFrame({
        "area_code": [f"B{i}" for i in range(10)], "name": "x", "level": "buurt", "parent_code": "W",
        "geometry": [f"POLYGON(({i} 0, {i + 1} 0, {i + 1} 1, {i} 1, {i} 0))" for i in range(10)],
    })  # fmt: skip
    units = ["B1", "B3", "B5", "B7"]
    adjacency = Adjacency.build(areas, units)
    allocation = np.array([True, False, True, False])
    near_treated, near_control = adjacency.buffers(allocation)
    assert list(adjacency.codes[near_treated[0]]) == ["B0", "B2", "B4", "B6"]
    assert list(adjacency.codes[near_control[0]]) == ["B8"]
    before = pd.Series(10.0, index=adjacency.codes)
    after = before.copy()
    after[["B0", "B2", "B4", "B6"]] = 30.0
    result = assess_displacement(before, after, adjacency, allocation, np.array([allocation, ~allocation]))
    assert result["buffer_log_change"] == pytest.approx(np.log(120.5 / 40.5) - np.log(10.5 / 10.5))
    assert result["buffer"] == ["B0", "B2", "B4", "B6"] and result["control_buffer"] == ["B8"]


@given(
    sizes=st.lists(st.integers(min_value=2, max_value=9), min_size=1, max_size=6),
    share=st.floats(min_value=0.1, max_value=0.9),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
@settings(max_examples=40, deadline=None)
def test_every_block_treats_its_share_rounded_and_the_seed_fixes_the_draw(sizes: list[int], share: float,
                                                                          seed: int) -> None:  # fmt: skip
    blocks = pd.Series([f"b{i}" for i, n in enumerate(sizes) for _ in range(n)])
    first = draw_allocation(blocks, share, np.random.default_rng(seed))
    assert np.array_equal(first, draw_allocation(blocks, share, np.random.default_rng(seed)))
    treated = pd.Series(first).groupby(blocks.to_numpy()).sum()
    floor = np.floor(share * np.array(sizes))
    assert ((treated.to_numpy() == floor) | (treated.to_numpy() == floor + 1)).all()
