"""Human decisions on a flagged area of a run (accept, reject, annotate) with a mandatory reason, logged."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pulsetwin.api.errors import not_found
from pulsetwin.api.services.backend import Backend
from pulsetwin.api.services.runs import get_run

COLUMNS = ("decision_id", "at", "actor", "run_id", "area_code", "action", "reason", "log_seq")
SELECT_LIST = ", ".join(f'"{c}"' for c in COLUMNS)


def list_decisions(
    backend: Backend, run_id: str | None, area_code: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of decisions, newest first, and the total."""
    filters = {k: v for k, v in (("run_id", run_id), ("area_code", area_code)) if v is not None}
    where = f"WHERE {' AND '.join(f'{k} = ?' for k in filters)}" if filters else ""
    params: list[object] = list(filters.values())
    with backend.session():
        total = int(backend.sql(f"SELECT count(*) FROM decisions {where}", params)[0][0])
        rows = backend.sql(
            f"SELECT {SELECT_LIST} FROM decisions {where} ORDER BY decision_id DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows], total


def record_decision(
    backend: Backend, actor: str, run_id: str, area_code: str, action: str, reason: str
) -> dict[str, Any]:
    """Store one decision and its log record in one transaction; 404 when the run has no such area."""
    get_run(backend, run_id)
    at = datetime.now(UTC).replace(tzinfo=None)
    with backend.session() as store, store.transaction():
        known = backend.sql(
            "SELECT count(*) FROM (SELECT 1 FROM forecasts WHERE run_id = ? AND area_code = ? LIMIT 1)",
            [run_id, area_code],
        )[0][0]
        if not known:
            raise not_found("area in run", f"{run_id}/{area_code}")
        decision_id = int(backend.sql("SELECT coalesce(max(decision_id), 0) + 1 FROM decisions")[0][0])
        seq = store.log.next_seq()
        backend.sql(
            "INSERT INTO decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [decision_id, at, actor, run_id, area_code, action, reason, seq],
        )
        record = store.log.append(
            actor,
            "decision",
            f"{run_id}/{area_code}",
            {"action": action, "reason": reason, "id": decision_id},
            tables=("decisions",),
        )
        backend.decisions_version += 1
    return dict(
        zip(COLUMNS, (decision_id, at, actor, run_id, area_code, action, reason, record.seq), strict=True)
    )
