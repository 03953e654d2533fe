"""The ``runs`` table: a generic record of forecast, hotspot, audit and study runs (what ran, on which data).

A run's kind and status are closed vocabularies (:class:`RunKind`, :class:`RunStatus`): string enums, so the
stored values and the log records stay the plain words they always were, while a typo in code is a type error
and an unknown word read from a store is refused by name.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

import duckdb
import pandas as pd

from pulsetwin.exceptions import StoreError
from pulsetwin.schema.periods import Freq
from pulsetwin.store.access import Source, connection_of
from pulsetwin.store.log import canonical_detail


class RunKind(StrEnum):
    """What a run is."""

    FORECAST = "forecast"
    AUDIT = "audit"
    HOTSPOTS = "hotspots"
    FEEDBACK_LOOP = "feedback_loop"
    SCENARIO = "scenario"


class RunStatus(StrEnum):
    """Where a run stands: a forecast is ``ok`` or ``no_skill`` (and ``blocked`` by a failing audit); an audit
    ``passed``, ``blocked`` or ``insufficient`` (cannot assess); other runs are ``done``."""

    DONE = "done"
    OK = "ok"
    NO_SKILL = "no_skill"
    BLOCKED = "blocked"
    PASSED = "passed"
    INSUFFICIENT = "insufficient"


Word = TypeVar("Word", RunKind, RunStatus)


def run_word(vocabulary: type[Word], value: str, *, run_id: str | None = None) -> Word:
    """``value`` as a member of ``vocabulary``; StoreError naming the allowed words when it is none of them."""
    try:
        return vocabulary(value)
    except ValueError:
        allowed = ", ".join(member.value for member in vocabulary)
        where = f" of run '{run_id}'" if run_id else ""
        raise StoreError(
            f"unknown run {vocabulary.__name__.removeprefix('Run').lower()} {value!r}{where}; "
            f"expected one of {allowed}. Fix: use one of these words (a store written by a newer PulseTwin "
            "needs that version)"
        ) from None


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
    kind: RunKind
    model: str | None
    params: dict[str, Any]
    data_hash: str | None
    code_version: str | None
    metrics: dict[str, Any]
    status: RunStatus
    origin: pd.Timestamp | None
    freq: Freq | None
    horizon: int | None


def new_run_id(
    kind: RunKind, model: str | None, params_json: str, data_hash: str | None, created_at: datetime
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
    kind = run_word(RunKind, row[2], run_id=row[0])
    status = run_word(RunStatus, row[8], run_id=row[0])
    return RunRecord(
        row[0], row[1], kind, row[3], json.loads(row[4]), row[5], row[6], json.loads(row[7]), status,
        origin, freq, horizon,
    )  # fmt: skip


def update_status(connection: duckdb.DuckDBPyConnection, run_id: str, status: RunStatus) -> RunStatus:
    """Set a run's status and return the previous one; StoreError when the run is unknown."""
    previous = fetch_run(connection, run_id).status
    connection.execute("UPDATE runs SET status = ? WHERE run_id = ?", [status, run_id])
    return previous


def run_categories(source: Source, run_id: str) -> list[str]:
    """The categories a run forecast, sorted."""
    rows = connection_of(source).execute(
        "SELECT DISTINCT category FROM forecasts WHERE run_id = ? ORDER BY 1", [run_id]
    )
    return [str(c) for (c,) in rows.fetchall()]


def run_periods(source: Source, run_id: str) -> list[Any]:
    """The periods a run forecast (their start dates), sorted."""
    rows = connection_of(source).execute(
        "SELECT DISTINCT period_start FROM forecasts WHERE run_id = ? ORDER BY 1", [run_id]
    )
    return [p for (p,) in rows.fetchall()]


def run_has_area(source: Source, run_id: str, area_code: str) -> bool:
    """Whether a run holds forecasts of area ``area_code``."""
    rows = connection_of(source).execute(
        "SELECT count(*) FROM (SELECT 1 FROM forecasts WHERE run_id = ? AND area_code = ? LIMIT 1)",
        [run_id, area_code],
    )
    return bool(rows.fetchall()[0][0])
