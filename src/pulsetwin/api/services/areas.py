"""Areas as GeoJSON (RD New as stored, or WGS84 via pyproj), an area's recorded counts, protected values."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pydantic import BaseModel
from pyproj import Transformer

from pulsetwin.api.errors import ApiError, not_found
from pulsetwin.api.services.backend import Backend
from pulsetwin.evaluation.frequency import choose_freq, stored_freqs
from pulsetwin.exceptions import ParameterError
from pulsetwin.schema.geometry import empty_geometry
from pulsetwin.schema.periods import Freq
from pulsetwin.schema.tables import CRS_NAME
from pulsetwin.store.protected import read_protected

WGS84 = "EPSG:4326"
DECIMALS = {CRS_NAME: 1, WGS84: 6}


def _features(areas: pd.DataFrame, crs: str) -> tuple[list[dict[str, Any]], list[float] | None]:
    """GeoJSON features (coordinates rounded: 0.1 m in RD, 1e-6 degrees in WGS84) and the bounding box."""
    wkt = areas["geometry"].to_numpy(dtype=object)
    wkt[empty_geometry(areas["geometry"]).to_numpy(dtype=bool)] = None  # areas listed by name only
    geoms = shapely.from_wkt(wkt, on_invalid="raise")
    if crs == WGS84:
        transformer = Transformer.from_crs(CRS_NAME, WGS84, always_xy=True)
        geoms = shapely.transform(
            geoms, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
        )
    geoms = shapely.set_precision(geoms, 10.0 ** -DECIMALS[crs])
    texts = shapely.to_geojson(geoms)
    valid = ~shapely.is_missing(geoms)
    bbox = None if not valid.any() else [round(float(v), DECIMALS[crs]) for v in shapely.total_bounds(geoms)]
    features = [
        {
            "type": "Feature",
            "id": code,
            "properties": {"area_code": code, "name": name, "level": level, "parent_code": parent},
            "geometry": None if text is None else json.loads(text),
        }
        for code, name, level, parent, text in zip(
            areas["area_code"], areas["name"], areas["level"], areas["parent_code"], texts, strict=True
        )
    ]
    return features, bbox


def area_collection(backend: Backend, level: str | None, crs: str, limit: int, offset: int) -> dict[str, Any]:
    """A page of areas as a GeoJSON FeatureCollection with ``total``, ``limit``, ``offset`` and ``crs``."""

    def build() -> tuple[list[dict[str, Any]], list[float] | None]:
        with backend.session() as store:
            areas = store.read("areas", where=None if level is None else {"level": level})
        return _features(areas, crs)  # outside the lock: the geometry work can take a while

    features, bbox = backend.cached(("areas", level, crs), build)
    return {
        "type": "FeatureCollection",
        "crs": crs,
        "bbox": bbox,
        "features": features[offset : offset + limit],
        "total": len(features),
        "limit": limit,
        "offset": offset,
    }


def area_collection_json(
    backend: Backend,
    level: str | None,
    crs: str,
    limit: int,
    offset: int,
    validate: Callable[[dict[str, Any]], BaseModel],
) -> bytes:
    """:func:`area_collection` validated by ``validate`` (the response schema) and serialised, cached."""
    return backend.cached(
        ("areas-json", level, crs, limit, offset),
        lambda: validate(area_collection(backend, level, crs, limit, offset)).model_dump_json().encode(),
    )


def area_feature(backend: Backend, code: str, crs: str) -> dict[str, Any]:
    """One area as a GeoJSON feature; 404 when unknown."""
    with backend.session() as store:
        areas = store.read("areas", where={"area_code": code})
    if areas.empty:
        raise not_found("area", code)
    return _features(areas, crs)[0][0]


def area_history(
    backend: Backend, code: str, freq: str | None, category: str | None
) -> tuple[Freq, list[dict[str, Any]]]:
    """Recorded counts per period of one area (all sources summed; withheld counts stay missing), and the
    frequency they are at: ``freq`` when given, else the store's only one (refused with the choices when it
    holds both, and a given one it does not hold, by :func:`pulsetwin.evaluation.frequency.choose_freq`)."""
    with backend.session() as store:
        if not store.read("areas", where={"area_code": code}).shape[0]:
            raise not_found("area", code)
        present = stored_freqs(store)
        if not present:
            raise ApiError(
                404, "not_found", "the store holds no incidents. Fix: import incidents first", {"area": code}
            )
        try:
            chosen = choose_freq(freq, present, command=f"GET /api/v1/areas/{code}/history", option="?freq=")
        except ParameterError as error:
            raise ApiError(422, "invalid_request", str(error), {"freq_choices": list(present)}) from error
        where: dict[str, object] = {"area_code": code, "freq": chosen}
        if category is not None:
            where["category"] = category
        incidents = store.read("incidents", where=where)
    return chosen, history_points(incidents)


def period_totals(incidents: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Counts summed (over sources) per ``by`` columns and period, sorted; a period with any withheld count
    is missing (NA) rather than undercounted."""
    grouped = incidents.groupby([*by, "period_start"])["count"]
    totals = grouped.sum(min_count=1).where(grouped.count() == grouped.size())
    return totals.rename("count").reset_index()


def history_points(incidents: pd.DataFrame) -> list[dict[str, Any]]:
    """Counts summed per period (see :func:`period_totals`) as points."""
    if incidents.empty:
        return []
    return points(period_totals(incidents, []))


def points(totals: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of :func:`period_totals` as ``{"period_start", "count"}`` points."""
    return [
        {"period_start": pd.Timestamp(p).date(), "count": None if pd.isna(c) else int(c)}
        for p, c in zip(totals["period_start"], totals["count"], strict=True)
    ]


def protected_values(backend: Backend, code: str, actor: str) -> list[dict[str, Any]]:
    """The protected attributes of one area, read through the audit accessor (which logs the read)."""
    with backend.session() as store:
        if not store.read("areas", where={"area_code": code}).shape[0]:
            raise not_found("area", code)
        frame = read_protected(store, actor=actor, where={"area_code": code})
    return [
        {"year": int(y), "attribute": str(a), "value": float(v)}
        for y, a, v in zip(frame["year"], frame["attribute"], frame["value"], strict=True)
    ]
