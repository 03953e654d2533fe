"""Square grids in RD New metres: cell codes ``C<x_min>_<y_min>``, point assignment, masks, cell areas."""

from pulsetwin.grid.cells import (
    Grid,
    area_geometries,
    build_grid,
    cell_code,
    cells_in_areas,
    containing_area,
    mask_events,
    parse_cell_code,
    parse_grid_origin,
    snap_down,
)

__all__ = [
    "Grid",
    "area_geometries",
    "build_grid",
    "cell_code",
    "cells_in_areas",
    "containing_area",
    "mask_events",
    "parse_cell_code",
    "parse_grid_origin",
    "snap_down",
]
