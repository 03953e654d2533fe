"""The API's handle on the store: one connection, a lock (DuckDB connections are not thread-safe), caches.

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


def connection(store: Store) -> duckdb.DuckDBPyConnection:
    """The store's DuckDB connection, for the API's own tables only."""
    return store.connection


class Backend:
    """The open store, the lock serialising access to it, and small caches keyed by the data version."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.lock = threading.RLock()
        self._cache: dict[tuple[Any, ...], Any] = {}
        self._version: tuple[float, tuple[int, int]] | None = None
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

    def data_version(self) -> tuple[int, int]:
        """Changes whenever data or runs change: (provenance records, runs and their statuses).

        Re-read at most once a second: the server holds the store's only write connection, so changes come
        from this process; a second of staleness after a change made through the Store is the price of
        not querying on every request.
        """
        now = time.monotonic()
        if self._version is not None and now - self._version[0] < VERSION_SECONDS:
            return self._version[1]
        rows = self.sql(
            "SELECT (SELECT count(*) FROM provenance), "
            "(SELECT count(*) + coalesce(sum(hash(status)) % 1000003, 0) FROM runs)"
        )
        version = int(rows[0][0]), int(rows[0][1])
        self._version = (now, version)
        return version

    def cached(self, key: tuple[Any, ...], build: Callable[[], T]) -> T:
        """``build()`` once per key and data version (caller holds the lock)."""
        full = (*key, self.data_version())
        if full not in self._cache:
            if len(self._cache) > 256:
                self._cache.clear()
            self._cache[full] = build()
        value: T = self._cache[full]
        return value

    def close(self) -> None:
        """Close the store."""
        with self.lock:
            self.store.close()
