"""Hit rate, PAI and PEI against hand-computed answers, with ties, partial cells and unequal areas."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from pulsetwin.exceptions import ParameterError
from pulsetwin.metrics.hotspots import (
    ceiling_hit_rate,
    flagged_share,
    hit_rate,
    hotspot_table,
    pai,
    pei,
)

SCORES = np.array([0.1, 0.9, 0.5, 0.2, 0.0, 0.3, 0.4, 0.8, 0.6, 0.7])
OBSERVED = np.array([4.0, 1.0, 0.0, 0.0, 0.0, 2.0, 0.0, 3.0, 0.0, 0.0])  # 10 events


def test_top_tenth_of_ten_cells_is_the_single_highest_score() -> None:
    # Cell 1 (score 0.9) is flagged; it holds 1 of 10 events.
    assert hit_rate(SCORES, OBSERVED, fraction=0.1) == pytest.approx(0.1)
    assert pai(SCORES, OBSERVED, fraction=0.1) == pytest.approx(1.0)
    # The ceiling flags cell 0 (4 events): PEI = 0.1 / 0.4.
    assert ceiling_hit_rate(OBSERVED, fraction=0.1) == pytest.approx(0.4)
    assert pei(SCORES, OBSERVED, fraction=0.1) == pytest.approx(0.25)


def test_top_fifth_adds_the_second_highest() -> None:
    # Cells 1 and 7: 1 + 3 = 4 of 10 events; PAI 0.4 / 0.2 = 2; ceiling cells 0 and 7 = 7 events.
    assert hit_rate(SCORES, OBSERVED, fraction=0.2) == pytest.approx(0.4)
    assert pai(SCORES, OBSERVED, fraction=0.2) == pytest.approx(2.0)
    assert pei(SCORES, OBSERVED, fraction=0.2) == pytest.approx(0.4 / 0.7)


def test_ties_are_broken_by_cell_order() -> None:
    scores = np.zeros(4)
    observed = np.array([0.0, 0.0, 0.0, 8.0])
    # All tied: the first cell in order is flagged, which holds nothing.
    assert hit_rate(scores, observed, fraction=0.25) == 0.0
    assert hit_rate(scores, observed[::-1], fraction=0.25) == 1.0
    np.testing.assert_array_equal(flagged_share(scores, fraction=0.5), [1.0, 1.0, 0.0, 0.0])


def test_partial_last_cell_contributes_its_share_of_area_and_events() -> None:
    scores = np.array([3.0, 2.0, 1.0, 0.0])
    observed = np.array([2.0, 4.0, 2.0, 2.0])
    # Budget 0.3 * 4 = 1.2 cells: cell 0 fully (2 events), 0.2 of cell 1 (0.8 events) -> 2.8 / 10.
    assert hit_rate(scores, observed, fraction=0.3) == pytest.approx(0.28)
    assert pai(scores, observed, fraction=0.3) == pytest.approx(0.28 / 0.3)
    np.testing.assert_allclose(flagged_share(scores, fraction=0.3), [1.0, 0.2, 0.0, 0.0])


def test_unequal_areas_flag_by_area_and_ceiling_ranks_by_density() -> None:
    scores = np.array([2.0, 1.0, 0.0])
    observed = np.array([3.0, 1.0, 6.0])
    area = np.array([2.0, 1.0, 1.0])
    # Budget 0.5 * 4 = 2 area units: exactly cell 0 -> 3 of 10 events, PAI 0.3 / 0.5.
    assert hit_rate(scores, observed, fraction=0.5, cell_area=area) == pytest.approx(0.3)
    assert pai(scores, observed, fraction=0.5, cell_area=area) == pytest.approx(0.6)
    # Densities 1.5, 1, 6: the ceiling flags cell 2 (6) then half of cell 0 (1.5) -> 0.75.
    assert ceiling_hit_rate(observed, fraction=0.5, cell_area=area) == pytest.approx(0.75)
    assert pei(scores, observed, fraction=0.5, cell_area=area) == pytest.approx(0.3 / 0.75)


def test_no_observed_events_gives_nan() -> None:
    assert np.isnan(hit_rate(SCORES, np.zeros(10), fraction=0.1))
    assert np.isnan(hotspot_table(SCORES, np.zeros(10))[0.05]["pei"])


def test_table_matches_the_single_metrics() -> None:
    table = hotspot_table(SCORES, OBSERVED, fractions=(0.1, 0.2))
    for fraction, row in table.items():
        assert row["hit_rate"] == pytest.approx(hit_rate(SCORES, OBSERVED, fraction=fraction))
        assert row["pai"] == pytest.approx(pai(SCORES, OBSERVED, fraction=fraction))
        assert row["pei"] == pytest.approx(pei(SCORES, OBSERVED, fraction=fraction))
        assert row["ceiling_pai"] == pytest.approx(row["ceiling_hit_rate"] / fraction)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"scores": np.ones(3), "observed": np.ones(4), "fraction": 0.1}, "scores"),
        ({"scores": np.ones(3), "observed": -np.ones(3), "fraction": 0.1}, "observed"),
        ({"scores": np.ones(3), "observed": np.ones(3), "fraction": 0.0}, "fraction"),
        ({"scores": np.ones(3), "observed": np.ones(3), "fraction": 1.5}, "fraction"),
        ({"scores": np.array([1.0, np.nan, 0]), "observed": np.ones(3), "fraction": 0.5}, "scores"),
        (
            {"scores": np.ones(3), "observed": np.ones(3), "fraction": 0.5, "cell_area": np.zeros(3)},
            "cell_area",
        ),
    ],
)
def test_bad_input_is_refused(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        hit_rate(**kwargs)  # type: ignore[arg-type]


counts = arrays(np.float64, st.integers(1, 40), elements=st.integers(0, 9).map(float))


@settings(max_examples=60, deadline=None)
@given(observed=counts, fraction=st.floats(0.01, 1.0), seed=st.integers(0, 1000))
def test_hit_rate_never_exceeds_the_ceiling_and_full_area_captures_all(
    observed: np.ndarray, fraction: float, seed: int
) -> None:
    scores = np.random.default_rng(seed).random(observed.size)
    if observed.sum() == 0:
        return
    hr = hit_rate(scores, observed, fraction=fraction)
    assert 0.0 <= hr <= ceiling_hit_rate(observed, fraction=fraction) + 1e-12
    assert pei(observed, observed, fraction=fraction) == pytest.approx(1.0)
    assert hit_rate(scores, observed, fraction=1.0) == pytest.approx(1.0)
