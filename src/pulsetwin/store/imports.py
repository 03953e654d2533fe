"""Which rows each import brought, so that one import can be listed and undone exactly.

Every import records, per canonical table, the keys of the rows it inserted (``inserted``), the keys it
brought that were already stored with the same values (``present``) and, when revising, the full stored
rows it replaced (``replaced``). Undoing an import deletes its inserted rows and puts its replaced rows back,
in one transaction; it is refused while a later import still relies on those rows (undo that one first), so
the store returns to exactly the state before the import.

An import into an EMPTY table records one ``whole`` row instead of a copy of every key: it inserted every row
the table holds. That stays true until the next import into the table (an undo of any earlier import is
refused or has nothing left in the table: the table was empty), so that import first turns the ``whole`` row
into the keys of the table (:func:`expand_whole`). A first load of millions of rows, the common case, thus
costs no second copy of its keys (about 40 % of the store file for event ids) and no time to write one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import duckdb
import pandas as pd

from pulsetwin.exceptions import StoreError
from pulsetwin.schema.tables import IMPORTABLE, TABLES, TableSpec
from pulsetwin.store.digest import Digest, TableChange, digest_rows
from pulsetwin.store.io import SQL_TYPES

ROWS_PREFIX: Final = "import_rows_"
UNDO_TABLE: Final = "import_undo"
TRACKING_TABLES: Final = (*(f"{ROWS_PREFIX}{name}" for name in IMPORTABLE), UNDO_TABLE)
"""The bookkeeping tables of imports, covered by the log's digests like the data tables."""
WHOLE: Final = "whole"
"""Status of the one row an import into an empty table records instead of its keys."""
UNDO_DDL: Final = (
    f"CREATE TABLE IF NOT EXISTS {UNDO_TABLE} (dataset_id VARCHAR NOT NULL, undone_at TIMESTAMP NOT NULL, "
    "actor VARCHAR NOT NULL, reason VARCHAR NOT NULL)",
)


def rows_table(spec: TableSpec) -> str:
    """The quoted name of the table holding the per-import rows of ``spec``'s table."""
    return f'"{ROWS_PREFIX}{spec.name}"'


def tracking_ddl() -> tuple[str, ...]:
    """CREATE statements for the per-table import rows and the undo records."""
    statements = [
        f"CREATE TABLE IF NOT EXISTS {rows_table(spec)} (dataset_id VARCHAR NOT NULL, status VARCHAR NOT NULL, "
        + ", ".join(f'"{name}" {SQL_TYPES[kind]}' for name, kind in spec.columns)
        + ")"
        for spec in (TABLES[name] for name in IMPORTABLE)
    ]
    return (*statements, *UNDO_DDL)


def record_rows(
    connection: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    dataset: str,
    incoming: str,
    on: str,
    differs: str,
    *,
    revise: bool,
) -> None:
    """Record which incoming rows are new and which are already stored; with ``revise`` the rows replaced.

    Runs inside the import's transaction, before the table is changed: ``incoming`` is the cast relation,
    ``on`` joins incoming ``i`` to stored ``t`` by key, ``differs`` is true when their values differ.
    """
    keys = ", ".join(f'"{k}"' for k in spec.key)
    picked = ", ".join(f'i."{k}"' for k in spec.key)
    first = f't."{spec.key[0]}"'
    connection.execute(
        f"INSERT INTO {rows_table(spec)} (dataset_id, status, {keys}) "
        f"SELECT ?, CASE WHEN {first} IS NULL OR ({differs}) THEN 'inserted' ELSE 'present' END, {picked} "
        f'FROM {incoming} i LEFT JOIN "{spec.name}" t ON {on}',
        [dataset],
    )
    if revise:
        columns = ", ".join(f't."{c}"' for c in spec.column_names)
        connection.execute(
            f"INSERT INTO {rows_table(spec)} SELECT ?, 'replaced', {columns} FROM \"{spec.name}\" t "
            f"WHERE EXISTS (SELECT 1 FROM {incoming} i WHERE {on} AND ({differs}))",
            [dataset],
        )


def record_whole(connection: duckdb.DuckDBPyConnection, spec: TableSpec, dataset: str) -> None:
    """Record that ``dataset`` inserted every row of ``spec``'s table, which was empty: one ``whole`` row."""
    connection.execute(
        f"INSERT INTO {rows_table(spec)} (dataset_id, status) VALUES (?, '{WHOLE}')", [dataset]
    )


