"""The API's handle on the store: the write connection and its lock, read cursors, caches, the log writer.

Writes go through the store's one connection under a lock (a DuckDB connection is not thread-safe). Reads on
the hot path use a cursor per thread (a second connection to the same database, MVCC: it sees committed
data) and never wait for the lock, so a view that is being committed does not hold up other requests.
Forecast views are appended by the :class:`LogWriter`, which group-commits concurrent views.

The API keeps its own tables (users, tokens, decisions, kill switches) in the store file. The Store has no
public SQL accessor; :func:`connection` is the one narrowly scoped place that reaches for it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import duckdb

from pulsetwin.api.services.logwriter import LogWriter
from pulsetwin.store.database import Store

API_DDL = (
    "CREATE TABLE IF NOT EXISTS users (username VARCHAR PRIMARY KEY, role VARCHAR NOT NULL, "
    "scheme VARCHAR NOT NULL, salt VARCHAR NOT NULL, pw_hash VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL)",
    "CREATE TABLE IF NOT EXISTS api_tokens (token_hash VARCHAR PRIMARY KEY, username VARCHAR NOT NULL, "
    "created_at TIMESTAMP NOT NULL, expires_at TIMESTAMP NOT NULL)",
    'CREATE TABLE IF NOT EXISTS decisions (decision_id BIGINT PRIMARY KEY, "at" TIMESTAMP NOT NULL, '
    "actor VARCHAR NOT NULL, run_id VARCHAR NOT NULL, area_code VARCHAR NOT NULL, action VARCHAR NOT NULL, "
    "reason VARCHAR NOT NULL, log_seq BIGINT NOT NULL)",
    'CREATE TABLE IF NOT EXISTS kill_switches (run_id VARCHAR PRIMARY KEY, "at" TIMESTAMP NOT NULL, '
    "actor VARCHAR NOT NULL, reason VARCHAR NOT NULL, log_seq BIGINT NOT NULL)",
)
T = TypeVar("T")
VERSION_SECONDS = 1.0
CACHE_ENTRIES = 256


def connection(store: Store) -> duckdb.DuckDBPyConnection:
    """The store's DuckDB connection, for the API's own tables only."""
    return store.connection


class Backend:
    """The open store, the lock serialising writes to it, read cursors, caches and the log writer."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.lock = threading.RLock()
        self.log_writer = LogWriter(store, self.lock)
        self._cache: dict[tuple[Any, ...], Any] = {}
        self._cache_lock = threading.Lock()
        self._building: dict[tuple[Any, ...], threading.Lock] = {}
        self._version: tuple[float, tuple[int, int]] | None = None
        self._local = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self.tokens: dict[str, Any] = {}
        self.withdrawn: dict[str, tuple[Any, ...]] | None = None
        with self.session():
            for statement in API_DDL:
                self.sql(statement)

    @contextmanager
    def session(self) -> Iterator[Store]:
        """Hold the lock for a unit of work; nested sessions of one thread are fine."""
        with self.lock:
            yield self.store

    def sql(self, statement: str, params: list[object] | None = None) -> list[tuple[Any, ...]]:
        """Run one statement on the store's connection and fetch all rows (caller holds the lock)."""
        return connection(self.store).execute(statement, params or []).fetchall()

    def read_sql(self, statement: str, params: list[object] | None = None) -> list[tuple[Any, ...]]:
        """Run one read-only query on this thread's cursor, without the lock; sees committed data."""
        cursor: duckdb.DuckDBPyConnection | None = getattr(self._local, "cursor", None)
        if cursor is None:
            with self.lock:  # the shared connection makes the cursor
                cursor = connection(self.store).cursor()
                self._cursors.append(cursor)
            self._local.cursor = cursor
        return cursor.execute(statement, params or []).fetchall()

    def data_version(self) -> tuple[int, int]:
        """Changes whenever data or runs change: (provenance records, runs and their statuses).

        Re-read at most once a second: the server holds the store's only write connection, so changes come
        from this process; a second of staleness after a change made through the Store is the price of
        not querying on every request.
        """
        now = time.monotonic()
        known = self._version
        if known is not None and now - known[0] < VERSION_SECONDS:
            return known[1]
        rows = self.read_sql(
            "SELECT (SELECT count(*) FROM provenance), "
            "(SELECT count(*) + coalesce(sum(hash(status)) % 1000003, 0) FROM runs)"
        )
        version = int(rows[0][0]), int(rows[0][1])
        self._version = (now, version)
        return version

    def cached(self, key: tuple[Any, ...], build: Callable[[], T]) -> T:
        """``build()`` once per key and data version; thread-safe, callers need not hold the lock.

        Concurrent misses of one key wait for a single build. ``build`` takes the lock itself if it
        uses the shared connection; call ``cached`` without holding it (the build lock is taken first).
        """
        full = (*key, self.data_version())
        missing = object()
        hit = self._cache.get(full, missing)
        if hit is not missing:
            return hit  # type: ignore[no-any-return]
        with self._cache_lock:
            building = self._building.setdefault(full, threading.Lock())
        with building:
            hit = self._cache.get(full, missing)
            if hit is not missing:
                return hit  # type: ignore[no-any-return]
            try:
                value = build()
            except BaseException:
                with self._cache_lock:
                    self._building.pop(full, None)
                raise
            with self._cache_lock:
                if len(self._cache) >= CACHE_ENTRIES:
                    self._cache.clear()
                self._cache[full] = value
                self._building.pop(full, None)
        return value

    def close(self) -> None:
        """Commit queued log records, close the read cursors, then the store."""
        self.log_writer.close()
        with self.lock:
            for cursor in self._cursors:
                cursor.close()
            self._cursors.clear()
            self.store.close()
