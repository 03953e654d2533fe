"""The ``runs`` table: a generic record of forecast, backtest and audit runs (what ran, on which data)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from pulsetwin.exceptions import StoreError
from pulsetwin.schema.periods import Freq
from pulsetwin.store.log import canonical_detail

RUNS_DDL = (
    "CREATE TABLE IF NOT EXISTS runs (run_id VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL, "
    "kind VARCHAR NOT NULL, "
    "model VARCHAR, params_json VARCHAR NOT NULL, data_hash VARCHAR, code_version VARCHAR, "
    "metrics_json VARCHAR NOT NULL, status VARCHAR NOT NULL, origin DATE, freq VARCHAR, horizon BIGINT)",
)
RUN_COLUMNS = (
    "run_id", "created_at", "kind", "model", "params_json", "data_hash", "code_version", "metrics_json",
    "status",
    "origin", "freq", "horizon",
)  # fmt: skip


@dataclass(frozen=True)
class RunRecord:
    """One run; ``params`` and ``metrics`` are the parsed JSON columns."""

    run_id: str
    created_at: datetime
    kind: str
    model: str | None
    params: dict[str, Any]
    data_hash: str | None
    code_version: str | None
    metrics: dict[str, Any]
    status: str
    origin: pd.Timestamp | None
    freq: Freq | None
    horizon: int | None


def new_run_id(
    kind: str, model: str | None, params_json: str, data_hash: str | None, created_at: datetime
) -> str:
    """A run id derived from what the run is and when it was recorded (no random generator involved)."""
    stamp = created_at.isoformat(timespec="microseconds")
    seed = f"{kind}|{model or ''}|{params_json}|{data_hash or ''}|{stamp}"
    return f"{kind}-{created_at:%Y%m%dT%H%M%S}-{hashlib.sha256(seed.encode('utf-8')).hexdigest()[:8]}"


def insert_run(connection: duckdb.DuckDBPyConnection, record: RunRecord) -> None:
    """Insert one run (inside the caller's transaction); refuse a run id that exists."""
    # fetchall, not fetchone: a half-read result blocks the connection's next query in DuckDB.
    exists = connection.execute("SELECT count(*) FROM runs WHERE run_id = ?", [record.run_id]).fetchall()
    if exists[0][0]:
        raise StoreError(f"run '{record.run_id}' already exists. Fix: pick another run_id or omit it")
    origin = None if record.origin is None else pd.Timestamp(record.origin).date()
    connection.execute(
        "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            record.run_id, record.created_at, record.kind, record.model, canonical_detail(record.params),
            record.data_hash, record.code_version, canonical_detail(record.metrics), record.status, origin,
            record.freq, record.horizon,
        ],
    )  # fmt: skip


def list_runs(connection: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """All runs, oldest first."""
    return connection.execute(f"SELECT {', '.join(RUN_COLUMNS)} FROM runs ORDER BY created_at, run_id").df()


def fetch_run(connection: duckdb.DuckDBPyConnection, run_id: str) -> RunRecord:
    """The run ``run_id``, or StoreError when it is unknown."""
    rows = connection.execute(
        f"SELECT {', '.join(RUN_COLUMNS)} FROM runs WHERE run_id = ?", [run_id]
    ).fetchall()
    if not rows:
        raise StoreError(f"no run '{run_id}' in the store. Fix: list runs with Store.runs()")
    row = rows[0]
    origin = None if row[9] is None else pd.Timestamp(row[9])
    freq = None if row[10] is None else Freq.parse(row[10], f"the stored run '{run_id}'")
    horizon = None if row[11] is None else int(row[11])
    return RunRecord(
        row[0], row[1], row[2], row[3], json.loads(row[4]), row[5], row[6], json.loads(row[7]), row[8],
        origin, freq, horizon,
    )  # fmt: skip


def update_status(connection: duckdb.DuckDBPyConnection, run_id: str, status: str) -> str:
    """Set a run's status and return the previous one; StoreError when the run is unknown."""
    previous = fetch_run(connection, run_id).status
    connection.execute("UPDATE runs SET status = ? WHERE run_id = ?", [status, run_id])
    return previous
