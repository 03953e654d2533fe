"""The app factory: ``create_app(settings)`` opens the store and wires routers, errors, middleware and the
dashboard.

Nothing happens at import time. Outside demo mode a store without users is refused with the fix.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from pulsetwin import __version__
from pulsetwin.api.errors import install_error_handlers
from pulsetwin.api.middleware import BodyLimit, SecurityHeaders
from pulsetwin.api.routers import (
    admin,
    areas,
    audits,
    auth,
    decisions,
    documents,
    evidence,
    forecasts,
    log,
    meta,
    scenarios,
    trials,
)
from pulsetwin.api.schemas.responses import ErrorOut
from pulsetwin.api.services.backend import Backend
from pulsetwin.api.services.users import count_users, ensure_demo_users
from pulsetwin.api.settings import Settings
from pulsetwin.api.throttle import LoginThrottle
from pulsetwin.api.web import mount_web
from pulsetwin.exceptions import ServerConfigError

API_PREFIX = "/api/v1"
ROUTERS = (meta, auth, areas, forecasts, evidence, audits, scenarios, decisions, log, documents, admin,
           trials)  # fmt: skip
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "The body is not UTF-8 JSON."},
    413: {"model": ErrorOut, "description": "The body is over the size limit."},
    503: {"model": ErrorOut, "description": "A CLI command holds the store; try again after Retry-After."},
}


def create_app(settings: Settings) -> FastAPI:
    """Build the API and dashboard for the store in ``settings``.

    In demo mode every role gets a ``demo-<role>`` user with a random password, kept in
    ``app.state.demo_passwords`` for the caller to print once.

    Raises
    ------
    ServerConfigError
        When the store has no users and the server is not in demo mode.
    """
    backend = Backend(settings.db, anchor_file=settings.anchor_file, anchor_key=settings.anchor_key)
    passwords = ensure_demo_users(backend) if settings.demo else {}
    if count_users(backend) == 0:
        backend.close()
        raise ServerConfigError(
            f"the store '{settings.db}' has no users, so nobody could log in. "
            "Fix: add one with 'pulsetwin user add NAME --role admin --db PATH', "
            "or start a demo with 'pulsetwin serve --demo'"
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        backend.close()

    app = FastAPI(
        title="PulseTwin API",
        version=__version__,
        description=(
            "Forecasts of liveability and safety per neighbourhood with their uncertainty, the evidence that "
            "they beat naive baselines, audits, decisions and the tamper-evident log. Places, never persons."
        ),
        lifespan=lifespan,
        docs_url=None,  # Swagger UI and ReDoc load from a CDN: off, the dashboard works offline
        redoc_url=None,
        responses=COMMON_RESPONSES,
    )
    app.state.settings = settings
    app.state.backend = backend
    app.state.demo_passwords = passwords
    app.state.throttle = LoginThrottle(settings.login_limit, settings.login_window)
    install_error_handlers(app)

    for module in ROUTERS:
        app.include_router(module.router, prefix=API_PREFIX)
    mount_web(app)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)  # outermost: also on the body limit's refusals
    return app
