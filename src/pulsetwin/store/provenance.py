"""Where every imported row came from: one provenance record per table per import, plus file hashing."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from pulsetwin.store.access import Source, connection_of
from pulsetwin.store.log import canonical_detail

if TYPE_CHECKING:
    from pulsetwin.store.database import Store

PROVENANCE_DDL = (
    "CREATE TABLE IF NOT EXISTS provenance (dataset_id VARCHAR NOT NULL, table_name VARCHAR NOT NULL, "
    "source VARCHAR NOT NULL, file VARCHAR, file_hash VARCHAR, imported_at TIMESTAMP NOT NULL, "
    "row_count BIGINT NOT NULL, details_json VARCHAR NOT NULL)",
)

_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def dataset_id(source: str, file_hash: str | None, imported_at: datetime) -> str:
    """A short id shared by the provenance records of one import call."""
    seed = f"{source}|{file_hash or ''}|{imported_at.isoformat(timespec='microseconds')}"
    return "ds-" + hashlib.sha256(seed.encode("utf-8")).hexdigest()[:16]


def write_provenance(
    connection: duckdb.DuckDBPyConnection,
    *,
    dataset: str,
    table: str,
    source: str,
    file: str | None,
    file_hash: str | None,
    imported_at: datetime,
    row_count: int,
    details: dict[str, Any],
) -> None:
    """Insert one provenance record (inside the caller's transaction)."""
    connection.execute(
        "INSERT INTO provenance VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [dataset, table, source, file, file_hash, imported_at, row_count, canonical_detail(details)],
    )


def save_provenance(store: Store, **record: Any) -> None:
    """Insert one provenance record of something PulseTwin wrote itself (a public release), with the fields
    of :func:`write_provenance`, inside the caller's transaction (which logs it)."""
    with store.transaction():
        write_provenance(store._con, **record)


def read_provenance(connection: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """All provenance records, oldest first."""
    return connection.execute("SELECT * FROM provenance ORDER BY imported_at, dataset_id, table_name").df()


def last_import(source: Source) -> datetime | None:
    """When the latest provenance record was written (``None`` in an empty store)."""
    imported: datetime | None = (
        connection_of(source).execute("SELECT max(imported_at) FROM provenance").fetchall()[0][0]
    )
    return imported
