"""Runs and their forecasts: pages of rows with intervals, one area's band, and the CSV export (all logged)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from pulsetwin.api.deps import Analyst, AnyUser, BackendDep
from pulsetwin.api.etag import body_with_etag
from pulsetwin.api.schemas.requests import AreaForecastFilter, ForecastFilter, RunFilter
from pulsetwin.api.schemas.responses import (
    AreaForecastOut,
    ErrorOut,
    ForecastPage,
    HotspotsOut,
    Page,
    RunDetail,
    RunOut,
)
from pulsetwin.api.services import forecasts, hotspots, runs

router = APIRouter(tags=["forecasts"])
RunId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")]
AreaCode = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
ERRORS: dict[int | str, dict[str, object]] = {401: {"model": ErrorOut}, 404: {"model": ErrorOut}}
WITHDRAWN: dict[int | str, dict[str, object]] = {
    451: {"model": ErrorOut, "description": "The run's forecasts were withdrawn by an admin."}
}


@router.get("/runs", responses=ERRORS)
def list_runs(query: Annotated[RunFilter, Query()], backend: BackendDep, user: AnyUser) -> Page[RunOut]:
    """Runs, newest first."""
    items, total = runs.list_runs(backend, query.kind, query.limit, query.offset)
    return Page[RunOut](
        items=[RunOut.model_validate(i) for i in items], total=total, limit=query.limit, offset=query.offset
    )


@router.get("/runs/{run_id}", responses=ERRORS)
def get_run(
    run_id: RunId, backend: BackendDep, user: AnyUser, accept_language: Annotated[str | None, Header()] = None
) -> RunDetail:
    """One run with its categories (and their names), periods, data vintage, metrics and, for a forecast run,
    its skill and release status (sentences in the Accept-Language language, Dutch by default)."""
    lang = forecasts.preferred_language(accept_language)
    return RunDetail.model_validate(runs.run_detail(backend, run_id, lang))


@router.get("/hotspots", responses=ERRORS)
def get_hotspots(backend: BackendDep, user: AnyUser) -> HotspotsOut:
    """The latest stored hotspot map of small grid cells (its highest-ranked cells), for a map layer."""
    return HotspotsOut.model_validate(hotspots.latest_hotspots(backend))


@router.get(
    "/forecasts",
    response_model=ForecastPage,
    responses={**ERRORS, **WITHDRAWN, 304: {"description": "Not modified"}},
)
async def list_forecasts(
    request: Request, query: Annotated[ForecastFilter, Query()], backend: BackendDep, user: AnyUser
) -> Response:
    """Forecast rows of a run with their 90 % interval and data vintage; every view is logged."""
    filters: dict[str, object] = {
        k: v for k, v in (("category", query.category), ("period_start", query.period_start),
                          ("area_code", query.area_code)) if v is not None
    }  # fmt: skip
    # a page in memory is answered on the event loop; otherwise a worker thread reads the store
    answer = forecasts.cached_page(backend, query.run_id, filters, query.limit, query.offset)
    if answer is None:
        answer = await run_in_threadpool(
            forecasts.forecast_page_json, backend, user.username, query.run_id, filters, query.limit,
            query.offset, ForecastPage.model_validate,
        )  # fmt: skip
    response, not_modified = body_with_etag(request, answer.body, answer.etag)
    detail = {
        "filters": {k: str(v) for k, v in filters.items()}, "rows": answer.rows, "offset": query.offset,
        "not_modified": not_modified,
    }  # fmt: skip
    forecasts.log_view(backend, user.username, query.run_id, detail)
    return response


@router.get(
    "/forecasts/{run_id}/areas/{area_code}",
    response_model=AreaForecastOut,
    responses={**ERRORS, **WITHDRAWN},
)
async def get_area_forecast(
    run_id: RunId,
    area_code: AreaCode,
    query: Annotated[AreaForecastFilter, Query()],
    backend: BackendDep,
    user: AnyUser,
    accept_language: Annotated[str | None, Header()] = None,
) -> Response:
    """One area's forecast band, its recent record, the explanation and decisions; logged.

    The model's explanation sentence is in the language of the Accept-Language header (nl or en; Dutch by
    default)."""
    lang = forecasts.preferred_language(accept_language)
    body = forecasts.cached_area(backend, run_id, area_code, query.category, lang)
    if body is None:
        body = await run_in_threadpool(
            forecasts.area_forecast_json, backend, user.username, run_id, area_code, query.category, lang,
            AreaForecastOut.model_validate,
        )  # fmt: skip
    forecasts.log_view(backend, user.username, run_id, {"area_code": area_code, "category": query.category})
    return Response(
        body, media_type="application/json", headers={"Content-Language": lang, "Vary": "Accept-Language"}
    )


@router.get(
    "/forecasts/{run_id}/export",
    response_class=Response,
    responses={**ERRORS, **WITHDRAWN, 403: {"model": ErrorOut}, 200: {"content": {"text/csv": {}}}},
)
def export_forecasts(run_id: RunId, backend: BackendDep, user: Analyst) -> Response:
    """All forecast rows of a run as CSV (analysts and admins); logged as an export."""
    text = forecasts.forecasts_csv(backend, user.username, run_id)
    return Response(
        text, media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="forecasts-{run_id}.csv"'},
    )  # fmt: skip
