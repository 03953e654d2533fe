"""Group commit of log records: one thread appends the records of concurrent requests in one transaction.

Two ways in:

- :meth:`LogWriter.post` (views): the record is queued and the request answers at once; the writer commits
  it within ``window`` seconds, together with the other views queued meanwhile. The chain stays in queue
  order. When the store cannot be had (a CLI command holds it) the writer keeps the records and tries again;
  a request is refused (503) only when ``max_pending`` records are waiting, so what was served but not yet
  written stays bounded. :meth:`LogWriter.close` (the server's shutdown) commits everything queued.
- :meth:`LogWriter.write` (records a caller must see committed: exports, refusals, failed logins): blocks
  until the batch holding it is committed, and raises its error.

:meth:`LogWriter.flush` waits until everything queued before it is committed: readers of the log call it, so
they see every view served before their request.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, cast

from pulsetwin.exceptions import StoreBusyError
from pulsetwin.store.database import Store
from pulsetwin.store.log import AnchorError, LogEntry, LogRecord, canonical_detail

logger = logging.getLogger(__name__)
MAX_BATCH = 500
MAX_PENDING = 20_000  # posted records not yet committed; beyond this, views are refused with 503
RETRY_START = 0.05
RETRY_LONGEST = 1.0
CLOSE_WAIT = 30.0  # at shutdown, how long queued records may wait for the store before they are given up


@dataclass
class _Item:
    """A queued record (None: a flush marker), the future of its caller, and whether a caller waits."""

    entry: LogEntry | None
    future: Future[LogRecord | None] = field(default_factory=Future)
    waited: bool = True


_STOP = _Item(None)


class LogWriter:
    """A writer thread appending queued log entries in batches with ``Log.append_many``.

    Parameters
    ----------
    session
        Opens a unit of work on the store whose log is written (the backend's lease and lock).
    max_wait
        Seconds a batch holding a record somebody waits for (:meth:`write`, :meth:`flush`) waits for more.
    window
        Seconds a batch of posted records only waits for more: the longest a served view stays unwritten
        while the store is available.
    max_pending
        Posted records that may wait uncommitted before :meth:`post` refuses more.
    """

    def __init__(
        self,
        session: Callable[[], AbstractContextManager[Store]],
        *,
        max_wait: float = 0.002,
        window: float = 0.1,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self._session = session
        self._max_wait, self._window, self._max_pending = max_wait, window, max_pending
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._held: deque[_Item] = deque()  # taken from the queue but not committed yet (store busy)
        self._pending = 0
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._closed = False
        self._stop_deadline = float("inf")

    @property
    def pending(self) -> int:
        """Posted records not committed yet."""
        return self._pending

    def write(self, actor: str, action: str, subject: str, detail: dict[str, Any]) -> LogRecord:
        """Append one record through the next batch and return it once committed (re-raises its error)."""
        return cast(LogRecord, self.submit(LogEntry(actor, action, subject, detail)).result())

    def post(self, actor: str, action: str, subject: str, detail: dict[str, Any]) -> None:
        """Queue one record and return at once; it is committed within ``window`` seconds (in order).

        Raises
        ------
        TypeError, ValueError
            When ``detail`` cannot be serialised (nothing is queued).
        StoreBusyError
            When ``max_pending`` posted records wait for the store already.
        """
        entry = LogEntry(actor, action, subject, detail)
        canonical_detail(detail)  # a record that cannot be written fails its request, not a later batch
        if self._pending >= self._max_pending:
            raise StoreBusyError(
                f"{self._pending} log records wait for the store, which another program holds: a view that "
                "cannot be logged is not served. Fix: try again when the import or forecast has finished"
            )
        self._put(_Item(entry, waited=False))

    def submit(self, entry: LogEntry) -> Future[LogRecord | None]:
        """Queue one entry; the future resolves to its record when its batch is committed.

        Raises TypeError or ValueError at once when its detail cannot be serialised (nothing is queued)."""
        canonical_detail(entry.detail)
        item = _Item(entry)
        self._put(item)
        return item.future

    def flush(self) -> None:
        """Wait until every record queued before this call is committed (at once when none is queued)."""
        if self._thread is None or (self._pending == 0 and self._queue.empty() and not self._held):
            return
        marker = _Item(None)
        self._put(marker)
        marker.future.result()

    def close(self) -> None:
        """Commit what is queued, then stop the thread."""
        with self._start_lock:
            self._closed = True
            thread = self._thread
            if thread is not None:
                self._queue.put(_STOP)
        if thread is not None:
            thread.join()

    def _put(self, item: _Item) -> None:
        with self._start_lock:
            if self._closed:
                raise RuntimeError("the log writer is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="pulsetwin-log-writer", daemon=True)
                self._thread.start()
            if not item.waited:
                self._pending += 1
            self._queue.put(item)

    def _run(self) -> None:
        """Take a batch, commit it, resolve its futures; until the stop marker, then commit what is held."""
        stopping = False
        delay = RETRY_START
        while not stopping or self._held:
            if stopping:
                batch = list(self._held)
                self._held.clear()
            else:
                batch, stopping = self._next_batch()
            if not batch:
                continue
            if self._commit(batch):
                delay = RETRY_START
                continue
            if stopping and time.monotonic() > self._stop_deadline:
                self._give_up()
                return
            time.sleep(delay)
            delay = min(delay * 2, RETRY_LONGEST)

    def _next_batch(self) -> tuple[list[_Item], bool]:
        """Held items, then those queued now, waiting after the first up to ``window`` (``max_wait`` once
        somebody waits); and whether the stop marker came."""
        batch = list(self._held)
        self._held.clear()
        if not batch:
            first = self._queue.get()
            if first is _STOP:
                return self._stop([])
            batch.append(first)
        waited = any(item.waited for item in batch)
        started = time.monotonic()
        while len(batch) < MAX_BATCH:
            left = started + (self._max_wait if waited else self._window) - time.monotonic()
            try:
                item = self._queue.get(timeout=max(0.0, left))
            except queue.Empty:
                break
            if item is _STOP:
                return self._stop(batch)
            batch.append(item)
            waited = waited or item.waited
        return batch, False

    def _stop(self, batch: list[_Item]) -> tuple[list[_Item], bool]:
        """The batch to commit before stopping; from now on failed commits are retried until a deadline."""
        self._stop_deadline = time.monotonic() + CLOSE_WAIT
        return batch, True

    def _commit(self, batch: list[_Item]) -> bool:
        """Append a batch in one transaction and resolve its futures; False when posted records of it wait
        (held) to be tried again.

        When the batch fails, the records a caller waits for fail with the error (503 when the store is
        busy); posted records are kept and tried again. A batch that committed is never retried.
        """
        entries = [item for item in batch if item.entry is not None]
        records: list[LogRecord] | None = None
        try:
            if entries:
                with self._session() as store:
                    records = store.log.append_many(item.entry for item in entries if item.entry is not None)
        except AnchorError as error:  # committed but not anchored: a retry would log it twice
            logger.error("%s", error)
            self._resolve(batch, [], error)
            return True
        except BaseException as error:  # every waiting request must hear of the failure
            if records is None:
                logger.warning("log records wait for the store: %s", error)
                self._held.extend(item for item in batch if not item.waited)
                self._resolve([item for item in batch if item.waited], [], error)
                return not self._held
            # committed; only letting go of the store failed: the records are written
        self._resolve(batch, records or [], None)
        return True

    def _resolve(self, batch: list[_Item], records: list[LogRecord], error: BaseException | None) -> None:
        """Hand each item its record (in order) or the error; count committed posted records off."""
        found = iter(records)
        posted = 0
        for item in batch:
            record = next(found) if item.entry is not None and error is None else None
            if not item.waited:
                posted += 1
            elif error is not None:
                item.future.set_exception(error)
            else:
                item.future.set_result(record)
        with self._start_lock:
            self._pending -= posted

    def _give_up(self) -> None:
        """At shutdown, name in the server's log every record that could not be written (store held)."""
        for item in self._held:
            if item.entry is not None:
                logger.error("log record not written (store unavailable at shutdown): %s", item.entry)
        self._held.clear()
