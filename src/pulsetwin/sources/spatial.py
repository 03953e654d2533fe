"""Points to areas: reprojection to EPSG:28992 and a point-in-polygon join on an STRtree.

Notes
-----
Sort-Tile-Recursive R-tree packing: Leutenegger, Lopez & Edgington (1997), as implemented by shapely/GEOS.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from pulsetwin.exceptions import Location, SchemaError
from pulsetwin.schema.crs import to_rd
from pulsetwin.schema.geometry import geometry_state

__all__ = ["assign_areas", "to_rd"]


def assign_areas(x: np.ndarray, y: np.ndarray, areas: pd.DataFrame) -> np.ndarray:
    """The ``area_code`` containing each RD point (object array, None outside every area).

    A point on a shared border goes to the smallest code, so the answer does not depend on row order. Areas
    listed by name only (no geometry) cannot hold points: refused, naming the fix.
    """
    if len(areas) and geometry_state(areas.set_index("area_code")["geometry"]) == "none":
        raise SchemaError(
            f"coordinates need area boundaries, but the {len(areas)} areas to place them in carry no geometry "
            "(listed by name only)",
            where=Location(file="areas", column="geometry"),
            fix="import the boundaries (`pulsetwin fetch geometry` or `pulsetwin import areas`), or give the "
            "rows an area code instead of coordinates",
        )
    order = np.argsort(areas["area_code"].to_numpy(dtype=str), kind="stable")
    codes = areas["area_code"].to_numpy(dtype=object)[order]
    polygons = shapely.from_wkt(areas["geometry"].to_numpy(dtype=object)[order])
    tree = shapely.STRtree(polygons)
    points = shapely.points(x, y)
    point_idx, area_idx = tree.query(points, predicate="intersects")
    out = np.full(len(points), None, dtype=object)
    first = np.full(len(points), np.iinfo(np.int64).max)
    np.minimum.at(first, point_idx, area_idx)
    hit = first < np.iinfo(np.int64).max
    out[hit] = codes[first[hit]]
    return out
