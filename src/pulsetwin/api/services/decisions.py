"""Human decisions on a flagged area of a run (accept, reject, annotate) with a mandatory reason, logged."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from pulsetwin.api.errors import not_found
from pulsetwin.api.services.backend import Backend
from pulsetwin.api.services.runs import get_run
from pulsetwin.store.decisions import Decision, insert_decision, next_decision_id, read_decisions
from pulsetwin.store.runs import run_has_area


def list_decisions(
    backend: Backend, run_id: str | None, area_code: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of decisions, newest first, and the total."""
    with backend.session() as store:
        page, total = read_decisions(store, run_id=run_id, area_code=area_code, limit=limit, offset=offset)
    return [asdict(d) for d in page], total


def record_decision(
    backend: Backend, actor: str, run_id: str, area_code: str, action: str, reason: str
) -> dict[str, Any]:
    """Store one decision and its log record in one transaction; 404 when the run has no such area."""
    get_run(backend, run_id)
    at = datetime.now(UTC).replace(tzinfo=None)
    with backend.session() as store, store.transaction():
        if not run_has_area(store, run_id, area_code):
            raise not_found("area in run", f"{run_id}/{area_code}")
        decision_id = next_decision_id(store)
        seq = store.log.next_seq()
        insert_decision(store, Decision(decision_id, at, actor, run_id, area_code, action, reason, seq))
        record = store.log.append(
            actor,
            "decision",
            f"{run_id}/{area_code}",
            {"action": action, "reason": reason, "id": decision_id},
            tables=("decisions",),
        )
        backend.decisions_version += 1
    return asdict(Decision(decision_id, at, actor, run_id, area_code, action, reason, record.seq))
