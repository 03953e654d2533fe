"""Pages of the log's records as stored, newest first, for readers that list them (the API's ``/log``).

Verification and appending are :mod:`pulsetwin.store.log`'s; this reads rows without judging them.
"""

from __future__ import annotations

from typing import Any, Final

from pulsetwin.store.access import Source, connection_of

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
