"""The PulseTwin REST API: a FastAPI app factory, one router per resource, auth with roles, and services."""

from pulsetwin.api.app import create_app
from pulsetwin.api.settings import Settings

__all__ = ["Settings", "create_app"]
