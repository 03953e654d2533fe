"""The store: one DuckDB file holding the canonical tables, provenance, categories, runs and the log.

Imports are validated, guarded against personal data, and applied in one transaction with set-based SQL
(anti-join for new rows, join for conflicting ones): all or nothing, idempotent on re-import. A key stored
with other values is refused unless the caller passes ``revise=True`` (a source re-published corrected
values); then the stored rows are replaced in the same transaction and the log keeps old -> new per key.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pulsetwin.exceptions import (
    ConflictError,
    ParameterTypeError,
    StoreBusyError,
    StoreError,
    bad_parameter,
)
from pulsetwin.schema.params import Boolean, Number, check_param
from pulsetwin.schema.periods import Freq
from pulsetwin.schema.tables import PROTECTED, TABLES, TableSpec, table_spec
from pulsetwin.store.accounts import ACCOUNTS_DDL
from pulsetwin.store.anchor import AnchorWriter, resolve_anchor_path, resolve_key
from pulsetwin.store.decisions import DECISIONS_DDL
from pulsetwin.store.digest import EMPTY, Digest, RowKey, TableChange, digest_rows, set_row_key
from pulsetwin.store.duplicates import refuse_duplicate_source
from pulsetwin.store.explanations import EXPLANATIONS_DDL
from pulsetwin.store.fold_forecasts import FOLD_FORECASTS_DDL
from pulsetwin.store.imports import (
    ROWS_PREFIX,
    UNDO_TABLE,
    UndoResult,
    expand_whole,
    list_imports,
    record_rows,
    record_whole,
    recorded_rows,
    tracking_ddl,
    undo_import,
)
from pulsetwin.store.io import SQL_TYPES, export_relation, table_ddl
from pulsetwin.store.log import GENESIS_HASH, LOG_DDL, Log, LogEntry
from pulsetwin.store.prepare import CheckedImport, check_file, check_frames
from pulsetwin.store.privacy_budget import BUDGET_DDL
from pulsetwin.store.provenance import PROVENANCE_DDL, dataset_id, read_provenance, write_provenance
from pulsetwin.store.rowkey import open_row_key, resolve_digest_key_path
from pulsetwin.store.runs import (
    RUNS_DDL,
    RunKind,
    RunRecord,
    RunStatus,
    fetch_run,
    insert_run,
    list_runs,
    new_run_id,
    run_word,
    update_status,
)

DEFAULT_PATH = Path("pulsetwin.duckdb")
CATEGORIES_DDL = (
    "CREATE TABLE IF NOT EXISTS categories (slug VARCHAR NOT NULL, first_seen TIMESTAMP NOT NULL, "
    "source VARCHAR NOT NULL)",
)
INTERNAL_TABLES = ("provenance", "categories", "runs", "log_head")
LOCK_WAIT_SECONDS = 60.0  # a CLI command waits this long for a server (or another command) to let go
FIRST_RETRY = 0.02
LONGEST_RETRY = 0.25
WAITING_SUFFIX = ".waiting"
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


class Store:
    """One PulseTwin store (a DuckDB file). Use as a context manager or call :meth:`close`.

    Parameters
    ----------
    path
        The DuckDB file; created with all tables when missing (unless ``read_only``).
    read_only
        Open without write access; the file must exist.
    anchor_file
        Where every committed write appends the new log head (default: ``PULSETWIN_ANCHOR_FILE``, else
        ``<path>.anchors.jsonl`` next to the store; none for ``:memory:``).
    anchor_key
        Key file signing the anchors and checking signed ones (default: ``PULSETWIN_ANCHOR_KEY``, else
        unsigned). Keep it where the store's writers cannot read it.
    digest_key
        Key file of the row digests (default: ``PULSETWIN_DIGEST_KEY``, else ``<path>.digest.key`` next to
        the store; created when missing unless ``read_only``; see :mod:`pulsetwin.store.rowkey`).
    wait
        Seconds to wait, with back-off, while another process holds the file (DuckDB lets one process
        write, and nobody read while it does); then :class:`StoreBusyError`.
    signal
        While waiting, ask the holder to let go by touching :func:`waiting_file` (a running ``serve``
        watches it and closes the store between requests). The server itself opens without signalling.
    """

    def __init__(
        self,
        path: str | Path = DEFAULT_PATH,
        *,
        read_only: bool = False,
        anchor_file: Path | None = None,
        anchor_key: Path | None = None,
        digest_key: Path | None = None,
        wait: float = LOCK_WAIT_SECONDS,
        signal: bool = True,
    ) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self.anchor_path = resolve_anchor_path(self.path, anchor_file)
        key = resolve_key(anchor_key)
        if read_only and not self.path.is_file():
            raise StoreError(
                f"store '{self.path}' does not exist. Fix: import data first or pass the right --db"
            )
        check_param("wait", "Store", Number(low=0.0, say="a number of seconds >= 0"), wait)
        self._con = _connect(self.path, read_only=read_only, wait=float(wait), signal=signal)
        self._depth = 0
        writer = None
        if self.anchor_path is not None and not read_only:
            writer = AnchorWriter(self.anchor_path, store=str(self.path.resolve()), key=key)
        self.digest_key_path = resolve_digest_key_path(self.path, digest_key)
        try:  # after _connect: holding the store's lock, no other writer creates the key file meanwhile
            row_key = open_row_key(self.digest_key_path, create=not read_only)
        except BaseException:
            self._con.close()
            raise
        row_key_id = None if row_key.key is None else set_row_key(self._con, row_key.key)
        self.log = Log(
            self._con, self.transaction, anchors=writer, key=key, row_key=RowKey(row_key_id, row_key.path)
        )
        if read_only:
            self._check_schema()
        else:
            self._create_schema()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (an open transaction is rolled back by DuckDB)."""
        self._con.close()

    def read_cursor(self) -> duckdb.DuckDBPyConnection:
        """A new cursor on this store, for reading only: a second connection to the same database that sees
        committed data (DuckDB MVCC) and can be used from another thread without the store's lock.

        For servers that read hot paths concurrently (the API keeps one per thread) and for the typed
        accessors that take a :data:`pulsetwin.store.access.Source`. Never write through it: writes go through
        the store's accessors inside :meth:`transaction`, which logs them. Making the cursor uses the store's
        connection, so serialise this call with other uses of the store; close the cursor before the store.
        """
        return self._con.cursor()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One DuckDB transaction; nested uses join the outer one. Commits on success, rolls back on error."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._require_writable()
        self._con.begin()
        self._depth = 1
        try:
            yield
        except BaseException:
            self._con.rollback()
            self.log.rolled_back()
            raise
        else:
            self._con.commit()
        finally:
            self._depth = 0
        self.log.committed()  # anchors the new head outside the store once the write is durable

    # ------------------------------------------------------------------ import
    def import_frames(
        self,
        frames: Mapping[str, pd.DataFrame],
        *,
        source: str,
        file: str | None = None,
        file_hash: str | None = None,
        actor: str = "cli",
        details: Mapping[str, Any] | None = None,
        revise: bool = False,
        also_source: bool = False,
    ) -> ImportReport:
        """Validate and import canonical frames atomically.

        Every frame passes the PII guard and the validator first. Then, in one transaction: new rows are
        inserted, rows already stored with identical values are skipped, new municipal category slugs are
        registered, one provenance record per table and one log record are written.

        With ``revise=True`` (a source re-published corrected values) rows whose key is stored with other
        values replace the stored ones in the same transaction; per table a ``revise`` log record holds the
        number of rows revised and old -> new values of the first keys (values of audit-only tables are
        left out), and the provenance notes the revision.

        Incidents whose counts coincide with another stored source's are refused (a copy would be counted
        twice) unless ``also_source`` says they are a different measurement. Every import records which rows
        it inserted, so :meth:`undo_import` can remove it exactly.

        Raises
        ------
        PersonalDataError, SchemaError
            From the guard and validator; nothing is written.
        ConflictError
            When a key is stored with other values and ``revise`` is False; lists the first keys and the
            count; or when incidents repeat another source's counts; nothing is written.
        """
        self._require_writable()
        checked = check_frames(frames, file=file, file_hash=file_hash, details=details)
        return self.import_checked(
            checked, source=source, actor=actor, revise=revise, also_source=also_source
        )

    def import_checked(
        self,
        checked: CheckedImport,
        *,
        source: str | None = None,
        actor: str = "cli",
        revise: bool = False,
        also_source: bool = False,
    ) -> ImportReport:
        """Import frames that :func:`~pulsetwin.store.prepare.check_file` or ``check_frames`` passed.

        ``source`` defaults to the checked file's ``file:<name>``. Atomic and idempotent as
        :meth:`import_frames`; ConflictError (naming the file) on keys stored with other values unless
        ``revise``, and on incidents copying another source's counts unless ``also_source``.
        """
        self._require_writable()
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
        with self.transaction():
            merged = [
                self._merge(
                    TABLES[t], f, dataset=dataset, revise=revise, check_copy=not also_source, file=file
                )
                for t, f in validated.items()
            ]
            results = tuple(result for result, _, _ in merged)
            new_slugs = self._register_categories(validated, source, imported_at)
            for result in results:
                revision = {"revise": True, "revised": result.revised} if revise else {}
                notes = {
                    "inserted": result.inserted,
                    "already_present": result.already_present,
                    **revision,
                    **(details or {}),
                }
                write_provenance(
                    self._con,
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
                self.log.append_many(LogEntry(actor, "revise", r.table, context | c) for r, c, _ in merged)
            record = self.log.append(
                actor,
                "import",
                ",".join(validated),
                summary,
                tables=("provenance", "categories"),
                changes={table: c for _, _, per_table in merged for table, c in per_table.items()},
            )
        return ImportReport(dataset, source, file, file_hash, results, new_slugs, record.seq)

    def import_file(
        self,
        table: str,
        path: str | Path,
        *,
        layer: str | None = None,
        actor: str = "cli",
        source: str | None = None,
        revise: bool = False,
        also_source: bool = False,
        crs: str | None = None,
        allow_withheld: bool = False,
    ) -> ImportReport:
        """Read a CSV/Parquet file (areas also GeoPackage/GeoJSON) and import it (see :func:`check_file`).

        ``source`` defaults to ``file:<name>``; the file's SHA-256 and reader notes (layer, CRS handling,
        encoding, water rows) go into the provenance record. ``crs`` declares the CRS of the file's
        coordinates; ``allow_withheld`` accepts empty counts as withheld. ``revise`` and ``also_source`` as in
        :meth:`import_frames`.
        """
        self._require_writable()
        checked = check_file(table, path, layer=layer, crs=crs, allow_withheld=allow_withheld)
        return self.import_checked(
            checked, source=source, actor=actor, revise=revise, also_source=also_source
        )

    def _merge(
        self,
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
        self._con.register(view, pa.Table.from_pandas(frame, preserve_index=False))  # Arrow scans ~2x faster
        changes: dict[str, Any] = {"revised": 0, "changed_columns": {}, "changes": []} if revise else {}
        removed: Digest = EMPTY
        try:
            casts = ", ".join(f'CAST("{c}" AS {SQL_TYPES[k]}) AS "{c}"' for c, k in spec.columns)
            incoming = f"(SELECT {casts} FROM {view})"
            on = " AND ".join(f'i."{k}" = t."{k}"' for k in spec.key)
            target = f'"{spec.name}"'
            # before any change: the table still holds the rows of the import that filled it, and only those
            bookkeeping = expand_whole(self._con, spec)
            if _scalar(self._con, f"SELECT count(*) FROM (SELECT 1 FROM {target} LIMIT 1)"):
                if not revise:
                    self._refuse_conflicts(spec, incoming, on, file)
                if check_copy and spec.name == "incidents":
                    refuse_duplicate_source(self._con, incoming, file)
                record_rows(self._con, spec, dataset, incoming, on, self._differs(spec), revise=revise)
                if revise:
                    changes, removed = self._replace_revised(spec, incoming, on)
                new_rows = f"SELECT i.* FROM {incoming} i ANTI JOIN {target} t ON {on}"
            else:
                record_whole(self._con, spec, dataset)
                new_rows = f"SELECT * FROM {incoming}"
            added = digest_rows(self._con, new_rows)
            inserted = _scalar(self._con, f"INSERT INTO {target} {new_rows}")
            recorded = recorded_rows(self._con, spec, dataset)
        finally:
            self._con.unregister(view)
        revised = int(changes.get("revised", 0))
        new = inserted - revised
        counts = TableImport(spec.name, len(frame), new, len(frame) - new - revised, revised)
        tracked = TableChange(bookkeeping.added + recorded, bookkeeping.removed)
        return counts, changes, {spec.name: TableChange(added, removed), f"{ROWS_PREFIX}{spec.name}": tracked}

    def _differs(self, spec: TableSpec) -> str:
        """SQL condition: the incoming row ``i`` and the stored row ``t`` differ in a value column."""
        return " OR ".join(f'i."{c}" IS DISTINCT FROM t."{c}"' for c in spec.value_columns)

    def _refuse_conflicts(self, spec: TableSpec, incoming: str, on: str, file: str | None = None) -> None:
        """Raise ConflictError when incoming keys are stored with other values."""
        differs = self._differs(spec)
        keys = ", ".join(f'i."{k}"' for k in spec.key)
        rows = self._con.execute(
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

    def _replace_revised(self, spec: TableSpec, incoming: str, on: str) -> tuple[dict[str, Any], Digest]:
        """Delete the stored rows whose key comes in with other values; return the revision digest.

        The digest holds the number of rows revised, how many of them changed per value column, and
        old -> new values of the changed columns for the first keys in key order; the second value is the
        row digest of the deleted rows.
        """
        differs = self._differs(spec)
        per_column = ", ".join(
            f'count(*) FILTER (WHERE i."{c}" IS DISTINCT FROM t."{c}")' for c in spec.value_columns
        )
        joined = f'FROM {incoming} i JOIN "{spec.name}" t ON {on} WHERE {differs}'
        counts = self._con.execute(f"SELECT count(*), {per_column} {joined}").fetchall()[0]
        revised = int(counts[0])
        changed = {c: int(n) for c, n in zip(spec.value_columns, counts[1:], strict=True) if n}
        keys = ", ".join(f'i."{k}"' for k in spec.key)
        pairs = ", ".join(f't."{c}", i."{c}"' for c in spec.value_columns)
        shown = self._con.execute(
            f"SELECT {keys}, {pairs} {joined} ORDER BY {keys} LIMIT {CONFLICTS_SHOWN}"
        ).fetchall()
        removed = EMPTY
        if revised:
            exists = f"EXISTS (SELECT 1 FROM {incoming} i WHERE {on} AND ({differs}))"
            removed = digest_rows(self._con, f'SELECT t.* FROM "{spec.name}" t WHERE {exists}')
            self._con.execute(f'DELETE FROM "{spec.name}" t WHERE {exists}')
        digest = {
            "revised": revised,
            "changed_columns": changed,
            "changes": [_revision(spec, row) for row in shown],
        }
        return digest, removed

    def _register_categories(
        self, frames: Mapping[str, pd.DataFrame], source: str, imported_at: datetime
    ) -> tuple[str, ...]:
        """Register category slugs outside the vocabulary that the store has not seen before."""
        from pulsetwin.schema.validate import new_categories

        known = {str(s) for (s,) in self._con.execute("SELECT slug FROM categories").fetchall()}
        slugs: set[str] = set().union(*(new_categories(frame) for frame in frames.values()))
        ordered = tuple(sorted(slugs - known))
        if ordered:
            self._con.executemany(
                "INSERT INTO categories VALUES (?, ?, ?)", [[slug, imported_at, source] for slug in ordered]
            )
        return ordered

    # ------------------------------------------------------------------ list / undo imports
    def imports(self) -> pd.DataFrame:
        """Every import, oldest first: id, tables, source, file, file hash, rows, time, and undo if undone."""
        return list_imports(self._con)

    def undo_import(self, import_id: str, *, reason: str, actor: str = "cli") -> UndoResult:
        """Remove exactly the rows one import inserted and restore the rows it revised, atomically, logged.

        Refused (StoreError, nothing changed) when the import is unknown, already undone, made before
        imports recorded their rows, or when a later import still brings the same rows: undo that first.
        """
        with self.transaction():
            at = datetime.now(UTC).replace(tzinfo=None)
            result, changes = undo_import(self._con, import_id, reason=reason, actor=actor, at=at)
            self.log.append(
                actor,
                "undo_import",
                import_id,
                asdict(result),
                tables=("categories", UNDO_TABLE),
                changes=changes,
            )
        return result

    # ------------------------------------------------------------------ read / export
    def read(self, table: str, *, where: Mapping[str, object] | None = None) -> pd.DataFrame:
        """The canonical frame of ``table`` (canonical column order and dtypes, rows in key order).

        ``where`` filters by column equality; a list/tuple/set value means "one of".
        ``protected`` is refused: audit code reads it with ``pulsetwin.store.protected.read_protected``.
        """
        if table == PROTECTED.name:
            raise StoreError(
                "table 'protected' holds audit-only attributes and is not readable through Store.read. "
                "Fix: audit code uses pulsetwin.store.protected.read_protected(store); models and features "
                "must not read it"
            )
        return self._read_canonical(table, where)

    def _read_canonical(self, table: str, where: Mapping[str, object] | None) -> pd.DataFrame:
        """Read any canonical table (no protected-table check: callers decide)."""
        spec = table_spec(table)
        clause, params = _where_clause(spec, where)
        columns = ", ".join(f'"{c}"' for c in spec.column_names)
        sql = f'SELECT {columns} FROM "{spec.name}"{clause}'
        return canonical_dtypes(spec, _fetch_frame(self._con, sql, params, order_by=spec.key))

    def export(self, table: str, out_path: str | Path, *, public: bool = False, actor: str = "cli") -> Path:
        """Write ``table`` to ``.csv`` or ``.parquet`` (areas also ``.gpkg``/``.geojson``), rows in key order.

        ``public=True`` refuses tables models may not read (``protected``). Exporting ``protected`` is logged.
        """
        spec = table_spec(table)
        if public and not spec.model_readable:
            raise StoreError(f"table '{table}' is audit-only and cannot be exported for publication")
        out = Path(out_path)
        columns = ", ".join(f'"{c}"' for c in spec.column_names)
        keys = ", ".join(f'"{k}"' for k in spec.key)
        export_relation(self._con, spec, f'SELECT {columns} FROM "{spec.name}" ORDER BY {keys}', out)
        if not spec.model_readable and not self.read_only:
            self.log.append(actor, "export", spec.name, {"out": str(out)})
        return out

    def count(self, table: str) -> int:
        """Number of rows in a canonical or internal table."""
        if table not in TABLES and table not in INTERNAL_TABLES:
            raise StoreError(f"no table '{table}' in the store")
        return _scalar(self._con, f'SELECT count(*) FROM "{table}"')

    def distinct(self, table: str, column: str) -> tuple[Any, ...]:
        """The distinct non-null values of a canonical table's column, sorted."""
        spec = TABLES.get(table)
        if spec is None or column not in spec.column_names:
            raise StoreError(f"no column '{column}' in a canonical table '{table}'")
        rows = self._con.execute(
            f'SELECT DISTINCT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL ORDER BY 1'
        ).fetchall()
        return tuple(row[0] for row in rows)

    def has_table(self, name: str) -> bool:
        """Whether the store file holds a table ``name`` (a store made by an older version, opened read-only,
        may lack the tables added since)."""
        rows = self._con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]
        ).fetchall()
        return bool(rows[0][0])

    def provenance(self) -> pd.DataFrame:
        """All provenance records, oldest first."""
        return read_provenance(self._con)

    def categories(self) -> pd.DataFrame:
        """Registered municipal category slugs (outside the vocabulary), in order of first appearance."""
        return self._con.execute("SELECT * FROM categories ORDER BY first_seen, slug").df()

    # ------------------------------------------------------------------ runs
    def save_run(
        self,
        kind: RunKind,
        *,
        model: str | None = None,
        params: Mapping[str, Any] | None = None,
        data_hash: str | None = None,
        code_version: str | None = None,
        metrics: Mapping[str, Any] | None = None,
        status: RunStatus = RunStatus.DONE,
        origin: pd.Timestamp | None = None,
        freq: Freq | str | None = None,
        horizon: int | None = None,
        run_id: str | None = None,
        actor: str = "cli",
    ) -> RunRecord:
        """Record a forecast/backtest/audit run (and log it); ``run_id`` is derived when not given.

        A ``freq`` other than ``W`` or ``M`` is refused before anything is written."""
        from pulsetwin import __version__
        from pulsetwin.store.log import canonical_detail

        kind, status = run_word(RunKind, kind), run_word(RunStatus, status)
        created_at = datetime.now(UTC).replace(tzinfo=None)
        params_dict = dict(params or {})
        run = RunRecord(
            run_id or new_run_id(kind, model, canonical_detail(params_dict), data_hash, created_at),
            created_at, kind, model, params_dict, data_hash, code_version or __version__, dict(metrics or {}),
            status, None if origin is None else pd.Timestamp(origin),
            None if freq is None else Freq.parse(freq, "Store.save_run"), horizon,
        )  # fmt: skip
        with self.transaction():
            insert_run(self._con, run)
            detail = {"kind": kind, "model": model, "status": status}
            self.log.append(actor, "save_run", run.run_id, detail, tables=("runs",))
        return run

    def runs(self) -> pd.DataFrame:
        """All runs, oldest first."""
        return list_runs(self._con)

    def get_run(self, run_id: str) -> RunRecord:
        """One run; StoreError when unknown."""
        return fetch_run(self._con, run_id)

    def set_run_status(self, run_id: str, status: RunStatus, *, actor: str = "cli") -> None:
        """Change a run's status (logged with the previous status)."""
        status = run_word(RunStatus, status, run_id=run_id)
        with self.transaction():
            previous = update_status(self._con, run_id, status)
            self.log.append(
                actor, "set_run_status", run_id, {"from": previous, "to": status}, tables=("runs",)
            )

    # ------------------------------------------------------------------ schema
    def _create_schema(self) -> None:
        """Create missing tables and the log head, in one transaction."""
        statements = (
            *(table_ddl(spec) for spec in TABLES.values() if spec.name != "log"),
            *LOG_DDL, *PROVENANCE_DDL, *CATEGORIES_DDL, *RUNS_DDL, *tracking_ddl(), *EXPLANATIONS_DDL,
            *BUDGET_DDL, *FOLD_FORECASTS_DDL, *ACCOUNTS_DDL, *DECISIONS_DDL,
        )  # fmt: skip
        with self.transaction():
            for statement in statements:
                self._con.execute(statement)
            if not _scalar(self._con, "SELECT count(*) FROM log_head") and not _scalar(
                self._con, "SELECT count(*) FROM log"
            ):
                self._con.execute("INSERT INTO log_head VALUES (0, ?)", [GENESIS_HASH])

    def _check_schema(self) -> None:
        """Refuse a file that lacks PulseTwin tables."""
        present = {str(n) for (n,) in self._con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        missing = [t for t in (*TABLES, *INTERNAL_TABLES) if t not in present]
        if missing:
            raise StoreError(
                f"'{self.path}' is not a PulseTwin store (missing tables {', '.join(missing)}). "
                "Fix: open it once without read_only to create them, or pass the right --db"
            )

    def _require_writable(self) -> None:
        """Refuse writes on a read-only store."""
        if self.read_only:
            raise StoreError(f"store '{self.path}' is open read-only. Fix: open it with read_only=False")


def waiting_file(path: Path) -> Path:
    """The file a process touches while it waits for the store ``path``: ``<path>.waiting``."""
    return path.with_name(path.name + WAITING_SUFFIX)


def access_wanted(path: Path, *, within: float) -> bool:
    """Whether some process touched the waiting file of ``path`` in the last ``within`` seconds."""
    try:
        touched = waiting_file(path).stat().st_mtime
    except FileNotFoundError:
        return False
    return time.time() - touched < within


def _connect(path: Path, *, read_only: bool, wait: float, signal: bool) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file, retrying with back-off while another process holds its lock.

    Any other failure, and a lock still held after ``wait`` seconds, raise with the fix. When ``signal``,
    each retry touches the waiting file, and the file is removed once the store is open.
    """
    deadline = time.monotonic() + wait
    delay = FIRST_RETRY
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as error:
            if not _lock_conflict(error):
                raise StoreError(
                    f"cannot open store '{path}': {error}. Fix: check the path and that the file is a DuckDB "
                    "store"
                ) from None
            left = deadline - time.monotonic()
            if left <= 0:
                raise StoreBusyError(
                    f"store '{path}' is held by another program ({_holder(error)}) and was not released "
                    f"within {wait:g} s. Fix: wait for that command to finish and run this again; a running "
                    "'pulsetwin serve' lets go between requests by itself"
                ) from None
            if signal:
                waiting_file(path).touch()
            time.sleep(min(delay, left))
            delay = min(delay * 1.5, LONGEST_RETRY)
        else:
            if signal:
                waiting_file(path).unlink(missing_ok=True)
            return con


def _lock_conflict(error: duckdb.Error) -> bool:
    """Whether DuckDB refused the file because another process holds its lock."""
    return isinstance(error, duckdb.IOException) and "conflicting lock" in str(error).lower()


def _holder(error: duckdb.Error) -> str:
    """The holding process as DuckDB names it ('PID 123'), else 'another process'."""
    text = str(error)
    start = text.find("PID ")
    return text[start:].split(")")[0].rstrip() if start >= 0 else "another process"


def canonical_dtypes(spec: TableSpec, frame: pd.DataFrame) -> pd.DataFrame:
    """Cast a frame read from DuckDB to the dtypes ``validate_table`` returns.

    Dates and timestamps datetime64[ns]; integers int64 (nullable ones such as ``incidents.count`` Int64);
    floats float64; text str (nullable codes such as ``areas.parent_code`` use '' for empty).
    """
    from pulsetwin.schema.validate import NULLABLE

    out = frame.copy()
    for name, kind in spec.columns:
        nullable = (spec.name, name) in NULLABLE
        if kind in ("date", "timestamp"):
            out[name] = out[name].astype("datetime64[ns]")
        elif kind == "int":
            out[name] = out[name].astype("Int64" if nullable else "int64")
        elif kind == "float":
            out[name] = out[name].astype("float64")
        else:
            out[name] = out[name].astype("str")
            if nullable and name != "name":
                out[name] = out[name].fillna("")
    return out


def _fetch_frame(
    connection: duckdb.DuckDBPyConnection, sql: str, params: list[object], *, order_by: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Run a query through Arrow (much faster than ``.df()`` for text columns) into pandas, rows sorted by
    the ``order_by`` columns (ascending, nulls last, text by bytes: as DuckDB's ``ORDER BY``).

    The sort runs in Arrow: a DuckDB ``ORDER BY`` of a national table (~13 M rows) keeps ~1.2 GB in DuckDB's
    buffer pool until the connection closes, and is slower.
    """
    relation = connection.sql(sql, params=params or None)
    if relation is None:
        raise StoreError(f"query returned no relation: {sql}")
    table = relation.to_arrow_table()
    if order_by and table.num_rows > 1:
        keys = pc.SortOptions([(k, "ascending", "at_end") for k in order_by])  # per-key nulls: pyarrow >= 25
        order = pc.sort_indices(table, options=keys)
        if not np.array_equal(order.to_numpy(), np.arange(table.num_rows)):
            table = table.take(order)
    return table.to_pandas(date_as_object=False)


def _where_clause(spec: TableSpec, where: Mapping[str, object] | None) -> tuple[str, list[object]]:
    """SQL ``WHERE`` for equality / membership filters, with parameters."""
    if not where:
        return "", []
    parts: list[str] = []
    params: list[object] = []
    for column, value in where.items():
        if column not in spec.column_names:
            raise bad_parameter("where", "Store.read", f"keyed by columns of '{spec.name}'", column)
        sql_type = SQL_TYPES[spec.types[column]]
        values = list(value) if isinstance(value, list | tuple | set | frozenset) else [value]
        if not values:
            parts.append("FALSE")
            continue
        params.extend(_param(v) for v in values)
        placeholders = ", ".join(f"CAST(? AS {sql_type})" for _ in values)
        parts.append(f'"{column}" IN ({placeholders})')
    return " WHERE " + " AND ".join(parts), params


def _param(value: object) -> object:
    """Turn pandas/numpy scalars into Python values DuckDB binds."""
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    item = getattr(value, "item", None)
    return item() if callable(item) else value


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


def _scalar(connection: duckdb.DuckDBPyConnection, sql: str) -> int:
    """The first column of the first row as int (0 when no row)."""
    rows = connection.execute(sql).fetchall()  # fully read, so the connection is free for the next query
    return 0 if not rows or rows[0][0] is None else int(rows[0][0])
