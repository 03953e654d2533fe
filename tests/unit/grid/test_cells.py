"""Cell codes, snapping, point assignment and masks on hand-computed grids."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from pulsetwin.exceptions import ParameterError, SchemaError
from pulsetwin.grid.cells import (
    area_at,
    build_grid,
    cell_code,
    cells_in_areas,
    cells_over_areas,
    clip_cells,
    containing_area,
    mask_events,
    parse_cell_code,
    parse_grid_origin,
    snap_down,
)


def test_snap_down_floors_to_the_cell_size_also_below_zero() -> None:
    np.testing.assert_array_equal(
        snap_down(np.array([155_049.9, 100.0, -0.5, -100.0]), 100), [155_000, 100, -100, -100]
    )


def test_codes_round_trip() -> None:
    codes = cell_code(np.array([155_000, -200]), np.array([463_100, 0]))
    assert list(codes) == ["C155000_463100", "C-200_0"]
    assert parse_cell_code("C155000_463100") == (155_000, 463_100)
    with pytest.raises(SchemaError, match="C<x_min>_<y_min>"):
        parse_cell_code("155000_463100")


def test_pinned_origin_puts_points_in_the_hand_computed_cells() -> None:
    grid = build_grid(
        np.array([155_250.5, 155_300.0]), np.array([463_099.9, 463_100.0]), 100, origin=(155_010, 463_000)
    )
    codes = grid.codes(
        grid.locate(np.array([155_250.5, 155_300.0, 155_009.0]), np.array([463_099.9, 463_100.0, 463_050.0]))
    )
    # 155250.5 - 155010 = 240.5 -> third column starts at 155210; a point on a lower edge belongs to that cell.
    assert codes[0] == "C155210_463000"
    assert codes[1] == "C155210_463100"
    assert grid.locate(np.array([155_009.0]), np.array([463_050.0]))[0] == -1  # left of the pinned origin


def test_default_origin_is_the_snapped_lower_left_of_the_points() -> None:
    grid = build_grid(np.array([1_050.0, 1_420.0]), np.array([2_210.0, 2_001.0]), 200)
    assert (grid.x0, grid.y0, grid.nx, grid.ny) == (1_000, 2_000, 3, 2)
    np.testing.assert_array_equal(
        mask_events(grid, np.array([1_050.0, 1_420.0, 1_060.0]), np.array([2_210.0, 2_001.0, 2_220.0])),
        [2, 3],
    )


@pytest.mark.parametrize("cell", [0, -5, 10.5, True])
def test_bad_cell_sizes_are_refused(cell: float) -> None:
    with pytest.raises(ParameterError, match="cell_m"):
        build_grid(np.array([0.0]), np.array([0.0]), cell)


def test_a_lattice_too_large_for_memory_is_refused() -> None:
    with pytest.raises(ParameterError, match="larger --cell"):
        build_grid(np.array([0.0, 300_000.0]), np.array([300_000.0, 625_000.0]), 10)


@pytest.mark.parametrize("text", ["1,2,3", "a,b", "10.5,3"])
def test_bad_grid_origins_are_refused(text: str) -> None:
    with pytest.raises(ParameterError, match="grid_origin"):
        parse_grid_origin(text)


def test_area_mask_keeps_cells_whose_centre_is_inside() -> None:
    grid = build_grid(np.array([0.0, 399.0]), np.array([0.0, 399.0]), 100)
    areas = pd.DataFrame(
        {
            "area_code": ["BU00000001", "BU00000002"],
            "geometry": [
                "POLYGON ((0 0, 160 0, 160 160, 0 160, 0 0))",
                "POLYGON ((300 300, 400 300, 400 400, 300 400, 300 300))",
            ],
        }
    )
    kept = cells_in_areas(grid, areas)
    # Centres (50,50), (150,50), (50,150), (150,150) lie in the first square, (350,350) in the second.
    np.testing.assert_array_equal(kept, [0, 1, 4, 5, 15])
    assert list(containing_area(grid, np.array([0, 15, 2]), areas)) == ["BU00000001", "BU00000002", None]


def test_unreadable_area_geometry_names_the_row() -> None:
    grid = build_grid(np.array([0.0]), np.array([0.0]), 100)
    areas = pd.DataFrame(
        {"area_code": ["BU1", "BU2"], "geometry": ["POLYGON ((0 0, 1 0, 1 1, 0 0))", "POLYGON (("]}
    )
    with pytest.raises(SchemaError, match="row 2"):
        cells_in_areas(grid, areas)


def _areas(*wkt: str) -> pd.DataFrame:
    return pd.DataFrame({"area_code": [f"BU{i:08d}" for i in range(len(wkt))], "geometry": list(wkt)})


def test_a_cell_half_outside_a_square_city_has_half_the_area() -> None:
    # City 0..250 x 0..250 on a 100 m lattice from (0, 0): column and row 2 stick out by half a cell.
    grid = build_grid(np.array([0.0, 399.0]), np.array([0.0, 399.0]), 100, origin=(0, 0))
    city = _areas("POLYGON ((0 0, 250 0, 250 250, 0 250, 0 0))")
    flat, area, geometry = cells_over_areas(grid, city)
    np.testing.assert_array_equal(flat, [0, 1, 2, 4, 5, 6, 8, 9, 10])  # cells from x or y 300 are dropped
    expected = {0: 1e4, 1: 1e4, 2: 5e3, 4: 1e4, 5: 1e4, 6: 5e3, 8: 5e3, 9: 5e3, 10: 2.5e3}
    np.testing.assert_allclose(area, [expected[int(f)] for f in flat])
    assert area.sum() == pytest.approx(250.0 * 250.0)  # the clipped cells tile the city exactly
    half = geometry[list(flat).index(2)]
    assert half.equals(shapely.box(200, 0, 250, 100))
    assert geometry[0].equals(shapely.box(0, 0, 100, 100))
    # cells wholly inside keep their exact square area; cells that only touch the city's edge are not kept
    assert area[0] == 100.0**2 and 3 not in flat and 12 not in flat


def test_clipping_removes_water_left_out_of_the_polygons() -> None:
    grid = build_grid(np.array([0.0]), np.array([0.0]), 100, origin=(0, 0), bounds=(0, 0, 199, 99))
    # two buurten with a 20 m wide canal between them running through cell 0
    city = _areas(
        "POLYGON ((0 0, 40 0, 40 100, 0 100, 0 0))", "POLYGON ((60 0, 200 0, 200 100, 60 100, 60 0))"
    )
    flat, area, _ = cells_over_areas(grid, city)
    np.testing.assert_array_equal(flat, [0, 1])
    np.testing.assert_allclose(area, [80.0 * 100.0, 100.0 * 100.0])
    outside, geometry = clip_cells(grid, np.array([0, 1]), shapely.box(500, 500, 600, 600))
    assert (outside == 0).all() and shapely.is_empty(geometry).all()
    assert cells_over_areas(grid, city.iloc[:0])[0].size == 0


def test_area_at_names_the_polygon_holding_each_point() -> None:
    city = _areas("POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0))", "POLYGON ((10 0, 20 0, 20 10, 10 10, 10 0))")
    codes = area_at(np.array([5.0, 15.0, 10.0, 30.0]), np.array([5.0, 5.0, 5.0, 5.0]), city)
    assert list(codes) == ["BU00000000", "BU00000001", "BU00000000", None]  # shared edge: first by area order
