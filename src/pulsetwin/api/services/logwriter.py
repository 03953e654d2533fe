"""Group commit of log records: one thread appends the records of concurrent requests in one transaction.

A request hands its record to :meth:`LogWriter.write` and blocks until the batch holding it is committed, so
no response claims success before its record is durable. While one batch commits, the next one fills up:
under load many views share one commit; alone, a view waits only for its own commit (plus ``max_wait``).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager
from typing import Any

from pulsetwin.exceptions import StoreBusyError
from pulsetwin.store.database import Store
from pulsetwin.store.log import AnchorError, LogEntry, LogRecord

MAX_BATCH = 500
_STOP = None


class LogWriter:
    """A writer thread appending queued log entries in batches with ``Log.append_many``.

    Parameters
    ----------
    session
        Opens a unit of work on the store whose log is written (the backend's lease and lock).
    max_wait
        Seconds the writer waits for more entries after the first of a batch arrives.
    """

    def __init__(
        self, session: Callable[[], AbstractContextManager[Store]], *, max_wait: float = 0.002
    ) -> None:
        self._session = session
        self._max_wait = max_wait
        self._queue: queue.SimpleQueue[tuple[LogEntry, Future[LogRecord]] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._closed = False

    def write(self, actor: str, action: str, subject: str, detail: dict[str, Any]) -> LogRecord:
        """Append one record through the next batch and return it once committed (re-raises its error)."""
        return self.submit(LogEntry(actor, action, subject, detail)).result()

    def submit(self, entry: LogEntry) -> Future[LogRecord]:
        """Queue one entry; the future resolves to its record when its batch is committed."""
        future: Future[LogRecord] = Future()
        with self._start_lock:
            if self._closed:
                raise RuntimeError("the log writer is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="pulsetwin-log-writer", daemon=True)
                self._thread.start()
            self._queue.put((entry, future))
        return future

    def close(self) -> None:
        """Commit what is queued, then stop the thread."""
        with self._start_lock:
            self._closed = True
            thread = self._thread
            if thread is not None:
                self._queue.put(_STOP)
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        """Take a batch, commit it, resolve its futures; until the stop marker."""
        stopping = False
        while not stopping:
            batch, stopping = self._next_batch()
            if batch:
                self._commit(batch)

    def _next_batch(self) -> tuple[list[tuple[LogEntry, Future[LogRecord]]], bool]:
        """The entries queued now, waiting up to ``max_wait`` after the first; and whether to stop."""
        first = self._queue.get()
        if first is _STOP:
            return [], True
        batch = [first]
        deadline = time.monotonic() + self._max_wait
        while len(batch) < MAX_BATCH:
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if item is _STOP:
                return batch, True
            batch.append(item)
        return batch, False

    def _commit(self, batch: list[tuple[LogEntry, Future[LogRecord]]]) -> None:
        """Append a batch in one transaction and resolve each future with its record.

        When the batch fails, its entries are retried one by one, so only the entry at fault fails; when the
        store is busy (another program holds it), they all fail at once: the requests answer 503.
        """
        try:
            with self._session() as store:
                records = store.log.append_many(entry for entry, _ in batch)
        except AnchorError as error:  # committed but not anchored: a retry would log it twice
            for _, future in batch:
                future.set_exception(error)
            return
        except BaseException as error:  # every waiting request must hear of the failure
            if len(batch) > 1 and not isinstance(error, StoreBusyError):
                for item in batch:
                    self._commit([item])
            else:
                for _, future in batch:
                    future.set_exception(error)
            return
        for (_, future), record in zip(batch, records, strict=True):
            future.set_result(record)
