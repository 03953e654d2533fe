"""The log's records as stored, for readers: pages newest first (the API's ``/log``) and the records of given
actions oldest first (what the field-trial readers replay).

Verification and appending are :mod:`pulsetwin.store.log`'s; this reads rows without judging them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from pulsetwin.store.access import Source, connection_of
from pulsetwin.store.log import LogRecord

LOG_COLUMNS: Final = ("seq", "at", "actor", "action", "subject", "detail_json", "prev_hash", "hash")
_SELECT_LIST: Final = ", ".join(f'"{c}"' for c in LOG_COLUMNS)


def read_log_page(
    source: Source, *, action: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of log records (of one action when given) as column -> value, newest first, and the total."""
    where, params = ("WHERE action = ?", [action]) if action is not None else ("", [])
    con = connection_of(source)
    total = int(con.execute(f"SELECT count(*) FROM log {where}", list(params)).fetchall()[0][0])
    rows = con.execute(
        f"SELECT {_SELECT_LIST} FROM log {where} ORDER BY seq DESC LIMIT ? OFFSET ?",
        [*params, limit, offset],
    ).fetchall()
    return [dict(zip(LOG_COLUMNS, row, strict=True)) for row in rows], total


def read_log_records(
    source: Source, actions: Sequence[str], *, subject: str | None = None
) -> list[LogRecord]:
    """The records of ``actions`` (about ``subject`` when given), oldest first.

    The filter runs in SQL, so a reader of a few actions does not parse a log grown long with views.
    """
    if not actions:
        return []
    where = f"action IN ({', '.join('?' * len(actions))})" + ("" if subject is None else " AND subject = ?")
    params: list[object] = [*actions, *([] if subject is None else [subject])]
    rows = connection_of(source).execute(f"SELECT {_SELECT_LIST} FROM log WHERE {where} ORDER BY seq", params)
    return [LogRecord(*row) for row in rows.fetchall()]
