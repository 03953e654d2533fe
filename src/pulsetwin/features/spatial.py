"""Neighbour graphs of areas and spatial lags of area-level values.

Neighbours are queen contiguity (shared edge or corner) among the areas being modelled; an area with no
contiguous neighbour (an island, an enclave of another level, a lone grid cell) gets its ``island_k`` nearest
areas by centroid instead, so every area has someone to borrow strength from. Areas listed by name only (no
geometry) have no neighbours: :func:`has_geometry` tells the callers to leave spatial features out.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
from libpysal.graph import Graph
from scipy import sparse
from scipy.spatial import cKDTree

from pulsetwin.exceptions import Location, SchemaError
from pulsetwin.schema.geometry import geometry_state
from pulsetwin.schema.params import Integer, check_param
from pulsetwin.schema.tables import CRS_NAME


def _geometries(areas: pd.DataFrame, codes: Sequence[str]) -> gpd.GeoSeries:
    """The WKT geometries of ``codes`` in that order, refusing missing or unreadable ones."""
    by_code = areas.drop_duplicates("area_code").set_index("area_code")["geometry"]
    missing = [c for c in codes if c not in by_code.index]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise SchemaError(
            f"every modelled area needs a geometry; no row for {shown}",
            where=Location(file="history.areas", column="area_code"),
            fix="import the areas table for these codes or build the model with spatial=False",
        )
    wkt = by_code.loc[list(codes)]
    empty = wkt.isna().to_numpy()
    if empty.any():
        raise SchemaError(
            "geometry must be WKT text in EPSG:28992",
            where=Location(file="history.areas", column="geometry", value=str(wkt.index[empty][0])),
            fix="import a geometry for this area",
        )
    return gpd.GeoSeries.from_wkt(wkt.to_numpy(), index=pd.Index(list(codes), dtype=object), crs=CRS_NAME)


def has_geometry(areas: pd.DataFrame | None, codes: Sequence[str]) -> bool:
    """False when the areas of ``codes`` are listed by name only (no geometry for any of them), so spatial
    features are left out; True otherwise (missing rows are then refused by :func:`neighbour_matrix`).

    A mix of areas with and without geometry is refused (:func:`pulsetwin.schema.geometry.geometry_state`).
    """
    if areas is None:
        return True
    by_code = areas.drop_duplicates("area_code").set_index("area_code")["geometry"]
    listed = by_code.reindex(pd.Index(list(codes), dtype=object)).dropna()
    if len(listed) < len(codes) or listed.empty:
        return True
    return geometry_state(listed) == "all"


def neighbour_matrix(areas: pd.DataFrame, codes: Sequence[str], *, island_k: int = 3) -> sparse.csr_matrix:
    """Binary neighbour matrix (rows and columns in ``codes`` order): queen contiguity, kNN for islands.

    Notes
    -----
    Queen contiguity via ``libpysal.graph.Graph.build_contiguity`` (Rey & Anselin 2007, PySAL); island rows
    get the ``island_k`` nearest centroids (directed: the island reads its neighbours, they do not read it).
    """
    check_param("island_k", "neighbour_matrix", Integer(low=1), island_k)
    n = len(codes)
    if n == 1:
        return sparse.csr_matrix((1, 1))
    geoms = _geometries(areas, codes)
    graph = Graph.build_contiguity(geoms, rook=False)
    order = pd.Index(graph.unique_ids).get_indexer(pd.Index(list(codes), dtype=object))
    matrix = sparse.csr_matrix(graph.sparse)[order][:, order].astype(np.float64)
    matrix.setdiag(0.0)
    matrix.eliminate_zeros()
    islands = np.flatnonzero(np.diff(matrix.indptr) == 0)
    if islands.size:
        centroids = np.column_stack([geoms.centroid.x.to_numpy(), geoms.centroid.y.to_numpy()])
        k = min(island_k, n - 1)
        _, nearest = cKDTree(centroids).query(centroids[islands], k=k + 1)
        nearest = np.asarray(nearest).reshape(islands.size, k + 1)
        rows = np.repeat(islands, k + 1)
        cols = nearest.ravel()
        keep = rows != cols
        extra = sparse.csr_matrix((np.ones(int(keep.sum())), (rows[keep], cols[keep])), shape=(n, n))
        matrix = (matrix + extra).tocsr()
        matrix.data[:] = 1.0
    return matrix


def spatial_lag(matrix: sparse.csr_matrix, values: np.ndarray) -> np.ndarray:
    """Sum of each area's neighbours' values along axis 0 (NaN counted as 0); same shape as ``values``."""
    flat = np.nan_to_num(values.reshape(values.shape[0], -1), nan=0.0)
    return np.asarray(matrix @ flat).reshape(values.shape)
