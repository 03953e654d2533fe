"""Generated documents (reports, audit documents, scenario results) served read-only from one directory."""

from __future__ import annotations

import mimetypes
from datetime import datetime
from pathlib import Path
from typing import Any

from pulsetwin.api.errors import not_found
from pulsetwin.api.services.backend import Backend

SUFFIXES = (".html", ".pdf", ".md", ".json", ".csv", ".txt", ".png", ".svg")


def list_documents(documents: Path | None) -> list[dict[str, Any]]:
    """Every servable file under the documents directory (relative POSIX names, sorted)."""
    if documents is None:
        return []
    files = sorted(p for p in documents.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
    return [
        {
            "name": p.relative_to(documents).as_posix(),
            "size": p.stat().st_size,
            "modified": datetime.fromtimestamp(p.stat().st_mtime),
            "media_type": mimetypes.guess_type(p.name)[0] or "application/octet-stream",
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
