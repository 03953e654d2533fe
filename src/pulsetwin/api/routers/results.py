"""Shared route bodies of the audits and scenarios routers (both list stored results)."""

from __future__ import annotations

from pulsetwin.api.schemas.responses import Page, ResultOut
from pulsetwin.api.services import results
from pulsetwin.api.services.backend import Backend
from pulsetwin.api.settings import Settings


def result_page(
    backend: Backend, settings: Settings, resource: str, limit: int, offset: int
) -> Page[ResultOut]:
    """A page of results of ``resource``."""
    items, total = results.list_results(backend, settings.documents, resource, limit, offset)
    return Page[ResultOut](
        items=[ResultOut.model_validate(i) for i in items], total=total, limit=limit, offset=offset
    )


def one_result(backend: Backend, settings: Settings, resource: str, result_id: str) -> ResultOut:
    """One result of ``resource``."""
    return ResultOut.model_validate(results.get_result(backend, settings.documents, resource, result_id))
