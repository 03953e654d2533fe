"""The hash-chained log: pages of records (newest first) and verification of the chain against the anchors.

Verification runs off the store lock: on a cursor of its own (DuckDB MVCC: it sees committed records),
incrementally from the last record verified before, with the hashes recomputed in SQL in chunks of
``VERIFY_CHUNK`` records, resting after each as long as it took (so the walk takes at most half of the CPU it
could, and requests in between get the rest). A view being logged meanwhile does not wait for it, and asking
again costs only the records added since. One verification runs
at a time per server; concurrent callers wait for it and then continue from where it stopped.

Every reader first flushes the log writer, so the views served before the request are in what it reads.
"""

from __future__ import annotations

import json
import threading
import time
import weakref
from contextlib import nullcontext
from typing import Any

import duckdb

from pulsetwin.api.services.backend import Backend
from pulsetwin.store.anchor import AnchorReader, LineProblem, outstanding
from pulsetwin.store.digest import DIGESTS_KEY, KEY_ID_FIELD, MAC_FIELD
from pulsetwin.store.log import GENESIS_HASH, AnchorCheck, Log, LogVerification
from pulsetwin.store.logpage import read_log_page

VERIFY_CHUNK = 5_000  # records per verification statement (tens of milliseconds each)
_VERIFIERS: weakref.WeakKeyDictionary[Backend, LogVerifier] = weakref.WeakKeyDictionary()
_VERIFIERS_LOCK = threading.Lock()


def log_page(
    backend: Backend, action: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of log records, newest first, and the total."""
    backend.log_writer.flush()
    with backend.session() as store:
        records, total = read_log_page(store, action=action, limit=limit, offset=offset)
    items = []
    for record in records:
        record["detail"] = json.loads(record.pop("detail_json"))
        record["digests"] = record["detail"].pop(DIGESTS_KEY, {})
        for bookkeeping in (KEY_ID_FIELD, MAC_FIELD):  # which key made the digests, and their binding
            record["detail"].pop(bookkeeping, None)
        items.append(record)
    return items, total


class LogVerifier:
    """Verifies one server's log incrementally, off the store lock; remembers the last verified record.

    Anchors are read from the store's anchor file as it grows (:class:`AnchorReader`), before the chain, so
    every anchor read names a record the chain read after it can see. A failure found once is reported
    until the server restarts: a rewritten history does not heal.
    """

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._run_lock = threading.Lock()
        self._checkpoint = (0, GENESIS_HASH)
        self._reader: AnchorReader | None = None  # made on the first call, from the store as opened
        self._anchored = 0
        self._late: list[tuple[int, int]] = []  # records anchors name as committed without an anchor
        self._accepted: list[tuple[int, int]] = []  # records anchored late that the operator accepted
        self._failures: list[AnchorCheck | LineProblem] = []

    def verify(self) -> dict[str, Any]:
        """Verify the records added since the last call (all of them the first time) and the new anchors."""
        # The lease keeps the store open during the walk; the lock is held only to make the cursor.
        self._backend.log_writer.flush()
        with self._run_lock, self._backend.lease.hold() as store:
            if self._reader is None and store.anchor_path is not None:
                self._reader = AnchorReader(store.anchor_path, store.log.key)
            with self._backend.lock:
                cursor = store.read_cursor()
            try:
                return self._step(cursor)
            finally:
                cursor.close()

    def _step(self, cursor: duckdb.DuckDBPyConnection) -> dict[str, Any]:
        """One incremental verification on ``cursor``, in one read transaction (one snapshot of the log)."""
        start = self._checkpoint[0]
        anchors = None if self._reader is None else self._reader.read_new()
        log = Log(cursor, nullcontext)
        cursor.begin()  # after reading the anchors: the snapshot holds every record they name
        try:
            chain = log.verify_from(*self._checkpoint, chunk=VERIFY_CHUNK, pause=time.sleep)
            checked = None if anchors is None else log.check_anchor_file(anchors, chain)
        finally:
            cursor.rollback()
        if checked is not None:
            self._failures += [*checked.problems, *checked.failed]
            held = [c.anchor.seq for c in checked.checks if c.ok]
            self._anchored = max([self._anchored, *held])
            self._late += checked.late
            self._accepted += checked.accepted
        if chain.ok:
            self._checkpoint = (chain.last_seq, chain.last_hash)
        late = list(outstanding(self._late, self._accepted))
        return _payload(chain, self._failures, self._anchored, late, start, self._reader)


def _payload(
    chain: LogVerification,
    failures: list[AnchorCheck | LineProblem],
    anchored: int,
    late: list[tuple[int, int]],
    start: int,
    reader: AnchorReader | None,
) -> dict[str, Any]:
    """The verification as the API reports it; unanchored records and records anchored late are never
    counted as verified."""
    ok = chain.ok and not failures
    reason = chain.reason
    if chain.ok and failures:
        first = failures[0]
        reason = f"anchor file line {first.line}: {first.reason}"
    return {
        "ok": ok, "n_records": chain.n_records, "first_bad_seq": chain.first_bad_seq, "reason": reason,
        "anchored_seq": anchored if ok else 0, "unanchored": chain.n_records - (anchored if ok else 0),
        "verified_from": start, "anchor_file": None if reader is None else str(reader.path),
        "late": [list(r) for r in late] if ok else [],
    }  # fmt: skip


def verifier(backend: Backend) -> LogVerifier:
    """The server's one verifier (made on first use)."""
    with _VERIFIERS_LOCK:
        found = _VERIFIERS.get(backend)
        if found is None:
            found = _VERIFIERS[backend] = LogVerifier(backend)
        return found


def verify(backend: Backend) -> dict[str, Any]:
    """Verify the chain and the anchors incrementally, off the store lock (see :class:`LogVerifier`)."""
    return verifier(backend).verify()


def head(backend: Backend) -> dict[str, Any]:
    """The current head of the chain, to be anchored outside the store (see ``pulsetwin log anchor``)."""
    backend.log_writer.flush()
    with backend.session() as store:
        seq, digest = store.log.head()
    return {"seq": seq, "hash": digest}
