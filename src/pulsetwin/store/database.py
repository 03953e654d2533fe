"""The store: one DuckDB file holding the canonical tables, provenance, categories, runs and the log.

Imports are validated, guarded against personal data, and applied in one transaction (see
:mod:`pulsetwin.store.importing`): all or nothing, idempotent on re-import, a key stored with other values
refused unless the caller passes ``revise=True``. Opening waits for other processes
(:mod:`pulsetwin.store.connect`); reads come back in canonical dtypes (:mod:`pulsetwin.store.reading`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import pandas as pd

from pulsetwin.exceptions import StoreError
from pulsetwin.schema.params import Number, check_param
from pulsetwin.schema.periods import Freq
from pulsetwin.schema.tables import PROTECTED, TABLES, table_spec
from pulsetwin.store.anchor import AnchorWriter, refuse_foreign_anchors, resolve_anchor_path, resolve_key
from pulsetwin.store.connect import LOCK_WAIT_SECONDS, connect
from pulsetwin.store.digest import RowKey, set_row_key
from pulsetwin.store.importing import ImportReport, import_checked
from pulsetwin.store.imports import UNDO_TABLE, UndoResult, list_imports, undo_import
from pulsetwin.store.io import export_relation
from pulsetwin.store.layout import INTERNAL_TABLES, check_schema, create_schema
from pulsetwin.store.log import Log
from pulsetwin.store.prepare import CheckedImport, check_file, check_frames
from pulsetwin.store.provenance import read_provenance
from pulsetwin.store.reading import canonical_dtypes, fetch_frame, scalar, where_clause
from pulsetwin.store.rowkey import open_row_key, resolve_digest_key_path
from pulsetwin.store.runs import (
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
        ``<path>.anchors.jsonl`` next to the store; none for ``:memory:``). Creating a store whose anchor
        file already holds anchors (of a store that was at this path before) is refused: they cannot match
        the new store's log.
    anchor_key
        Key file signing the anchors and checking signed ones (default: ``PULSETWIN_ANCHOR_KEY``, else
        unsigned). Keep it where the store's writers cannot read it.
    digest_key
        Key file of the row digests (default: ``PULSETWIN_DIGEST_KEY``, else ``<path>.digest.key`` next to
        the store; created when missing unless ``read_only``; see :mod:`pulsetwin.store.rowkey`).
    wait
        Seconds to wait, with back-off, while another process holds the file (DuckDB lets one process
        write, and nobody read while it does); then :class:`~pulsetwin.exceptions.StoreBusyError`.
    anchored
        False: commit without anchoring and leave ``anchor_path`` None, for a temporary copy whose head the
        store it replaces anchors under its own name once the copy is in place (compaction).
    signal
        While waiting, ask the holder to let go by touching :func:`~pulsetwin.store.connect.waiting_file`
        (a running ``serve`` watches it and closes the store between requests). The server itself opens
        without signalling.
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
        anchored: bool = True,
    ) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self.anchor_path = resolve_anchor_path(self.path, anchor_file) if anchored else None
        key = resolve_key(anchor_key)
        if read_only and not self.path.is_file():
            raise StoreError(
                f"store '{self.path}' does not exist. Fix: import data first or pass the right --db"
            )
        check_param("wait", "Store", Number(low=0.0, say="a number of seconds >= 0"), wait)
        if self.anchor_path is not None and not read_only and not self.path.exists():
            refuse_foreign_anchors(self.anchor_path, self.path)
        self._con = connect(self.path, read_only=read_only, wait=float(wait), signal=signal)
        self._depth = 0
        writer = None
        if self.anchor_path is not None and not read_only:
            writer = AnchorWriter(self.anchor_path, store=str(self.path.resolve()), key=key)
        self.digest_key_path = resolve_digest_key_path(self.path, digest_key)
        try:  # after connect: holding the store's lock, no other writer creates the key file meanwhile
            row_key = open_row_key(self.digest_key_path, create=not read_only)
        except BaseException:
            self._con.close()
            raise
        row_key_id = None if row_key.key is None else set_row_key(self._con, row_key.key)
        self.log = Log(
            self._con,
            self.transaction,
            anchors=writer,
            key=key,
            row_key=RowKey(row_key_id, row_key.path, row_key.key),
        )
        if read_only:
            check_schema(self)
        else:
            create_schema(self)

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
        finally:
            self._depth = 0
        with self.log.anchoring():  # no other store of this process anchors between the commit and its anchor
            try:
                self._con.commit()
            except BaseException:
                self.log.rolled_back()  # nothing committed: its records must not count as the next write's
                raise
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
        return import_checked(
            self, checked, source=source, actor=actor, revise=revise, also_source=also_source
        )

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
        clause, params = where_clause(spec, where)
        columns = ", ".join(f'"{c}"' for c in spec.column_names)
        sql = f'SELECT {columns} FROM "{spec.name}"{clause}'
        return canonical_dtypes(spec, fetch_frame(self._con, sql, params, order_by=spec.key))

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
        return scalar(self._con, f'SELECT count(*) FROM "{table}"')

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

    def _require_writable(self) -> None:
        """Refuse writes on a read-only store."""
        if self.read_only:
            raise StoreError(f"store '{self.path}' is open read-only. Fix: open it with read_only=False")
