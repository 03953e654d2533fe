"""Compaction: rewrite a store into a fresh DuckDB file, so space left by an aborted import is returned.

DuckDB reuses free blocks but does not shrink its file; a killed import can leave it several times larger.
The rewrite copies every table (with its constraints) into a new file next to the store, checks that every
table has the same number of rows, logs the compaction (sizes before and after) in the new file's log, and
only then replaces the store with it, atomically. A failure leaves the store as it was, and removes the copy.

The copy does not anchor: its head is anchored once it is the store, to the store's own anchor file and under
the store's name, so the anchor file's chain goes on and no anchor names a record the store never held (a
crash between the replacement and the anchoring leaves the compaction record unanchored, as any crash after
a commit does, until the next write anchors it and names it as anchored late). The copy stays open, read-only,
until its head is anchored, so no other process writes the new store before that.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pulsetwin.exceptions import StoreError
from pulsetwin.store.connect import LOCK_WAIT_SECONDS
from pulsetwin.store.database import Store

COMPACT_SUFFIX = ".compacting"
WAL_SUFFIX = ".wal"  # DuckDB's write-ahead log next to a database file


@dataclass(frozen=True)
class CompactReport:
    """What a compaction did."""

    path: Path
    bytes_before: int
    bytes_after: int
    tables: int
    log_seq: int


def compact(path: str | Path, *, actor: str = "cli", wait: float = LOCK_WAIT_SECONDS) -> CompactReport:
    """Rewrite the store at ``path`` into a fresh file and put it in place (logged).

    Raises
    ------
    StoreError
        When the store is missing, or the copy differs from the store (the store is then left untouched).
    """
    path = Path(path)
    if not path.is_file():
        raise StoreError(f"store '{path}' does not exist. Fix: pass the right --db")
    target = path.with_name(path.name + COMPACT_SUFFIX)
    _remove_copy(target)  # what a compaction that crashed left
    before = path.stat().st_size
    with Store(path, wait=wait) as store:
        con = store._con
        con.execute("CHECKPOINT")
        names = [str(t) for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        exact = {t: _rows(con, t) for t in names}
        source = str(con.execute("SELECT current_database()").fetchall()[0][0])
        con.execute("ATTACH ? AS pulsetwin_compacted", [str(target)])
        try:
            con.execute(f'COPY FROM DATABASE "{source}" TO pulsetwin_compacted')
        finally:
            con.execute("DETACH pulsetwin_compacted")
        try:
            with Store(target, digest_key=store.digest_key_path, anchored=False) as copy:
                copied = {t: _rows(copy._con, t) for t in exact}
                if copied != exact:
                    differ = sorted(t for t in exact if copied.get(t) != exact[t])
                    raise StoreError(
                        f"the compacted copy of '{path}' differs in tables {', '.join(differ)}; the store is "
                        "left as it was. Fix: run 'pulsetwin log verify' and report this"
                    )
                copy._con.execute("CHECKPOINT")
                after = target.stat().st_size
                record = copy.log.append(
                    actor, "compact", path.name, {"bytes_before": before, "bytes_after": after}
                )
            # held open (read-only) across the replacement: once it is the store, no other process may write
            # it before its head is anchored, or that write's anchor would name the compaction record as
            # committed without an anchor
            guard = duckdb.connect(str(target), read_only=True)
        except BaseException:
            _remove_copy(target)
            raise
        try:
            # replaced while the old file is still open and locked, so no other process writes to it meanwhile;
            # it was checkpointed, so closing it writes nothing that the new file would miss
            os.replace(target, path)
            with store.log.anchoring():
                store.log.anchor_head(record.seq, record.hash, first=record.seq)
        finally:
            guard.close()
    return CompactReport(path, before, path.stat().st_size, len(exact), record.seq)


def _remove_copy(target: Path) -> None:
    """Remove a copy that will not replace the store, with the write-ahead log DuckDB may have left."""
    target.unlink(missing_ok=True)
    target.with_name(target.name + WAL_SUFFIX).unlink(missing_ok=True)


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> int:
    """Rows in ``table``."""
    return int(con.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0])
