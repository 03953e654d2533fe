"""Neighbour graphs: queen contiguity on a grid, kNN for islands, spatial lags."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from pulsetwin.exceptions import SchemaError
from pulsetwin.features.spatial import neighbour_matrix, spatial_lag


def grid_areas() -> pd.DataFrame:
    boxes = [(f"C{x}_{y}", shapely.box(x, y, x + 100, y + 100)) for x in (0, 100, 200) for y in (0, 100, 200)]
    boxes.append(("C5000_5000", shapely.box(5000, 5000, 5100, 5100)))
    return pd.DataFrame({"area_code": [c for c, _ in boxes], "geometry": [g.wkt for _, g in boxes]})


def test_queen_contiguity_and_island_fallback() -> None:
    areas = grid_areas()
    codes = list(areas["area_code"])
    w = neighbour_matrix(areas, codes, island_k=2)
    degree = np.asarray(w.sum(axis=1)).ravel()
    np.testing.assert_array_equal(degree, [3, 5, 3, 5, 8, 5, 3, 5, 3, 2])
    assert w[codes.index("C100_100"), codes.index("C0_0")] == 1.0
    island = set(np.flatnonzero(w.toarray()[9]))
    assert codes.index("C200_200") in island and island < {
        codes.index(c) for c in ("C200_200", "C200_100", "C100_200")
    }
    assert w.diagonal().sum() == 0


def test_order_follows_codes_and_missing_geometry_is_refused() -> None:
    areas = grid_areas()
    codes = ["C200_200", "C0_0", "C100_100"]
    w = neighbour_matrix(areas, codes)
    np.testing.assert_array_equal(w.toarray(), [[0, 0, 1], [0, 0, 1], [1, 1, 0]])
    with pytest.raises(SchemaError, match="no row for BU0"):
        neighbour_matrix(areas, ["C0_0", "BU0"])


def test_spatial_lag_sums_neighbours_ignoring_missing() -> None:
    areas = grid_areas()
    w = neighbour_matrix(areas, ["C200_200", "C0_0", "C100_100"])
    values = np.array([[1.0, 2.0], [np.nan, 3.0], [4.0, 5.0]])
    np.testing.assert_array_equal(spatial_lag(w, values), [[4, 5], [4, 5], [1, 5]])
