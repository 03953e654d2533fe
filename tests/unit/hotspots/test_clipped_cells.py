"""Cells clipped to the study area: PAI/PEI on clipped areas (known answer), clipped map geometry, masks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from pulsetwin.hotspots.backtest import OriginTask, density_scores, evaluate_origin, fraction_key
from pulsetwin.hotspots.forecast import hotspot_map
from pulsetwin.hotspots.prepare import prepare_history

ORIGIN = pd.Timestamp("2022-03-01")
CAT = "burglary_residential"
X0, Y0 = 150_000, 450_000
# The city is 150 m x 100 m: cell A = [0, 100) is whole, cell B = [100, 200) sticks out by half.
CITY = pd.DataFrame(
    {
        "area_code": ["BU00000001"],
        "name": ["Stad"],
        "level": ["buurt"],
        "parent_code": ["WK000000"],
        "geometry": [
            f"POLYGON (({X0} {Y0}, {X0 + 150} {Y0}, {X0 + 150} {Y0 + 100}, {X0} {Y0 + 100}, {X0} {Y0}))"
        ],
    }
)


def _events(a_before: int, b_before: int, a_after: int, b_after: int) -> pd.DataFrame:
    """Events in cell A (x + 50) and B (x + 120), before the origin (day -10) and in the window (day +3)."""
    xs = [X0 + 50.0] * a_before + [X0 + 120.0] * b_before + [X0 + 50.0] * a_after + [X0 + 120.0] * b_after
    days = [-10] * (a_before + b_before) + [3] * (a_after + b_after)
    return pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(len(xs))],
            "category": CAT,
            "occurred_at": (ORIGIN + pd.to_timedelta(days, unit="D")).astype("datetime64[ns]"),
            "x": xs,
            "y": Y0 + 50.0,
            "source": "test",
        }
    )


def _task(events: pd.DataFrame, areas: pd.DataFrame | None, fractions: tuple[float, ...]) -> OriginTask:
    return OriginTask(
        events=events, categories=(CAT,), origin=ORIGIN, window_days=14, cell_m=100, models=("count_all",),
        mask="areas" if areas is not None else "events", grid_origin=(X0, Y0), areas=areas, covariates=None,
        fractions=fractions, seed=0,
    )  # fmt: skip


def test_pai_and_pei_use_the_clipped_area_known_answer() -> None:
    # History: 3 events in A, 2 in B; window: 2 in each. Expected counts 3:2, but B has half the area, so per
    # unit area B (2 / 0.5 = 4) ranks above A (3 / 1). A third of the city's 15 000 m² is exactly B.
    events = _events(3, 2, 2, 2)
    third = 1.0 / 3.0
    result = evaluate_origin(_task(events, CITY, (third, 1.0)))
    assert result["n_cells"] == 2 and result["n_observed"] == 4
    row = result["metrics"]["count_all"][fraction_key(third)]
    assert row["hit_rate"] == pytest.approx(0.5)  # B flagged whole: 2 of 4 events
    assert row["pai"] == pytest.approx(0.5 / third)  # 1.5
    assert row["pei"] == pytest.approx(1.0)  # the ceiling (density 2/5000 > 2/10000) also flags B
    assert result["metrics"]["count_all"]["1"]["pai"] == pytest.approx(1.0)
    # Unclipped (no areas): squares of 10 000 m² each, A ranks first by count and a third of 20 000 m² flags
    # two thirds of A: hit rate 2 * 2/3 / 4 = 1/3, PAI 1.0 -- the full square overstated B's area.
    square = evaluate_origin(_task(events, None, (third,)))["metrics"]["count_all"][fraction_key(third)]
    assert square["hit_rate"] == pytest.approx(1.0 / 3.0) and square["pai"] == pytest.approx(1.0)


def test_prepared_history_reports_the_clipped_areas() -> None:
    prepared = prepare_history(
        _events(3, 2, 0, 0), categories=[CAT], origin=ORIGIN, window_days=14, cell_m=100,
        grid_origin=(X0, Y0), mask="areas", areas=CITY,
    )  # fmt: skip
    history = prepared.history
    np.testing.assert_allclose(history.areas(), [10_000.0, 5_000.0])
    np.testing.assert_allclose(history.area_share(), [1.0, 0.5])
    info = prepared.info
    assert info["clipped_to_areas"] and info["n_cells_clipped"] == 1
    assert info["area_km2"] == pytest.approx(0.015)
    assert prepared.cell_geometry is not None
    assert prepared.cell_geometry[1].equals(shapely.box(X0 + 100, Y0, X0 + 150, Y0 + 100))
    np.testing.assert_array_equal(density_scores(np.array([3.0, 2.0]), history.area_share()), [3.0, 4.0])


def test_map_writes_the_clipped_polygon_and_ranks_by_density() -> None:
    cells, meta = hotspot_map(
        _events(3, 2, 0, 0), categories=CAT, origin=ORIGIN, window_days=14, cell_m=100,
        grid_origin=(X0, Y0), model="count_all", mask="areas", areas=CITY,
    )  # fmt: skip
    assert list(cells["cell_code"]) == [f"C{X0 + 100}_{Y0}", f"C{X0}_{Y0}"]  # B first: more events per m²
    assert list(cells["rank"]) == [1, 2] and list(cells["area_m2"]) == [5_000.0, 10_000.0]
    clipped = shapely.from_wkt(cells["geometry"].iloc[0])
    assert clipped.equals(shapely.box(X0 + 100, Y0, X0 + 150, Y0 + 100))
    assert shapely.from_wkt(cells["geometry"]).tolist()[1].equals(shapely.box(X0, Y0, X0 + 100, Y0 + 100))
    assert meta["clipped_to_areas"] and meta["area_km2"] == pytest.approx(0.015)


def test_event_mask_with_areas_drops_cells_outside_the_study_area() -> None:
    outside = _events(3, 2, 0, 0)
    stray = outside.iloc[:1].assign(event_id="stray", x=X0 + 450.0)  # a cell wholly outside the city
    events = pd.concat([outside, stray], ignore_index=True)
    prepared = prepare_history(
        events, categories=[CAT], origin=ORIGIN, window_days=14, cell_m=100, grid_origin=(X0, Y0),
        mask="events", areas=CITY,
    )  # fmt: skip
    assert prepared.info["n_cells"] == 2 and prepared.info["events_outside_mask"] == 1
    np.testing.assert_allclose(prepared.history.areas(), [10_000.0, 5_000.0])
    bare = prepare_history(
        events, categories=[CAT], origin=ORIGIN, window_days=14, cell_m=100, grid_origin=(X0, Y0)
    )
    assert bare.info["n_cells"] == 3 and not bare.info["clipped_to_areas"] and bare.cell_geometry is None
    np.testing.assert_array_equal(bare.history.area_share(), 1.0)
