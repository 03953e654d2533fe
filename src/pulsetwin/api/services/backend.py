"""The API's handle on the store: a lease on the file, the lock serialising writes, read cursors, caches,
the log writer.

The server does not keep the store file open: :class:`~pulsetwin.api.services.lease.StoreLease` opens it
while requests need it and lets go when idle or when a CLI command waits for it, so ``import``, ``forecast``
and ``export`` run while ``serve`` does. Writes go through the store's one connection under a lock (a DuckDB
connection is not thread-safe). Reads on the hot path use a cursor per thread (a second connection to the
same database, MVCC: it sees committed data) and never wait for the lock. Forecast views are appended by the
:class:`LogWriter`, which group-commits them off the response path.

The API's own tables (users, tokens, decisions, kill switches) are the store's like every other: their DDL
and typed accessors live in :mod:`pulsetwin.store.accounts` and :mod:`pulsetwin.store.decisions`. The services
call those with the store of a :meth:`Backend.session` (writes, under the lock) or through :meth:`Backend.read`
(this thread's read cursor from :meth:`~pulsetwin.store.database.Store.read_cursor`, no lock).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from pulsetwin.api.services.lease import PinnedStore, StoreLease
from pulsetwin.api.services.logwriter import LogWriter
from pulsetwin.store.anchor import resolve_anchor_path
from pulsetwin.store.database import Store

T = TypeVar("T")
VERSION_SECONDS = 1.0
CACHE_ENTRIES = 4096  # least recently used answers go first; a run's rows are used by every miss, so stay


class Backend:
    """The store (leased from its path, or pinned when given open), the lock serialising writes to it, read
    cursors, caches and the log writer."""

    def __init__(
        self, store: Store | Path | str, *, anchor_file: Path | None = None, anchor_key: Path | None = None
    ) -> None:
        self.lock = threading.RLock()
        self.lease: StoreLease | PinnedStore = (
            PinnedStore(store, on_close=self._close_cursors)
            if isinstance(store, Store)
            else StoreLease(
                Path(store),
                on_close=self._close_cursors,
                options={"anchor_file": anchor_file, "anchor_key": anchor_key},
            )
        )
        self.anchor_path = (
            store.anchor_path if isinstance(store, Store) else resolve_anchor_path(Path(store), anchor_file)
        )
        """Where every write of this server anchors the log head (None: nowhere, an in-memory store)."""
        self.log_writer = LogWriter(self.session)
        self._cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._building: dict[tuple[Any, ...], threading.Lock] = {}
        self._version: tuple[float, tuple[int, int]] | None = None
        self._local = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._generation = 0
        self.tokens: dict[str, Any] = {}
        self.decisions_version = 0  # bumped by each decision this server records: keys cached area views
        self.withdrawn: dict[str, tuple[Any, ...]] | None = None

    def _close_cursors(self) -> None:
        """Close every read cursor (the lease is about to close the store; no request is using them)."""
        for cursor in self._cursors:
            cursor.close()
        self._cursors.clear()
        self._generation += 1

    @contextmanager
    def session(self) -> Iterator[Store]:
        """Hold the store and the lock for a unit of work; nested sessions of one thread are fine.

        Raises StoreBusyError when another program holds the store file for too long."""
        with self.lease.hold() as store, self.lock:
            yield store

    def read(self, accessor: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Call a typed store accessor (a :data:`pulsetwin.store.access.Source` reader) with this thread's
        read cursor, without the lock; it sees committed data."""
        with self.lease.hold() as store:
            return accessor(self._cursor(store))

    def read_sql(self, statement: str, params: list[object] | None = None) -> list[tuple[Any, ...]]:
        """Run one read-only query on this thread's cursor, without the lock; sees committed data."""
        return self.read(lambda cursor: cursor.execute(statement, params or []).fetchall())

    def read_arrow(self, statement: str, params: list[object] | None = None) -> pa.Table:
        """Like :meth:`read_sql`, but the result as an Arrow table (compact, for caching many rows)."""
        return self.read(lambda cursor: cursor.sql(statement, params=params or None).to_arrow_table())

    def _cursor(self, store: Store) -> duckdb.DuckDBPyConnection:
        """This thread's read cursor on the store as opened now (the caller holds the lease)."""
        known: tuple[int, duckdb.DuckDBPyConnection] | None = getattr(self._local, "cursor", None)
        if known is None or known[0] != self._generation:
            with self.lock:  # the shared connection makes the cursor
                cursor = store.read_cursor()
                self._cursors.append(cursor)
            known = (self._generation, cursor)
            self._local.cursor = known
        return known[1]

    def data_version(self) -> tuple[int, int]:
        """Changes whenever data or runs change: (provenance records, runs and their statuses).

        Re-read at most once a second: a second of staleness after a change (by this server or by a CLI
        command) is the price of not querying on every request. While another program holds the store, the
        known version stands, so cached answers keep coming.
        """
        now = time.monotonic()
        known = self._version
        if known is not None and (now - known[0] < VERSION_SECONDS or self.lease.busy):
            return known[1]
        rows = self.read_sql(
            "SELECT (SELECT count(*) FROM provenance), "
            "(SELECT count(*) + coalesce(sum(hash(status)) % 1000003, 0) FROM runs)"
        )
        version = int(rows[0][0]), int(rows[0][1])
        self._version = (now, version)
        return version

    def cached(self, key: tuple[Any, ...], build: Callable[[], T]) -> T:
        """``build()`` once per key and data version, kept while among the ``CACHE_ENTRIES`` most recently
        used; thread-safe, callers need not hold the lock.

        Concurrent misses of one key wait for a single build. ``build`` takes the lock itself if it
        uses the shared connection; call ``cached`` without holding it (the build lock is taken first).
        """
        full = (*key, self.data_version())
        missing = object()
        with self._cache_lock:
            hit = self._cache.get(full, missing)
            if hit is not missing:
                self._cache.move_to_end(full)
                return hit  # type: ignore[no-any-return]
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
                while len(self._cache) >= CACHE_ENTRIES:
                    self._cache.popitem(last=False)
                self._cache[full] = value
                self._building.pop(full, None)
        return value

    def peek(self, key: tuple[Any, ...]) -> Any | None:
        """What :meth:`cached` holds for ``key`` at the data version read less than ``VERSION_SECONDS``
        ago, else None; never touches the store, so an async route may call it on the event loop."""
        known = self._version
        if known is None or time.monotonic() - known[0] >= VERSION_SECONDS:
            return None
        full = (*key, known[1])
        with self._cache_lock:
            hit = self._cache.get(full)
            if hit is not None:
                self._cache.move_to_end(full)
            return hit

    def close(self) -> None:
        """Commit queued log records, close the read cursors, then the store."""
        self.log_writer.close()
        self.lease.close()
