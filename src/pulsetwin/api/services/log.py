"""The hash-chained log: pages of records (newest first) and verification of the chain."""

from __future__ import annotations

import json
from typing import Any

from pulsetwin.api.services.backend import Backend
from pulsetwin.store.digest import DIGESTS_KEY

COLUMNS = ("seq", "at", "actor", "action", "subject", "detail_json", "prev_hash", "hash")
SELECT_LIST = ", ".join(f'"{c}"' for c in COLUMNS)


def log_page(
    backend: Backend, action: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of log records, newest first, and the total."""
    where, params = ("WHERE action = ?", [action]) if action is not None else ("", [])
    with backend.session():
        total = int(backend.sql(f"SELECT count(*) FROM log {where}", list(params))[0][0])
        rows = backend.sql(
            f"SELECT {SELECT_LIST} FROM log {where} ORDER BY seq DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
    items = []
    for row in rows:
        record = dict(zip(COLUMNS, row, strict=True))
        record["detail"] = json.loads(record.pop("detail_json"))
        record["digests"] = record["detail"].pop(DIGESTS_KEY, {})
        items.append(record)
    return items, total


def verify(backend: Backend) -> dict[str, Any]:
    """Walk the chain and compare with the head."""
    with backend.session() as store:
        result = store.log.verify()
    return {
        "ok": result.ok, "n_records": result.n_records, "first_bad_seq": result.first_bad_seq,
        "reason": result.reason,
    }  # fmt: skip


def head(backend: Backend) -> dict[str, Any]:
    """The current head of the chain, to be anchored outside the store (see ``pulsetwin log anchor``)."""
    with backend.session() as store:
        seq, digest = store.log.head()
    return {"seq": seq, "hash": digest}
