"""Hotspot maps: output shape, calibration, the grid origin, masks, the best model (the per-model contract is
check_model in tests/contract)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pulsetwin.exceptions import ParameterError
from pulsetwin.hotspots import OUTPUT_COLUMNS, hotspot_map, make_model
from pulsetwin.hotspots.prepare import prepare_history
from pulsetwin.hotspots.simulate import simulate_drifting_city

ORIGIN = pd.Timestamp("2021-10-01")
CATEGORY = "burglary_residential"


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return simulate_drifting_city(seed=3, days=300, events_per_year=3_000.0, size_m=4_000.0)


def _map(events: pd.DataFrame, model: str, **kwargs: object) -> tuple[pd.DataFrame, dict[str, object]]:
    return hotspot_map(
        events, categories=CATEGORY, origin=ORIGIN, window_days=14, cell_m=100, model=model, **kwargs
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "model", ["count_365", "count_8w", "count_all", "kde", "prospective", "etas", "learned"]
)
def test_map_columns_ranks_and_calibration(events: pd.DataFrame, model: str) -> None:
    cells, meta = _map(events, model)
    assert tuple(cells.columns) == OUTPUT_COLUMNS
    assert list(cells["rank"]) == list(range(1, len(cells) + 1))
    assert cells["mean"].is_monotonic_decreasing and (cells["mean"] >= 0).all()
    assert cells["mean"].sum() == pytest.approx(meta["expected_total"])
    assert meta["n_cells"] == len(cells) and meta["mask"] == "events"
    assert cells["cell_code"].str.fullmatch(r"C\d+_\d+").all()


def test_grid_origin_puts_a_point_in_the_hand_computed_cell(events: pd.DataFrame) -> None:
    lone = pd.DataFrame(
        {
            "event_id": ["lone"] * 1,
            "category": ["arson"],
            "occurred_at": pd.to_datetime(["2021-09-01"]).astype("datetime64[ns]"),
            "x": [149_263.0],
            "y": [448_771.0],
            "source": "test",
        }
    )
    cells, meta = hotspot_map(
        pd.concat([events, lone], ignore_index=True),
        categories="arson,burglary_residential",
        origin=ORIGIN,
        window_days=14,
        cell_m=100,
        grid_origin=(149_013, 448_521),
        model="count_all",
    )
    # (149263 - 149013) // 100 = 2 -> x_min 149213; (448771 - 448521) // 100 = 2 -> y_min 448721.
    row = cells.set_index("cell_code").loc["C149213_448721"]
    assert row["x_min"] == 149_213 and row["y_min"] == 448_721 and row["mean"] > 0
    assert meta["grid"]["pinned"] is True  # type: ignore[index]


def test_area_mask_keeps_only_cells_in_areas_and_says_so(events: pd.DataFrame) -> None:
    areas = pd.DataFrame(
        {
            "area_code": ["BU00000001"],
            "name": ["Square"],
            "level": ["buurt"],
            "parent_code": ["WK000000"],
            "geometry": [
                "POLYGON ((151000 451000, 152000 451000, 152000 452000, 151000 452000, 151000 451000))"
            ],
        }
    )
    covariates = pd.DataFrame(
        {"area_code": ["BU00000001"], "year": [2020], "variable": ["inwoners"], "value": [900.0]}
    )
    cells, meta = _map(events, "learned", mask="areas", areas=areas, covariates=covariates)
    assert meta["mask"] == "areas" and meta["n_cells"] == 100 == len(cells)
    assert meta["covariates"] == ["inwoners"]
    assert cells["x_min"].between(151_000, 151_900).all() and cells["y_min"].between(451_000, 451_900).all()
    # the square is aligned with the 100 m lattice: no cell is clipped, cells that only touch it are dropped
    assert (cells["area_m2"] == 100.0**2).all() and meta["n_cells_clipped"] == 0
    assert meta["area_km2"] == pytest.approx(1.0)


def test_best_names_the_chosen_model_and_why(events: pd.DataFrame) -> None:
    _cells, meta = _map(events, "best")
    selection = meta["selection"]
    assert meta["model"] in selection["pai_at_5pct"]  # type: ignore[index]
    assert meta["model"] in selection["reason"]  # type: ignore[index]
    assert all(o < str(ORIGIN.date()) for o in selection["origins"])  # type: ignore[index]
    per_origin = selection["pai_at_5pct_per_origin"]  # type: ignore[index]
    for model, values in per_origin.items():
        assert len(values) == len(selection["origins"])  # type: ignore[index]
        assert np.mean(values) == pytest.approx(selection["pai_at_5pct"][model])  # type: ignore[index]


def test_count_baseline_ranks_by_count_with_ties_in_cell_order(events: pd.DataFrame) -> None:
    prepared = prepare_history(events, categories=[CATEGORY], origin=ORIGIN, window_days=14, cell_m=100)
    history = prepared.history
    mean = make_model("count_all").fit(history).predict()
    counts = history.counts(None)
    np.testing.assert_allclose(mean, counts / counts.sum() * mean.sum())
    cells, _ = _map(events, "count_all")
    tied = cells[cells["mean"] == cells["mean"].iloc[-1]]
    assert list(zip(tied["y_min"], tied["x_min"], strict=True)) == sorted(
        zip(tied["y_min"], tied["x_min"], strict=True)
    )


def test_unknown_category_and_model_are_refused(events: pd.DataFrame) -> None:
    with pytest.raises(ParameterError, match="Categories with events"):
        hotspot_map(events, categories="robbery", origin=ORIGIN, window_days=14, cell_m=100, model="kde")
    with pytest.raises(ParameterError, match="'model'"):
        _map(events, "oracle")