def expand_whole(connection: duckdb.DuckDBPyConnection, spec: TableSpec) -> TableChange:
    """Replace the ``whole`` row of the import that filled the table (if not undone) by the table's keys.

    Called before another import changes the table: until then the table holds exactly that import's rows.
    Returns the digests of the bookkeeping rows added and removed (empty when there was nothing to expand).
    """
    table = rows_table(spec)
    wholes = connection.execute(
        f"SELECT dataset_id FROM {table} WHERE status = '{WHOLE}' "
        f"AND dataset_id NOT IN (SELECT dataset_id FROM {UNDO_TABLE})"
    ).fetchall()
    if not wholes:
        return TableChange()
    if len(wholes) > 1:
        names = ", ".join(str(w[0]) for w in wholes)
        raise StoreError(
            f"table '{spec.name}': the imports {names} each claim to have inserted all its rows: the import "
            "bookkeeping was edited outside PulseTwin. Nothing was imported. Fix: run `pulsetwin log verify "
            "--deep` and restore the store from a trusted backup"
        )
    dataset = str(wholes[0][0])
    keys = ", ".join(f'"{k}"' for k in spec.key)
    mine = f"SELECT * FROM {table} WHERE dataset_id = ? AND status = "
    removed = digest_rows(connection, mine + f"'{WHOLE}'", [dataset])
    connection.execute(
        f"INSERT INTO {table} (dataset_id, status, {keys}) SELECT ?, 'inserted', {keys} FROM \"{spec.name}\"",
        [dataset],
    )
    connection.execute(f"DELETE FROM {table} WHERE dataset_id = ? AND status = '{WHOLE}'", [dataset])
    return TableChange(added=digest_rows(connection, mine + "'inserted'", [dataset]), removed=removed)


def recorded_rows(connection: duckdb.DuckDBPyConnection, spec: TableSpec, dataset: str) -> Digest:
    """The digest of the bookkeeping rows ``dataset`` recorded for ``spec``'s table (for its log record)."""
    return digest_rows(connection, f"SELECT * FROM {rows_table(spec)} WHERE dataset_id = ?", [dataset])


@dataclass(frozen=True)
class UndoResult:
    """What undoing one import did per table: rows deleted and rows put back; categories unregistered."""

    dataset_id: str
    reason: str
    deleted: dict[str, int]
    restored: dict[str, int]
    categories_removed: tuple[str, ...]


