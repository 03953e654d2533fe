"""The append-only, hash-chained log: who did what to the store, when, in a form that shows tampering.

Each record's ``hash`` is the SHA-256 of a canonical JSON array of its other fields, ``prev_hash`` included,
so editing any field, deleting or reordering records breaks the chain. The latest ``(seq, hash)`` is also kept
in the one-row table ``log_head``, written in the same transaction, so removing records from the tail
is caught.
The head lives in the same file: whoever can rewrite both tables consistently can forge the log; anchor
``log_head`` outside the store (e.g. publish it) when that matters.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from pulsetwin.exceptions import LogIntegrityError

GENESIS_HASH = "0" * 64

LOG_DDL = (
    'CREATE TABLE IF NOT EXISTS log (seq BIGINT NOT NULL, "at" TIMESTAMP NOT NULL, actor VARCHAR NOT NULL, '
    "action VARCHAR NOT NULL, subject VARCHAR NOT NULL, detail_json VARCHAR NOT NULL, "
    "prev_hash VARCHAR NOT NULL, "
    "hash VARCHAR NOT NULL)",
    "CREATE TABLE IF NOT EXISTS log_head (seq BIGINT NOT NULL, hash VARCHAR NOT NULL)",
)


@dataclass(frozen=True)
class LogRecord:
    """One log entry; ``detail`` is the parsed ``detail_json``."""

    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    detail_json: str
    prev_hash: str
    hash: str

    @property
    def detail(self) -> dict[str, Any]:
        """The detail as a dict."""
        parsed: dict[str, Any] = json.loads(self.detail_json)
        return parsed


@dataclass(frozen=True)
class LogEntry:
    """A record still to be appended: who did what to which subject, with details."""

    actor: str
    action: str
    subject: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class LogVerification:
    """Result of walking the chain: ``first_bad_seq`` is the first record that is wrong or missing."""

    ok: bool
    n_records: int
    first_bad_seq: int | None
    reason: str


def canonical_detail(detail: dict[str, Any]) -> str:
    """Serialise ``detail`` deterministically (sorted keys, no spaces, UTF-8 kept)."""
    return json.dumps(detail, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def record_hash(
    seq: int, at: datetime, actor: str, action: str, subject: str, detail_json: str, prev_hash: str
) -> str:
    """SHA-256 (hex) of the canonical serialisation of one record's fields."""
    payload = [seq, at.isoformat(timespec="microseconds"), actor, action, subject, detail_json, prev_hash]
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Log:
    """The store's log. Obtain it as ``store.log``; appends join the caller's open transaction if any."""

    def __init__(
        self, connection: duckdb.DuckDBPyConnection, transaction: Callable[[], AbstractContextManager[None]]
    ) -> None:
        self._con = connection
        self._transaction = transaction

    def append(self, actor: str, action: str, subject: str, detail: dict[str, Any]) -> LogRecord:
        """Append one record, chained to the last one, and move the head, in one transaction."""
        with self._transaction():
            # The head row (seq 0 and the genesis hash on a new store) names the last record without a scan.
            heads = self._con.execute("SELECT seq, hash FROM log_head").fetchall()
            last_seq, prev_hash = (0, GENESIS_HASH) if not heads else (int(heads[0][0]), str(heads[0][1]))
            seq = last_seq + 1
            at = datetime.now(UTC).replace(tzinfo=None)
            detail_json = canonical_detail(detail)
            digest = record_hash(seq, at, actor, action, subject, detail_json, prev_hash)
            self._con.execute(
                "INSERT INTO log VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [seq, at, actor, action, subject, detail_json, prev_hash, digest],
            )
            self._con.execute("DELETE FROM log_head")
            self._con.execute("INSERT INTO log_head VALUES (?, ?)", [seq, digest])
        return LogRecord(seq, at, actor, action, subject, detail_json, prev_hash, digest)

    def append_many(self, entries: Iterable[LogEntry]) -> list[LogRecord]:
        """Append several records in order, each chained to the one before, and move the head once.

        One transaction for all (group commit): a server logging many concurrent views pays for one
        commit instead of one per view. Nothing is written when any entry fails.
        """
        pending = list(entries)
        if not pending:
            return []
        with self._transaction():
            heads = self._con.execute("SELECT seq, hash FROM log_head").fetchall()
            seq, prev_hash = (0, GENESIS_HASH) if not heads else (int(heads[0][0]), str(heads[0][1]))
            at = datetime.now(UTC).replace(tzinfo=None)
            records: list[LogRecord] = []
            for entry in pending:
                seq += 1
                detail_json = canonical_detail(entry.detail)
                digest = record_hash(
                    seq, at, entry.actor, entry.action, entry.subject, detail_json, prev_hash
                )
                records.append(
                    LogRecord(
                        seq, at, entry.actor, entry.action, entry.subject, detail_json, prev_hash, digest
                    )
                )
                prev_hash = digest
            self._con.executemany(
                "INSERT INTO log VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    [r.seq, r.at, r.actor, r.action, r.subject, r.detail_json, r.prev_hash, r.hash]
                    for r in records
                ],
            )
            self._con.execute("DELETE FROM log_head")
            self._con.execute("INSERT INTO log_head VALUES (?, ?)", [seq, prev_hash])
        return records

    def records(self, *, limit: int | None = None) -> list[LogRecord]:
        """All records in ``seq`` order, or the last ``limit`` ones."""
        if limit is None:
            rows = self._con.execute("SELECT * FROM log ORDER BY seq").fetchall()
        else:
            rows = self._con.execute(
                "SELECT * FROM (SELECT * FROM log ORDER BY seq DESC LIMIT ?) ORDER BY seq", [limit]
            ).fetchall()
        return [LogRecord(*row) for row in rows]

    def verify(self) -> LogVerification:
        """Walk the chain from the genesis hash and compare its end with ``log_head``.

        Detects an edited field (hash mismatch), a deleted or duplicated record (gap in ``seq`` or broken
        ``prev_hash``), reordering (hashes cover ``seq``) and a truncated tail (head ahead of the last
        record).
        """
        records = self.records()
        expected_prev = GENESIS_HASH
        for expected_seq, record in enumerate(records, start=1):
            if record.seq != expected_seq:
                return _bad(
                    len(records), expected_seq, f"record {expected_seq} is missing (found seq {record.seq})"
                )
            if record.prev_hash != expected_prev:
                reason = f"record {record.seq} does not chain to record {record.seq - 1} (prev_hash differs)"
                return _bad(len(records), record.seq, reason)
            recomputed = record_hash(
                record.seq,
                record.at,
                record.actor,
                record.action,
                record.subject,
                record.detail_json,
                record.prev_hash,
            )
            if recomputed != record.hash:
                return _bad(
                    len(records), record.seq, f"record {record.seq} was edited (its hash does not match)"
                )
            expected_prev = record.hash
        return self._verify_head(records)

    def verify_or_raise(self) -> LogVerification:
        """Like :meth:`verify`, but raise LogIntegrityError naming the first bad record."""
        result = self.verify()
        if not result.ok:
            raise LogIntegrityError(
                f"the log does not verify: first bad record seq {result.first_bad_seq}: {result.reason}. "
                "Fix: restore the store from a trusted backup and investigate who changed it"
            )
        return result

    def _verify_head(self, records: list[LogRecord]) -> LogVerification:
        """Compare the end of a sound chain with the head kept in ``log_head``."""
        heads = self._con.execute("SELECT seq, hash FROM log_head").fetchall()
        last_seq = records[-1].seq if records else 0
        last_hash = records[-1].hash if records else GENESIS_HASH
        if len(heads) != 1:
            return _bad(len(records), last_seq + 1, f"log_head holds {len(heads)} rows instead of 1")
        head_seq, head_hash = int(heads[0][0]), str(heads[0][1])
        if head_seq > last_seq:
            reason = f"records {last_seq + 1}..{head_seq} were removed from the end of the log"
            return _bad(len(records), last_seq + 1, reason)
        if head_seq < last_seq:
            reason = f"records after {head_seq} were added without moving the log head"
            return _bad(len(records), head_seq + 1, reason)
        if head_hash != last_hash:
            return _bad(len(records), last_seq, f"record {last_seq} does not match the log head hash")
        return LogVerification(True, len(records), None, "ok")


def _bad(n_records: int, seq: int, reason: str) -> LogVerification:
    """A failed verification."""
    return LogVerification(False, n_records, seq, reason)
