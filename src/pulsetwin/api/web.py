"""The dashboard: static HTML/JS/CSS from ``pulsetwin/web/static`` and plotly.js from the plotly package.

Everything is served locally: no CDN and, by default, no map tiles, so the dashboard works offline. An
optional background map (setting ``background_url``) is the only outside request, and only when set.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(str(files("pulsetwin.web") / "static"))
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def security_headers(settings: object) -> dict[str, str]:
    """The headers of the dashboard page; images may also come from the background map's host when one is set."""
    url = getattr(settings, "background_url", None)
    if not url:
        return SECURITY_HEADERS
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    policy = SECURITY_HEADERS["Content-Security-Policy"].replace("img-src 'self'", f"img-src 'self' {origin}")
    return {**SECURITY_HEADERS, "Content-Security-Policy": policy}


def plotly_js() -> Path:
    """The minified plotly.js shipped inside the installed plotly package."""
    return Path(str(files("plotly") / "package_data" / "plotly.min.js"))


def mount_web(app: FastAPI) -> None:
    """Serve the dashboard at ``/`` and its assets under ``/static``."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def index(request: Request) -> FileResponse:
        return FileResponse(
            STATIC / "index.html",
            media_type="text/html",
            headers=security_headers(request.app.state.settings),
        )

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly() -> FileResponse:
        return FileResponse(
            plotly_js(), media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"}
        )
