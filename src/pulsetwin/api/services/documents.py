"""Generated documents (reports, audit documents, scenario results) served read-only from one directory."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pulsetwin.api.errors import not_found
from pulsetwin.api.services.backend import Backend

MEDIA_TYPES = {
    ".html": "text/html", ".pdf": "application/pdf", ".md": "text/markdown", ".json": "application/json",
    ".csv": "text/csv", ".txt": "text/plain", ".png": "image/png", ".svg": "image/svg+xml",
}  # fmt: skip
"""What each servable suffix is sent as (fixed here, not guessed per platform), as the OpenAPI declares."""


def list_documents(documents: Path | None) -> list[dict[str, Any]]:
    """Every servable file under the documents directory (relative POSIX names, sorted)."""
    if documents is None:
        return []
    files = sorted(p for p in documents.rglob("*") if p.is_file() and p.suffix.lower() in MEDIA_TYPES)
    return [
        {
            "name": p.relative_to(documents).as_posix(),
            "size": p.stat().st_size,
            "modified": datetime.fromtimestamp(p.stat().st_mtime, UTC),
            "media_type": MEDIA_TYPES[p.suffix.lower()],
        }
        for p in files
    ]


def document_path(backend: Backend, documents: Path | None, name: str, actor: str) -> tuple[Path, str]:
    """The file called ``name`` (only names the listing offers: no path tricks) and its type; logs the export."""
    listed = {d["name"]: d["media_type"] for d in list_documents(documents)}
    if documents is None or name not in listed:
        raise not_found("document", name)
    with backend.session() as store:
        store.log.append(actor, "export", f"document:{name}", {})
    return documents / name, listed[name]
