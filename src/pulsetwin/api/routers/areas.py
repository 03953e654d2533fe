"""Areas as GeoJSON, an area's recorded counts, and its protected attributes (auditors only)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from pulsetwin.api.deps import AnyUser, Auditor, BackendDep
from pulsetwin.api.etag import body_with_etag
from pulsetwin.api.schemas.requests import AreaFilter, HistoryFilter
from pulsetwin.api.schemas.responses import (
    AreaCollection,
    AreaFeature,
    ErrorOut,
    HistoryOut,
    HistoryPoint,
    ProtectedOut,
    ProtectedValue,
)
from pulsetwin.api.services import areas

router = APIRouter(prefix="/areas", tags=["areas"])
AreaCode = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
ERRORS: dict[int | str, dict[str, object]] = {401: {"model": ErrorOut}, 404: {"model": ErrorOut}}


@router.get("", response_model=AreaCollection, responses={**ERRORS, 304: {"description": "Not modified"}})
def list_areas(
    request: Request, query: Annotated[AreaFilter, Query()], backend: BackendDep, user: AnyUser
) -> Response:
    """Areas as a GeoJSON FeatureCollection in RD New (``EPSG:28992``, as stored) or WGS84; ETag-aware."""
    body = areas.area_collection_json(
        backend, query.level, query.crs, query.limit, query.offset, AreaCollection.model_validate
    )
    return body_with_etag(request, body)[0]


@router.get("/{area_code}", responses=ERRORS)
def get_area(
    area_code: AreaCode,
    backend: BackendDep,
    user: AnyUser,
    crs: Annotated[Literal["EPSG:28992", "EPSG:4326"], Query()] = "EPSG:28992",
) -> AreaFeature:
    """One area as a GeoJSON feature."""
    return AreaFeature.model_validate(areas.area_feature(backend, area_code, crs))


@router.get("/{area_code}/history", responses={**ERRORS, 422: {"model": ErrorOut}})
def get_history(
    area_code: AreaCode, query: Annotated[HistoryFilter, Query()], backend: BackendDep, user: AnyUser
) -> HistoryOut:
    """Recorded counts per period (all sources summed; a period with a withheld count is missing). Without
    ``freq`` the store's only frequency is used; a store holding both asks for one (422, with the choices)."""
    freq, points = areas.area_history(backend, area_code, query.freq, query.category)
    return HistoryOut(
        area_code=area_code, freq=freq, category=query.category,
        points=[HistoryPoint.model_validate(p) for p in points],
    )  # fmt: skip


@router.get("/{area_code}/protected", responses={**ERRORS, 403: {"model": ErrorOut}})
def get_protected(area_code: AreaCode, backend: BackendDep, user: Auditor) -> ProtectedOut:
    """Protected attributes of an area: auditors only; every read is logged."""
    values = areas.protected_values(backend, area_code, user.username)
    return ProtectedOut(area_code=area_code, values=[ProtectedValue.model_validate(v) for v in values])