def list_imports(connection: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per import, oldest first: id, tables, source, file, file hash, rows, inserted, time, undo.

    ``rows`` is the number of rows the import brought, ``inserted`` how many of them were new.
    """
    records = connection.execute(
        "SELECT dataset_id, table_name, source, file, file_hash, imported_at, row_count, details_json "
        "FROM provenance ORDER BY imported_at, dataset_id, table_name"
    ).df()
    undone = _undone(connection)
    rows: list[dict[str, object]] = []
    for dataset, group in records.groupby("dataset_id", sort=False):
        details = [json.loads(text) for text in group["details_json"]]
        first = group.iloc[0]
        undo = undone.get(str(dataset))
        rows.append(
            {
                "import_id": str(dataset),
                "tables": ",".join(group["table_name"].astype(str)),
                "source": str(first["source"]),
                "file": None if pd.isna(first["file"]) else str(first["file"]),
                "file_hash": None if pd.isna(first["file_hash"]) else str(first["file_hash"]),
                "rows": int(group["row_count"].sum()),
                "inserted": int(sum(int(d.get("inserted", 0)) for d in details)),
                "imported_at": pd.Timestamp(first["imported_at"]).to_pydatetime(),
                "undone_at": None if undo is None else undo[0],
                "undo_reason": None if undo is None else undo[1],
            }
        )
    columns = ["import_id", "tables", "source", "file", "file_hash", "rows", "inserted", "imported_at"]
    frame = pd.DataFrame(rows, columns=[*columns, "undone_at", "undo_reason"])
    # None, not NaT, for imports still in place: a plain value for JSON and the CLI table
    frame["undone_at"] = pd.Series([row["undone_at"] for row in rows], dtype=object, index=frame.index)
    return frame


def undo_import(
    connection: duckdb.DuckDBPyConnection, dataset: str, *, reason: str, actor: str, at: datetime
) -> tuple[UndoResult, dict[str, TableChange]]:
    """Delete the rows ``dataset`` inserted and restore the rows it replaced (inside the caller's transaction).

    Returns what was undone and, per table, the digests of the rows removed and put back (for the log, so
    that ``log verify --deep`` can follow the tables through an undo).

    Raises
    ------
    StoreError
        When the import is unknown, already undone, predates row tracking, or a later import still relies on
        its rows (the message names that import: undo it first).
    """
    if not reason.strip():
        raise StoreError("undoing an import needs a reason. Fix: pass --reason 'why this import is removed'")
    provenance = connection.execute(
        "SELECT table_name, source, imported_at, row_count FROM provenance WHERE dataset_id = ?", [dataset]
    ).fetchall()
    if not provenance:
        raise StoreError(f"no import '{dataset}' in the store. Fix: see the ids with `pulsetwin import list`")
    if dataset in _undone(connection):
        raise StoreError(f"import '{dataset}' was already undone. Fix: see `pulsetwin import list`")
    source, imported_at = str(provenance[0][1]), provenance[0][2]
    specs = [TABLES[str(row[0])] for row in provenance]
    counts = [
        _count(connection, f"SELECT count(*) FROM {rows_table(s)} WHERE dataset_id = ?", dataset)
        for s in specs
    ]
    tracked = sum(counts)
    brought = sum(int(row[3]) for row in provenance)
    if not tracked and brought:
        raise StoreError(
            f"import '{dataset}' was made before imports recorded their rows, so it cannot be undone exactly. "
            "Fix: rebuild the store without it"
        )
    for spec in specs:
        _refuse_later_users(connection, spec, dataset, imported_at)
    deleted: dict[str, int] = {}
    restored: dict[str, int] = {}
    changes: dict[str, TableChange] = {}
    for spec in specs:
        on = " AND ".join(f'r."{k}" = t."{k}"' for k in spec.key)
        whole = f"SELECT count(*) FROM {rows_table(spec)} WHERE dataset_id = ? AND status = '{WHOLE}'"
        mine = (
            f'"{spec.name}" t WHERE CAST(? AS VARCHAR) IS NOT NULL'  # it filled the table: every row is its
            if _count(connection, whole, dataset)
            else f'"{spec.name}" t WHERE EXISTS (SELECT 1 FROM {rows_table(spec)} r '
            f"WHERE r.dataset_id = ? AND r.status = 'inserted' AND {on})"
        )
        columns = ", ".join(f'"{c}"' for c in spec.column_names)
        replaced = f"SELECT {columns} FROM {rows_table(spec)} WHERE dataset_id = ? AND status = 'replaced'"
        changes[spec.name] = TableChange(
            added=digest_rows(connection, replaced, [dataset]),
            removed=digest_rows(connection, f"SELECT t.* FROM {mine}", [dataset]),
        )
        deleted[spec.name] = _count(connection, f"DELETE FROM {mine}", dataset)
        restored[spec.name] = _count(connection, f'INSERT INTO "{spec.name}" {replaced}', dataset)
    removed = _unregister_categories(connection, source, imported_at)
    connection.execute("INSERT INTO import_undo VALUES (?, ?, ?, ?)", [dataset, at, actor, reason])
    return UndoResult(dataset, reason, deleted, restored, removed), changes


def _refuse_later_users(
    connection: duckdb.DuckDBPyConnection, spec: TableSpec, dataset: str, imported_at: datetime
) -> None:
    """StoreError when a later import that is not undone brought rows with keys this import inserted."""
    on = " AND ".join(f'mine."{k}" = later."{k}"' for k in spec.key)
    table = rows_table(spec)
    users = connection.execute(
        f"SELECT DISTINCT later.dataset_id FROM {table} mine JOIN {table} later ON {on} "
        "JOIN provenance p ON p.dataset_id = later.dataset_id AND p.table_name = ? "
        "WHERE mine.dataset_id = ? AND mine.status = 'inserted' AND later.dataset_id <> ? "
        "AND later.status <> 'replaced' AND p.imported_at > ? "
        "AND later.dataset_id NOT IN (SELECT dataset_id FROM import_undo) ORDER BY 1",
        [spec.name, dataset, dataset, imported_at],
    ).fetchall()
    if users:
        names = ", ".join(str(u[0]) for u in users)
        raise StoreError(
            f"import '{dataset}' cannot be undone: the later import(s) {names} also brought or revised rows of "
            f"table '{spec.name}' that it inserted. Nothing was changed. Fix: undo those imports first "
            "(newest first), then this one"
        )


def _unregister_categories(
    connection: duckdb.DuckDBPyConnection, source: str, imported_at: datetime
) -> tuple[str, ...]:
    """Remove the category slugs this import registered that no stored row uses any more."""
    with_category = [spec.name for spec in TABLES.values() if "category" in spec.column_names]
    used = " UNION ".join(f'SELECT DISTINCT category FROM "{name}"' for name in with_category)
    gone = connection.execute(
        f"SELECT slug FROM categories WHERE source = ? AND first_seen = ? AND slug NOT IN ({used}) ORDER BY 1",
        [source, imported_at],
    ).fetchall()
    slugs = tuple(str(s[0]) for s in gone)
    if slugs:
        connection.execute(
            "DELETE FROM categories WHERE source = ? AND first_seen = ? AND list_contains(?, slug)",
            [source, imported_at, list(slugs)],
        )
    return slugs


def _undone(connection: duckdb.DuckDBPyConnection) -> dict[str, tuple[datetime, str]]:
    """Undone imports: id -> (when, reason) (none in a store made before undo existed, opened read-only)."""
    present = connection.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'import_undo'"
    ).fetchall()[0][0]
    if not present:
        return {}
    rows = connection.execute("SELECT dataset_id, undone_at, reason FROM import_undo").fetchall()
    return {str(d): (at, str(reason)) for d, at, reason in rows}


def _count(connection: duckdb.DuckDBPyConnection, sql: str, dataset: str) -> int:
    """The first column of the first row of ``sql`` run with ``dataset`` (rows changed for DML)."""
    rows = connection.execute(sql, [dataset]).fetchall()
    return 0 if not rows or rows[0][0] is None else int(rows[0][0])
