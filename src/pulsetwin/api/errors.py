"""One error body for every failure: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from pulsetwin.exceptions import (
    ConflictError,
    ParameterError,
    ParameterTypeError,
    PulsetwinError,
    SchemaError,
    StoreBusyError,
)

STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
    451: "withdrawn",
    503: "store_busy",
}
BUSY_RETRY_SECONDS = 5
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


class ApiError(Exception):
    """An error the API answers with on purpose."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.headers = headers or {}


def not_found(what: str, key: str) -> ApiError:
    """404 for an unknown resource."""
    return ApiError(404, "not_found", f"no {what} '{key}'", {what: key})


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """The error payload."""
    return {"error": {"code": code, "message": message, "details": details or {}}}


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at the request's path (Starlette's 405 names only the first route's)."""
    allowed = []
    for method in METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error with the one error body."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
        return JSONResponse(
            error_body(exc.code, exc.message, exc.details), exc.status, headers={**headers, **exc.headers}
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = STATUS_CODES.get(exc.status_code, "error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        return JSONResponse(error_body(code, str(exc.detail)), exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"where": ".".join(str(p) for p in e.get("loc", ())), "problem": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        message = "; ".join(f"{p['where']}: {p['problem']}" for p in problems[:5])
        return JSONResponse(error_body("invalid_request", message, {"problems": problems}), 422)

    @app.exception_handler(PulsetwinError)
    async def _domain_error(request: Request, exc: PulsetwinError) -> JSONResponse:
        if isinstance(exc, StoreBusyError):
            retry = {"Retry-After": str(BUSY_RETRY_SECONDS)}
            return JSONResponse(error_body("store_busy", str(exc)), 503, headers=retry)
        if isinstance(exc, ConflictError):
            return JSONResponse(error_body("conflict", str(exc)), 409)
        if isinstance(exc, SchemaError | ParameterError | ParameterTypeError):
            return JSONResponse(error_body("invalid_request", str(exc)), 422)
        return JSONResponse(error_body("server_error", str(exc)), 500)
