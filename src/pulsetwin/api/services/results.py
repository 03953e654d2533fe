"""Stored results of audits, feedback-loop studies and scenarios: runs of those kinds, and JSON documents.

A run's payload is its metrics. A document is a JSON file in the documents directory whose name starts with
the kind (``audit*.json``, ``scenario*.json``, ``feedback*.json``), as the CLI commands write them.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pulsetwin.api.errors import not_found
from pulsetwin.api.services.backend import Backend

AUDIT_KINDS = ("audit", "fairness", "proxy", "privacy")
SCENARIO_KINDS = ("scenario", "feedback_loop", "loop", "feedback")
logger = logging.getLogger(__name__)
DOCUMENT_PREFIX = {
    "audits": ("audit", "fairness", "proxy", "privacy"),
    "scenarios": ("scenario", "feedback", "loop"),
}


def _run_results(backend: Backend, kinds: tuple[str, ...]) -> list[dict[str, Any]]:
    """Runs of ``kinds``, newest first, with metrics as payload."""
    with backend.session() as store:
        runs = store.runs()
        runs = runs[runs["kind"].isin(kinds)].iloc[::-1]
        records = [store.get_run(str(run_id)) for run_id in runs["run_id"]]
    return [
        {"result_id": r.run_id, "kind": r.kind, "source": "run", "created_at": r.created_at, "status": r.status,
         "payload": r.metrics}
        for r in records
    ]  # fmt: skip


def _document_results(documents: Path | None, prefixes: tuple[str, ...]) -> list[dict[str, Any]]:
    """JSON documents whose file name starts with one of ``prefixes``; a file that is not UTF-8 JSON is skipped
    with a logged warning, so one bad file does not take the others down."""
    if documents is None:
        return []
    out = []
    for path in sorted(documents.rglob("*.json")):
        if not path.name.startswith(prefixes) or not path.is_file():
            continue
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, OSError) as error:
            logger.warning("skipped document %s: not readable as UTF-8 JSON (%s)", path, error)
            continue
        out.append(
            {
                "result_id": path.relative_to(documents).as_posix(),
                "kind": next(p for p in prefixes if path.name.startswith(p)),
                "source": "document",
                "created_at": datetime.fromtimestamp(path.stat().st_mtime, UTC),
                "status": None,
                "payload": payload if isinstance(payload, dict) else {"items": payload},
            }
        )
    return out


def list_results(
    backend: Backend, documents: Path | None, resource: str, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of results of ``resource`` (``audits`` or ``scenarios``) and the total."""
    kinds = AUDIT_KINDS if resource == "audits" else SCENARIO_KINDS
    results = _run_results(backend, kinds) + _document_results(documents, DOCUMENT_PREFIX[resource])
    return results[offset : offset + limit], len(results)


def get_result(backend: Backend, documents: Path | None, resource: str, result_id: str) -> dict[str, Any]:
    """One result by id; 404 when unknown."""
    results, _ = list_results(backend, documents, resource, 10**9, 0)
    for result in results:
        if result["result_id"] == result_id:
            return result
    raise not_found(resource[:-1], result_id)
