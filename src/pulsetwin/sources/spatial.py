"""Points to areas: reprojection to EPSG:28992 and a point-in-polygon join on an STRtree.

Notes
-----
Sort-Tile-Recursive R-tree packing: Leutenegger, Lopez & Edgington (1997), as implemented by shapely/GEOS.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError as ProjCRSError

from pulsetwin.exceptions import CRSError, Location, SchemaError
from pulsetwin.schema.geometry import geometry_state
from pulsetwin.schema.tables import CRS_EPSG, CRS_NAME


def to_rd(x: np.ndarray, y: np.ndarray, crs: str, *, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates in ``crs`` (x = easting/longitude) as RD New metres; CRSError for an unknown CRS."""
    try:
        source = CRS.from_user_input(crs)
    except ProjCRSError:
        raise CRSError(
            f"{where}: crs {crs!r} is not a known coordinate reference system. Fix: write e.g. "
            f"{CRS_NAME} for RD New metres or EPSG:4326 for longitude/latitude"
        ) from None
    if source.to_epsg() == CRS_EPSG:
        return x.astype("float64"), y.astype("float64")
    transformer = Transformer.from_crs(source, CRS_EPSG, always_xy=True)
    east, north = transformer.transform(x.astype("float64"), y.astype("float64"))
    return np.asarray(east, dtype="float64"), np.asarray(north, dtype="float64")


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
