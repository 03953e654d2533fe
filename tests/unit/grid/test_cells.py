"""Cell codes, snapping, point assignment and masks on hand-computed grids."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pulsetwin.exceptions import ParameterError, SchemaError
from pulsetwin.grid.cells import (
    build_grid,
    cell_code,
    cells_in_areas,
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
