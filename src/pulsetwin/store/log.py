"""The append-only, hash-chained log: who did what to the store, when, in a form that shows tampering.

Each record's ``hash`` is the SHA-256 of a canonical JSON array of its other fields, ``prev_hash`` included,
so editing any field, deleting or reordering records breaks the chain. The latest ``(seq, hash)`` is also kept
in the one-row table ``log_head``, written in the same transaction, so removing records from the tail
is caught.
The head lives in the same file: whoever can rewrite both tables consistently can forge the log, and
:meth:`Log.verify` cannot tell. :meth:`Log.anchor` (``pulsetwin log anchor``) therefore appends the head to an
anchor file kept outside the store (published, e-mailed to the oversight body, on WORM storage), and
:meth:`Log.verify_anchors` (``pulsetwin log verify --anchor``) fails when any anchored record is missing or
has another hash: the history up to each anchor cannot be rewritten unnoticed. Records after the newest
anchor are covered only by the chain and the in-store head, so anchor after each change that matters.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from pulsetwin.exceptions import LogIntegrityError
from pulsetwin.store.anchor import LogAnchor, NumberedAnchor, append_anchor, read_anchors

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


@dataclass(frozen=True)
class AnchorCheck:
    """One anchor compared with the log: its ``line`` in the anchor file, whether it holds, and why not."""

    line: int
    anchor: LogAnchor
    ok: bool
    reason: str


@dataclass(frozen=True)
class AnchorVerification:
    """The chain walk plus every anchor of one anchor file; ``ok`` only when all of it holds."""

    chain: LogVerification
    file: str
    checks: tuple[AnchorCheck, ...]

    @property
    def ok(self) -> bool:
        """True when the chain verifies and every anchored record still has its anchored hash."""
        return self.chain.ok and all(check.ok for check in self.checks)

    @property
    def failed(self) -> tuple[AnchorCheck, ...]:
        """The anchors that no longer match the log, in file order."""
        return tuple(check for check in self.checks if not check.ok)


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
            last_seq, prev_hash = self.head()
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
            seq, prev_hash = self.head()
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

    def head(self) -> tuple[int, str]:
        """The current head ``(seq, hash)`` as kept in ``log_head`` (``(0, GENESIS_HASH)`` when empty)."""
        heads = self._con.execute("SELECT seq, hash FROM log_head").fetchall()
        return (0, GENESIS_HASH) if not heads else (int(heads[0][0]), str(heads[0][1]))

    def anchor(self, out: Path, *, store: str, actor: str = "cli") -> LogAnchor:
        """Append the current head to the anchor file ``out`` and log the anchoring.

        The chain must verify first (anchoring a forged log would certify it). The anchor names the head
        before the ``anchor`` record, which is appended after the file was written and fsynced: if logging
        fails, the anchor written still names a record of the chain.

        Raises
        ------
        LogIntegrityError
            When the log does not verify, or an earlier anchor in ``out`` no longer matches it; nothing is
            written.
        SchemaError, StoreError
            When ``out`` exists but is not a sound anchor file; nothing is written.
        """
        with self._transaction():
            self.verify_or_raise()
            if out.exists() and (failed := self.verify_anchors(out).failed):
                first = failed[0]
                raise LogIntegrityError(
                    f"anchor file '{out}': {len(failed)} earlier anchor(s) no longer match the log; line "
                    f"{first.line}: {first.reason}. Nothing was anchored. "
                    "Fix: restore the store from a trusted backup and investigate who changed it"
                )
            seq, digest = self.head()
            anchor = LogAnchor(seq, digest, datetime.now(UTC), store)
            line = append_anchor(out, anchor)
            self.append(actor, "anchor", str(out), {"seq": seq, "hash": digest, "line": line, "store": store})
        return anchor

    def verify_anchors(self, path: Path) -> AnchorVerification:
        """Walk the chain and check that every anchor in ``path`` is still a record with that exact hash.

        A chain that was rewritten from record ``k`` on, head included, verifies on its own but fails every
        anchor with ``seq >= k``: the hash of record ``seq`` covers all records before it.
        """
        anchors = read_anchors(path)
        chain = self.verify()
        seqs = sorted({a.anchor.seq for a in anchors})
        stored = dict(
            self._con.execute("SELECT seq, hash FROM log WHERE list_contains(?, seq)", [seqs]).fetchall()
        )
        stored[0] = GENESIS_HASH
        checks = tuple(_check_anchor(a, stored, chain.n_records) for a in anchors)
        return AnchorVerification(chain, str(path), checks)

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


def _check_anchor(numbered: NumberedAnchor, stored: dict[int, str], n_records: int) -> AnchorCheck:
    """Compare one anchor with the hash the log now holds for its record, in plain words."""
    anchor = numbered.anchor
    taken = f"taken {anchor.at.isoformat(timespec='seconds')}"
    found = stored.get(anchor.seq)
    if found is None:
        reason = (
            f"record {anchor.seq} ({taken}) is no longer in the log, which holds {n_records} records: "
            "records were removed after this anchor was taken"
        )
        return AnchorCheck(numbered.line, anchor, False, reason)
    if found != anchor.hash:
        reason = (
            f"record {anchor.seq} now has hash {found[:12]}… instead of the anchored {anchor.hash[:12]}… "
            f"({taken}): the history up to record {anchor.seq} was rewritten after this anchor was taken"
        )
        return AnchorCheck(numbered.line, anchor, False, reason)
    return AnchorCheck(
        numbered.line, anchor, True, f"record {anchor.seq} still has the anchored hash ({taken})"
    )


def _bad(n_records: int, seq: int, reason: str) -> LogVerification:
    """A failed verification."""
    return LogVerification(False, n_records, seq, reason)
