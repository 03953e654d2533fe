"""Importing validated frames into the store: one transaction, set-based SQL, conflicts and revisions.

New rows are found with an anti-join and inserted; rows stored with identical values are skipped; a key
stored with other values is refused unless the caller revises (a source re-published corrected values),
then the stored rows are replaced in the same transaction and the log keeps old -> new per key. The
functions take the :class:`~pulsetwin.store.database.Store`; its import methods delegate here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from pulsetwin.exceptions import ConflictError, ParameterTypeError, bad_parameter
from pulsetwin.schema.params import Boolean, check_param
from pulsetwin.schema.tables import TABLES, TableSpec
from pulsetwin.store.digest import EMPTY, Digest, TableChange, digest_rows
from pulsetwin.store.duplicates import refuse_duplicate_source
from pulsetwin.store.imports import ROWS_PREFIX, expand_whole, record_rows, record_whole, recorded_rows
from pulsetwin.store.io import SQL_TYPES
from pulsetwin.store.log import LogEntry
from pulsetwin.store.prepare import CheckedImport
from pulsetwin.store.provenance import dataset_id, write_provenance
from pulsetwin.store.reading import scalar

if TYPE_CHECKING:
    from pulsetwin.store.database import Store

CONFLICTS_SHOWN = 10
LONG_TEXT = 40  # revision digests show longer text values (geometry) as a short SHA-256 instead


@dataclass(frozen=True)
class TableImport:
    """What one import did to one table."""

    table: str
    rows: int
    inserted: int
    already_present: int
    revised: int = 0


@dataclass(frozen=True)
class ImportReport:
    """What one import call did: per-table counts, newly registered categories, and its log record."""

    dataset_id: str
    source: str
    file: str | None
    file_hash: str | None
    tables: tuple[TableImport, ...]
    new_categories: tuple[str, ...]
    log_seq: int

    @property
    def inserted(self) -> dict[str, int]:
        """Rows inserted per table."""
        return {t.table: t.inserted for t in self.tables}

    @property
    def already_present(self) -> dict[str, int]:
        """Rows skipped per table because identical rows were already stored."""
        return {t.table: t.already_present for t in self.tables}

    @property
    def revised(self) -> dict[str, int]:
        """Stored rows replaced per table by a revision (``revise=True``); 0 otherwise."""
        return {t.table: t.revised for t in self.tables}

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return asdict(self)


def import_checked(
    store: Store,
    checked: CheckedImport,
    *,
    source: str | None = None,
    actor: str = "cli",
    revise: bool = False,
    also_source: bool = False,
) -> ImportReport:
    """Import checked frames into ``store`` atomically: the work of :meth:`Store.import_checked`.

    The caller has refused a read-only store. Inserts new rows, skips identical ones, registers new category
    slugs, writes provenance and the log records, all in one transaction of ``store``.
    """
    check_param("revise", "Store.import_frames", Boolean(), revise)
    if not isinstance(checked, CheckedImport):
        raise ParameterTypeError(
            "The 'checked' parameter of Store.import_checked must be a CheckedImport from check_file or "
            f"check_frames. Got {type(checked).__name__} instead."
        )
    source = source or checked.default_source
    if source is None:
        raise bad_parameter("source", "Store.import_checked", "a non-empty source name", source)
    validated, file, file_hash, details = checked.frames, checked.file, checked.file_hash, checked.details
    imported_at = datetime.now(UTC).replace(tzinfo=None)
    dataset = dataset_id(source, file_hash, imported_at)
    with store.transaction():
        merged = [
            _merge(store, TABLES[t], f, dataset=dataset, revise=revise, check_copy=not also_source, file=file)
            for t, f in validated.items()
        ]
        results = tuple(result for result, _, _ in merged)
        new_slugs = _register_categories(store, validated, source, imported_at)
        for result in results:
            revision = {"revise": True, "revised": result.revised} if revise else {}
            notes = {
                "inserted": result.inserted,
                "already_present": result.already_present,
                **revision,
                **(details or {}),
            }
            write_provenance(
                store._con,
                dataset=dataset,
                table=result.table,
                source=source,
                file=file,
                file_hash=file_hash,
                imported_at=imported_at,
                row_count=result.rows,
                details=notes,
            )
        summary = {
            "dataset_id": dataset,
            "source": source,
            "file": file,
            "file_hash": file_hash,
            "tables": {
                r.table: {
                    "rows": r.rows,
                    "inserted": r.inserted,
                    **({"revised": r.revised} if revise else {}),
                }
                for r in results
            },
            "new_categories": list(new_slugs),
        }
        if revise:
            context = {"dataset_id": dataset, "source": source, "file": file}
            store.log.append_many(LogEntry(actor, "revise", r.table, context | c) for r, c, _ in merged)
        record = store.log.append(
            actor,
            "import",
            ",".join(validated),
            summary,
            tables=("provenance", "categories"),
            changes={table: c for _, _, per_table in merged for table, c in per_table.items()},
        )
    return ImportReport(dataset, source, file, file_hash, results, new_slugs, record.seq)


def _merge(
    store: Store,
    spec: TableSpec,
    frame: pd.DataFrame,
    *,
    dataset: str,
    revise: bool = False,
    check_copy: bool = True,
    file: str | None = None,
) -> tuple[TableImport, dict[str, Any], dict[str, TableChange]]:
    """Insert the new rows of one validated frame and, when revising, replace rows stored with other values.

    Returns the counts, the revision digest (empty unless ``revise``) and the digests of the rows
    added and removed, of the table and of its import bookkeeping (for the log). ConflictError on keys
    stored with other values when not revising, and (``check_copy``) on incidents copying another source.
    The rows are recorded under ``dataset`` for undo.
    """
    view = f"_incoming_{spec.name}"
    store._con.register(view, pa.Table.from_pandas(frame, preserve_index=False))  # Arrow scans ~2x faster
    changes: dict[str, Any] = {"revised": 0, "changed_columns": {}, "changes": []} if revise else {}
    removed: Digest = EMPTY
    try:
        casts = ", ".join(f'CAST("{c}" AS {SQL_TYPES[k]}) AS "{c}"' for c, k in spec.columns)
        incoming = f"(SELECT {casts} FROM {view})"
        on = " AND ".join(f'i."{k}" = t."{k}"' for k in spec.key)
        target = f'"{spec.name}"'
        # before any change: the table still holds the rows of the import that filled it, and only those
        bookkeeping = expand_whole(store._con, spec)
        if scalar(store._con, f"SELECT count(*) FROM (SELECT 1 FROM {target} LIMIT 1)"):
            if not revise:
                _refuse_conflicts(store, spec, incoming, on, file)
            if check_copy and spec.name == "incidents":
                refuse_duplicate_source(store._con, incoming, file)
            record_rows(store._con, spec, dataset, incoming, on, _differs(spec), revise=revise)
            if revise:
                changes, removed = _replace_revised(store, spec, incoming, on)
            new_rows = f"SELECT i.* FROM {incoming} i ANTI JOIN {target} t ON {on}"
        else:
            record_whole(store._con, spec, dataset)
            new_rows = f"SELECT * FROM {incoming}"
        added = digest_rows(store._con, new_rows)
        inserted = scalar(store._con, f"INSERT INTO {target} {new_rows}")
        recorded = recorded_rows(store._con, spec, dataset)
    finally:
        store._con.unregister(view)
    revised = int(changes.get("revised", 0))
    new = inserted - revised
    counts = TableImport(spec.name, len(frame), new, len(frame) - new - revised, revised)
    tracked = TableChange(bookkeeping.added + recorded, bookkeeping.removed)
    return counts, changes, {spec.name: TableChange(added, removed), f"{ROWS_PREFIX}{spec.name}": tracked}


def _differs(spec: TableSpec) -> str:
    """SQL condition: the incoming row ``i`` and the stored row ``t`` differ in a value column."""
    return " OR ".join(f'i."{c}" IS DISTINCT FROM t."{c}"' for c in spec.value_columns)


def _refuse_conflicts(store: Store, spec: TableSpec, incoming: str, on: str, file: str | None = None) -> None:
    """Raise ConflictError when incoming keys are stored with other values."""
    differs = _differs(spec)
    keys = ", ".join(f'i."{k}"' for k in spec.key)
    rows = store._con.execute(
        f'SELECT {keys}, count(*) OVER () FROM {incoming} i JOIN "{spec.name}" t ON {on} WHERE {differs} '
        f"ORDER BY {keys} LIMIT {CONFLICTS_SHOWN}"
    ).fetchall()
    if rows:
        shown = "; ".join(_describe_key(spec, row) for row in rows)
        raise ConflictError(
            ("" if file is None else f"file '{file}': ")
            + f"table '{spec.name}': {rows[0][-1]} rows have keys already stored with other values "
            f"(first {len(rows)}: {shown}). Nothing was imported. "
            "Fix: correct the file if it is wrong, or, when the source re-published corrected values, "
            "pass --revise to accept a re-publication (revise=True in Python; the old values are logged)"
        )


def _replace_revised(store: Store, spec: TableSpec, incoming: str, on: str) -> tuple[dict[str, Any], Digest]:
    """Delete the stored rows whose key comes in with other values; return the revision digest.

    The digest holds the number of rows revised, how many of them changed per value column, and
    old -> new values of the changed columns for the first keys in key order; the second value is the
    row digest of the deleted rows.
    """
    differs = _differs(spec)
    per_column = ", ".join(
        f'count(*) FILTER (WHERE i."{c}" IS DISTINCT FROM t."{c}")' for c in spec.value_columns
    )
    joined = f'FROM {incoming} i JOIN "{spec.name}" t ON {on} WHERE {differs}'
    counts = store._con.execute(f"SELECT count(*), {per_column} {joined}").fetchall()[0]
    revised = int(counts[0])
    changed = {c: int(n) for c, n in zip(spec.value_columns, counts[1:], strict=True) if n}
    keys = ", ".join(f'i."{k}"' for k in spec.key)
    pairs = ", ".join(f't."{c}", i."{c}"' for c in spec.value_columns)
    shown = store._con.execute(
        f"SELECT {keys}, {pairs} {joined} ORDER BY {keys} LIMIT {CONFLICTS_SHOWN}"
    ).fetchall()
    removed = EMPTY
    if revised:
        exists = f"EXISTS (SELECT 1 FROM {incoming} i WHERE {on} AND ({differs}))"
        removed = digest_rows(store._con, f'SELECT t.* FROM "{spec.name}" t WHERE {exists}')
        store._con.execute(f'DELETE FROM "{spec.name}" t WHERE {exists}')
    digest = {
        "revised": revised,
        "changed_columns": changed,
        "changes": [_revision(spec, row) for row in shown],
    }
    return digest, removed


def _register_categories(
    store: Store, frames: Mapping[str, pd.DataFrame], source: str, imported_at: datetime
) -> tuple[str, ...]:
    """Register category slugs outside the vocabulary that the store has not seen before."""
    from pulsetwin.schema.validate import new_categories

    known = {str(s) for (s,) in store._con.execute("SELECT slug FROM categories").fetchall()}
    slugs: set[str] = set().union(*(new_categories(frame) for frame in frames.values()))
    ordered = tuple(sorted(slugs - known))
    if ordered:
        store._con.executemany(
            "INSERT INTO categories VALUES (?, ?, ?)", [[slug, imported_at, source] for slug in ordered]
        )
    return ordered


def _describe_key(spec: TableSpec, row: tuple[Any, ...]) -> str:
    """``area_code=BU1, year=2020`` for one key row."""
    return ", ".join(f"{k}={_show(v)}" for k, v in zip(spec.key, row, strict=False))


def _revision(spec: TableSpec, row: tuple[Any, ...]) -> dict[str, Any]:
    """One revised key with old -> new values of its changed columns (audit-only tables: names only).

    ``row`` holds the key values, then old and new value per value column.
    """
    n = len(spec.key)
    olds, news = row[n::2], row[n + 1 :: 2]
    changed = [(c, o, v) for c, o, v in zip(spec.value_columns, olds, news, strict=True) if o != v]
    entry: dict[str, Any] = {"key": _describe_key(spec, row[:n])}
    if not spec.model_readable:
        return entry | {"changed": [c for c, _, _ in changed]}
    return entry | {
        "old": {c: _digest_value(o) for c, o, _ in changed},
        "new": {c: _digest_value(v) for c, _, v in changed},
    }


def _digest_value(value: object) -> object:
    """A value for the revision log: numbers and short text as they are, long text (geometry) as a hash."""
    if isinstance(value, str) and len(value) > LONG_TEXT:
        return f"sha256:{hashlib.sha256(value.encode('utf-8')).hexdigest()[:16]} ({len(value)} chars)"
    return _show(value) if hasattr(value, "isoformat") else value


def _show(value: object) -> str:
    """Render a key value (dates as ISO)."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
