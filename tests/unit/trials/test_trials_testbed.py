"""The twin test bed applies exactly the planted effect and displacement to the true intensities."""

from __future__ import annotations

import pandas as pd
import pytest

from pulsetwin.exceptions import StoreError
from pulsetwin.trials.testbed import SOURCE, simulate_trial_outcomes

AREAS = pd.DataFrame({
    "area_code": [f"B{i}" for i in range(6)], "name": "x", "level": "buurt", "parent_code": "W",
    "geometry": [f"POLYGON(({i} 0, {i + 1} 0, {i + 1} 1, {i} 1, {i} 0))" for i in range(6)],
})  # fmt: skip
PERIODS = list(pd.date_range("2024-01-01", periods=4, freq="MS"))


def truth() -> pd.DataFrame:
    grid = pd.MultiIndex.from_product([AREAS["area_code"], ["violence", "theft"], PERIODS],
                                      names=["area_code", "category", "period_start"])  # fmt: skip
    return grid.to_frame(index=False).assign(intensity=2_000.0, freq="M")


def test_effect_in_treated_and_displacement_next_to_them_only() -> None:
    frame = simulate_trial_outcomes(truth(), AREAS, treated=["B1"], units=["B1", "B4"], category="violence",
                                    periods=PERIODS, freq="M", effect=0.5, displacement=0.25, seed=1)  # fmt: skip
    assert set(frame["source"]) == {SOURCE} and len(frame) == 6 * 2 * 4
    totals = frame[frame["category"] == "violence"].groupby("area_code")["count"].sum() / (4 * 2_000.0)
    assert totals["B1"] == pytest.approx(0.5, abs=0.03)
    assert totals[["B0", "B2"]].to_numpy() == pytest.approx([1.25, 1.25], abs=0.04)
    assert totals[["B3", "B4", "B5"]].to_numpy() == pytest.approx([1.0, 1.0, 1.0], abs=0.04)
    theft = frame[frame["category"] == "theft"].groupby("area_code")["count"].sum() / (4 * 2_000.0)
    assert theft.to_numpy() == pytest.approx([1.0] * 6, abs=0.04)


def test_periods_outside_the_truth_are_refused() -> None:
    with pytest.raises(StoreError, match="truth table has no rows for the trial periods"):
        simulate_trial_outcomes(truth(), AREAS, treated=["B1"], units=["B1"], category="violence",
                                periods=[pd.Timestamp("2030-01-01")], freq="M", effect=0.5)  # fmt: skip
