"""Generated documents (reports, audit documents, scenario results): list and download (logged)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import FileResponse

from pulsetwin.api.deps import AnyUser, BackendDep, SettingsDep
from pulsetwin.api.schemas.responses import DocumentOut, ErrorOut
from pulsetwin.api.services import documents

router = APIRouter(prefix="/documents", tags=["documents"])
ERRORS: dict[int | str, dict[str, object]] = {401: {"model": ErrorOut}, 404: {"model": ErrorOut}}
Name = Annotated[str, Path(min_length=1, max_length=512)]


@router.get("", responses=ERRORS)
def list_documents(settings: SettingsDep, user: AnyUser) -> list[DocumentOut]:
    """Every document the server offers."""
    return [DocumentOut.model_validate(d) for d in documents.list_documents(settings.documents)]


@router.get(
    "/{name:path}",
    response_class=FileResponse,
    responses={**ERRORS, 200: {"content": {t: {} for t in sorted(set(documents.MEDIA_TYPES.values()))}}},
)
def get_document(name: Name, backend: BackendDep, settings: SettingsDep, user: AnyUser) -> FileResponse:
    """Download one document (logged as an export)."""
    path, media_type = documents.document_path(backend, settings.documents, name, user.username)
    return FileResponse(path, media_type=media_type, filename=path.name)
