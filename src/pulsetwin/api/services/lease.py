"""The server's lease on the store file: open while requests need it, let go when idle or when asked.

DuckDB lets one process hold a store file for writing, and no other process may even read it meanwhile. A
server that kept the file open would lock every CLI command out. So the server opens the store when a request
needs it and keeps it open while requests keep coming (an open costs tens of milliseconds), and closes it

- after ``idle`` seconds without a request, and
- as soon as the requests in flight are done when another process waits for the file: a waiting
  :class:`~pulsetwin.store.database.Store` touches ``<store>.waiting`` while it retries, and a watcher thread
  here sees that within ``poll`` seconds.

While the other process holds the file (an import, a forecast run), requests that need the store wait for it,
with back-off, up to ``wait`` seconds, then fail with :class:`StoreBusyError` (the API answers 503 with
Retry-After); nothing is written half. Views already served wait in the log writer's queue meanwhile and are
committed once the store is back; views beyond the writer's bound are not served.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pulsetwin.exceptions import StoreBusyError
from pulsetwin.store.connect import access_wanted
from pulsetwin.store.database import Store

IDLE_SECONDS = 2.0
WAIT_SECONDS = 20.0
POLL_SECONDS = 0.05
WANTED_WITHIN = 1.0  # a waiting file touched this recently means a process is still waiting
DRAIN_SECONDS = 0.5  # new requests hold back this long while the lease drains for a waiting process
RETRY_START = 0.02
RETRY_LONGEST = 0.5


class PinnedStore:
    """A store opened by the caller and kept open (CLI commands and tests that hand a Backend a Store)."""

    def __init__(self, store: Store, *, on_close: Callable[[], None]) -> None:
        self.store = store
        self._on_close = on_close

    @contextmanager
    def hold(self) -> Iterator[Store]:
        """The store."""
        yield self.store

    @property
    def busy(self) -> bool:
        """Never busy: the caller holds the file."""
        return False

    def current(self) -> Store:
        """The store."""
        return self.store

    def close(self) -> None:
        """Close the read cursors, then the store."""
        self._on_close()
        self.store.close()


class StoreLease:
    """Opens the store at ``path`` on demand and closes it when idle or when another process waits for it.

    Parameters
    ----------
    path
        The store file.
    on_close
        Called, with no request holding the store, just before it is closed (closes read cursors).
    idle, wait, poll
        Seconds without a request before closing; longest wait for the file; how often the watcher looks.
    options
        Further keyword arguments of each :class:`Store` opened (where it anchors the log, the anchor key).
    """

    def __init__(
        self,
        path: Path,
        *,
        on_close: Callable[[], None],
        idle: float = IDLE_SECONDS,
        wait: float = WAIT_SECONDS,
        poll: float = POLL_SECONDS,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        self.path = Path(path)
        self._options = dict(options or {})
        self._on_close = on_close
        self._idle, self._wait, self._poll = idle, wait, poll
        self._cond = threading.Condition()
        self._store: Store | None = None
        self._users = 0
        self._opening = False
        self._yielding = False
        self._closed = False
        self._last_used = time.monotonic()
        self._local = threading.local()
        self._watcher: threading.Thread | None = None
        self._refused_at = -1e9
        self.opens = 0  # how often the file was opened: tests and benchmarks read it

    @property
    def busy(self) -> bool:
        """Whether the store is closed now because another process wants or holds it (or it is opening)."""
        if self._store is not None:
            return False
        recently_refused = time.monotonic() - self._refused_at < WANTED_WITHIN
        return self._opening or recently_refused or access_wanted(self.path, within=WANTED_WITHIN)

    @contextmanager
    def hold(self) -> Iterator[Store]:
        """The open store, kept open until the block ends; nested holds of one thread share it.

        Raises
        ------
        StoreBusyError
            When another process holds the file for longer than ``wait`` seconds.
        """
        depth = getattr(self._local, "depth", 0)
        store = self.current() if depth else self._acquire()
        self._local.depth = depth + 1
        try:
            yield store
        finally:
            self._local.depth = depth
            if not depth:
                self._release()

    def current(self) -> Store:
        """The store this thread holds (inside :meth:`hold`)."""
        if not getattr(self._local, "depth", 0) or self._store is None:
            raise RuntimeError("the store is used outside a hold")
        return self._store

    def close(self) -> None:
        """Close the store (if open) and stop the watcher; later holds fail."""
        with self._cond:
            self._closed = True
            self._cond.wait_for(lambda: self._users == 0, timeout=self._wait)
            self._close_locked()
            self._cond.notify_all()
        if self._watcher is not None:
            self._watcher.join()

    # ------------------------------------------------------------------ internals
    def _acquire(self) -> Store:
        deadline = time.monotonic() + self._wait
        with self._cond:
            # requests hold back while the lease drains for a waiting process, but only briefly: one of
            # the requests in flight may be waiting for this one (a shared cache build)
            self._cond.wait_for(lambda: not self._yielding, timeout=DRAIN_SECONDS)
            while self._store is None:
                if self._closed:
                    raise RuntimeError("the store lease is closed")
                if self._opening:
                    if not self._cond.wait(timeout=max(0.0, deadline - time.monotonic())):
                        self._refuse_busy()
                    continue
                self._opening = True
                self._cond.release()
                try:
                    store = self._open(deadline)
                finally:
                    self._cond.acquire()
                    self._opening = False
                    self._cond.notify_all()
                self._store, self._yielding = store, False
                self.opens += 1
                self._start_watcher()
            self._users += 1
            return self._store

    def _release(self) -> None:
        with self._cond:
            self._users -= 1
            self._last_used = time.monotonic()
            if self._users == 0 and self._yielding:
                self._close_locked()
            self._cond.notify_all()

    def _open(self, deadline: float) -> Store:
        """Open the store once no other process waits for it, retrying with back-off until ``deadline``."""
        delay = RETRY_START
        while True:
            if not access_wanted(self.path, within=WANTED_WITHIN):
                try:
                    store = Store(self.path, wait=0, signal=False, **self._options)
                except StoreBusyError:
                    self._refused_at = time.monotonic()
                else:
                    return store
            left = deadline - time.monotonic()
            if left <= 0:
                self._refuse_busy()
            time.sleep(min(delay, left))
            delay = min(delay * 1.5, RETRY_LONGEST)

    def _refuse_busy(self) -> None:
        raise StoreBusyError(
            f"store '{self.path}' is held by another program (a CLI import, forecast or export) for more "
            f"than {self._wait:g} s. Fix: try again when it has finished"
        )

    def _close_locked(self) -> None:
        """Close the store (caller holds the condition and no request uses the store)."""
        if self._store is None:
            return
        self._on_close()
        self._store.close()
        self._store, self._yielding = None, False

    def _start_watcher(self) -> None:
        if self._watcher is None or not self._watcher.is_alive():
            self._watcher = threading.Thread(target=self._watch, name="pulsetwin-store-lease", daemon=True)
            self._watcher.start()

    def _watch(self) -> None:
        """Close the store when idle, or drain and close it when another process waits; stop once closed."""
        while True:
            time.sleep(self._poll)
            with self._cond:
                if self._store is None:
                    if self._closed or not self._opening:
                        self._watcher = None
                        return
                    continue
                if access_wanted(self.path, within=WANTED_WITHIN):
                    self._yielding = True
                idle = time.monotonic() - self._last_used > self._idle
                if self._users == 0 and (self._yielding or idle):
                    self._close_locked()
                    self._cond.notify_all()
