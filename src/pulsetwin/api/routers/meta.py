"""Server health (no login): whether it runs, its version, and whether it is a demo."""

from __future__ import annotations

from fastapi import APIRouter

from pulsetwin import __version__
from pulsetwin.api.deps import SettingsDep
from pulsetwin.api.schemas.responses import HealthOut

router = APIRouter(tags=["meta"])


@router.get("/health")
def health(settings: SettingsDep) -> HealthOut:
    """The server is up."""
    return HealthOut(
        status="ok", version=__version__, demo=settings.demo, background_url=settings.background_url
    )
