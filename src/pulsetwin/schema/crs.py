"""Declared coordinate reference systems: parse one (refusing unknown codes by file) and reproject to RD New.

A file's coordinates are reprojected to EPSG:28992 only when its CRS is declared (``--crs EPSG:NNNN``, a
mapping's ``area.crs``, a GeoPackage's SRS); without a declaration they are taken as RD New only when they lie
inside the RD New bounds of the Netherlands (checked by the validator), never guessed.
"""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError as ProjCRSError

from pulsetwin.exceptions import CRSError
from pulsetwin.schema.tables import CRS_EPSG, CRS_NAME

WKT_DECIMALS = 3
"""Reprojected geometry is written as WKT rounded to millimetres (RD New metres)."""
CRS_FIX = f"write e.g. {CRS_NAME} for RD New metres or EPSG:4326 for longitude/latitude (x = longitude)"


def parse_crs(crs: str, *, where: str) -> CRS:
    """The CRS named by ``crs`` (``EPSG:4326``, ``epsg:28992``, a WKT or PROJ string).

    Raises
    ------
    CRSError
        When ``crs`` names no known coordinate reference system; the message starts with ``where`` (the file).
    """
    try:
        return CRS.from_user_input(crs)
    except (ProjCRSError, TypeError, ValueError):
        raise CRSError(
            f"{where}: crs {crs!r} is not a known coordinate reference system. Fix: {CRS_FIX}"
        ) from None


def is_rd_new(crs: CRS) -> bool:
    """Whether ``crs`` is EPSG:28992 (RD New)."""
    return crs.to_epsg() == CRS_EPSG


def to_rd(x: np.ndarray, y: np.ndarray, crs: str, *, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates in ``crs`` (x = easting/longitude) as RD New metres; CRSError for an unknown CRS."""
    source = parse_crs(crs, where=where)
    if is_rd_new(source):
        return x.astype("float64"), y.astype("float64")
    transformer = Transformer.from_crs(source, CRS_EPSG, always_xy=True)
    east, north = transformer.transform(x.astype("float64"), y.astype("float64"))
    return np.asarray(east, dtype="float64"), np.asarray(north, dtype="float64")


def geometries_to_rd(geometries: np.ndarray, crs: str, *, where: str) -> np.ndarray:
    """Shapely geometries in ``crs`` reprojected to RD New (x = easting/longitude); None stays None."""
    source = parse_crs(crs, where=where)
    if is_rd_new(source):
        return geometries
    transformer = Transformer.from_crs(source, CRS_EPSG, always_xy=True)

    def project(coords: np.ndarray) -> np.ndarray:
        east, north = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([east, north])

    return np.asarray(shapely.transform(geometries, project), dtype=object)
