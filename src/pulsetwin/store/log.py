"""The append-only, hash-chained log: who did what to the store, when, in a form that shows tampering.

Each record's ``hash`` is the SHA-256 of a canonical JSON array of its other fields, ``prev_hash`` included,
so editing any field, deleting or reordering records breaks the chain. The latest ``(seq, hash)`` is also kept
in the one-row table ``log_head``, written in the same transaction, so removing records from the tail
is caught.

The head lives in the same file: whoever can rewrite both tables consistently can forge the chain. So after
every committed write the store appends the new head to an anchor file outside the store
(:mod:`pulsetwin.store.anchor`; chained lines, signed when a key is configured), and
:meth:`Log.verify_anchors` (``pulsetwin log verify``) fails when any anchored record is missing or has another
hash. Records after the newest anchor are reported as unanchored, never as verified; records an anchor line
names as committed without an anchor before it (``late``: a forged record appended to the store, or a crash
between a commit and its anchoring) are reported as anchored late, never as verified either.

Records of writes carry digests of the rows they changed (:mod:`pulsetwin.store.digest`), so
:meth:`Log.verify_tables` (``pulsetwin log verify --deep``) names a table edited outside PulseTwin.

The chain is recomputed in SQL (DuckDB's ``sha256`` over the same serialisation, no Python loop, the GIL
released), from the genesis or, with :meth:`Log.verify_from`, from a record verified before; a record the
SQL flags is judged again by :func:`record_hash`, which defines the hash.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from pulsetwin.exceptions import LogIntegrityError, PulsetwinError, StoreError
from pulsetwin.store.anchor import (
    AnchorFile,
    AnchorWriter,
    LineProblem,
    LogAnchor,
    NumberedAnchor,
    read_anchor_file,
)
from pulsetwin.store.digest import (
    DIGESTS_KEY,
    KEY_ID_FIELD,
    MAC_FIELD,
    NO_ROW_KEY,
    RowKey,
    TableChange,
    TableCheck,
    check_tables,
    digest_mac,
    state_detail,
)

GENESIS_HASH = "0" * 64
FLAGGED_PAGE = 100
CHUNK = 20_000  # records per verification statement

LOG_DDL = (
    'CREATE TABLE IF NOT EXISTS log (seq BIGINT NOT NULL, "at" TIMESTAMP NOT NULL, actor VARCHAR NOT NULL, '
    "action VARCHAR NOT NULL, subject VARCHAR NOT NULL, detail_json VARCHAR NOT NULL, "
    "prev_hash VARCHAR NOT NULL, "
    "hash VARCHAR NOT NULL)",
    "CREATE TABLE IF NOT EXISTS log_head (seq BIGINT NOT NULL, hash VARCHAR NOT NULL)",
)
_LOG_SCHEMA = pa.schema(
    [("seq", pa.int64()), ("at", pa.timestamp("us")), *((c, pa.string()) for c in
     ("actor", "action", "subject", "detail_json", "prev_hash", "hash"))]
)  # fmt: skip
# The serialisation of record_hash, in SQL: json.dumps([seq, at, actor, action, subject, detail_json, prev_hash]).
_PAYLOAD_SQL = (
    "sha256('[' || seq || ',' || to_json(strftime(\"at\", '%Y-%m-%dT%H:%M:%S.%f')) || ',' || to_json(actor) "
    "|| ',' || to_json(action) || ',' || to_json(subject) || ',' || to_json(detail_json) || ',' "
    "|| to_json(prev_hash) || ']')"
)


class AnchorError(StoreError):
    """A write was committed but its head could not be anchored outside the store."""


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
        """The detail as a dict, as the writer gave it (without the row digests, see :attr:`digests`)."""
        parsed: dict[str, Any] = json.loads(self.detail_json)
        parsed.pop(DIGESTS_KEY, None)
        parsed.pop(KEY_ID_FIELD, None)
        parsed.pop(MAC_FIELD, None)
        return parsed

    @property
    def digests(self) -> dict[str, Any]:
        """Digests of the rows this write changed, per table (empty for records of reads)."""
        parsed: dict[str, Any] = json.loads(self.detail_json).get(DIGESTS_KEY, {})
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
    """Result of walking the chain: ``first_bad_seq`` is the first record that is wrong or missing.

    ``last_seq`` and ``last_hash`` name the end of the verified chain (the head) when ``ok``.
    """

    ok: bool
    n_records: int
    first_bad_seq: int | None
    reason: str
    last_seq: int = 0
    last_hash: str = GENESIS_HASH


@dataclass(frozen=True)
class AnchorCheck:
    """One anchor compared with the log: its ``line`` in the anchor file, whether it holds, and why not."""

    line: int
    anchor: LogAnchor
    ok: bool
    reason: str


@dataclass(frozen=True)
class AnchorVerification:
    """The chain walk plus every anchor of one anchor file; ``ok`` only when all of it holds.

    ``problems`` are lines of the file that break its chain of lines or fail their signature;
    ``signed_unchecked`` counts signed lines left unchecked because no key was given.
    """

    chain: LogVerification
    file: str
    checks: tuple[AnchorCheck, ...]
    problems: tuple[LineProblem, ...] = ()
    signed_unchecked: int = 0

    @property
    def ok(self) -> bool:
        """True when the chain verifies, the file is sound and every anchored record still has its hash."""
        return self.chain.ok and not self.problems and all(check.ok for check in self.checks)

    @property
    def failed(self) -> tuple[AnchorCheck, ...]:
        """The anchors that no longer match the log, in file order."""
        return tuple(check for check in self.checks if not check.ok)

    @property
    def late(self) -> tuple[tuple[int, int], ...]:
        """The records ``(first, last)`` that anchors which hold name as committed without an anchor."""
        return tuple(c.anchor.late for c in self.checks if c.ok and c.anchor.late is not None)

    @property
    def accepted(self) -> tuple[tuple[int, int], ...]:
        """The records ``(first, last)`` anchored late that anchors which hold accept ('log anchor
        --accept-late')."""
        return tuple(c.anchor.accepted for c in self.checks if c.ok and c.anchor.accepted is not None)

    @property
    def anchored_seq(self) -> int | None:
        """The newest record an anchor of this file vouches for (None when none holds or the file is unsound)."""
        if self.problems or self.failed or not self.checks:
            return None
        return max(check.anchor.seq for check in self.checks)


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
    """The store's log. Obtain it as ``store.log``; appends join the caller's open transaction if any.

    Parameters
    ----------
    connection, transaction
        The store's connection and its transaction context.
    anchors
        Where to anchor the head after each committed write (None: no automatic anchoring).
    key
        The anchor key (HMAC), used to sign the anchors this log writes and to check anchor files.
    row_key
        The id and file of the key the connection digests rows with (:mod:`pulsetwin.store.rowkey`); records
        with digests name its id.
    """

    def __init__(
        self,
        connection: duckdb.DuckDBPyConnection,
        transaction: Callable[[], AbstractContextManager[None]],
        *,
        anchors: AnchorWriter | None = None,
        key: bytes | None = None,
        row_key: RowKey = NO_ROW_KEY,
    ) -> None:
        self._con = connection
        self._transaction = transaction
        self._anchors = anchors
        self._key = key
        self._row_key = row_key
        # the first record appended in the open transaction and its head (seq, hash)
        self._pending: tuple[int, int, str] | None = None
        self._vouched = False  # 'log anchor' vouched for the head in the open transaction

    @property
    def key(self) -> bytes | None:
        """The anchor key this log signs and checks with (None: unsigned)."""
        return self._key

    def append(
        self,
        actor: str,
        action: str,
        subject: str,
        detail: dict[str, Any],
        *,
        tables: Iterable[str] = (),
        changes: Mapping[str, TableChange] | None = None,
    ) -> LogRecord:
        """Append one record, chained to the last one, and move the head, in one transaction.

        A write names what it changed so ``log verify --deep`` can check the tables: ``tables`` are small
        tables whose whole state after the write is digested now (write them before appending);
        ``changes`` the rows added to and removed from large tables. Both go into ``detail["digests"]``.
        """
        with self._transaction():
            digests = state_detail(self._con, tables) | {t: c.to_json() for t, c in (changes or {}).items()}
            full = detail | {DIGESTS_KEY: digests, KEY_ID_FIELD: self._row_key.id} if digests else detail
            if digests and self._row_key.secret is not None:  # binds the digests to this record's seq
                full[MAC_FIELD] = digest_mac(self._row_key.secret, self.next_seq(), digests)
            return self.append_many([LogEntry(actor, action, subject, full)])[0]

    def append_many(self, entries: Iterable[LogEntry]) -> list[LogRecord]:
        """Append several records in order, each chained to the one before, and move the head once.

        One transaction for all (group commit): a server logging many concurrent views pays for one
        commit instead of one per view. Nothing is written when any entry fails.
        """
        pending = list(entries)
        if not pending:
            return []
        with self._transaction():
            # The head row (seq 0 and the genesis hash on a new store) names the last record without a scan.
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
            # one Arrow insert: executemany runs a statement per row (~0.8 ms each, 15x the whole batch)
            columns = [pa.array([getattr(r, f.name) for r in records], f.type) for f in _LOG_SCHEMA]
            self._con.from_arrow(pa.Table.from_arrays(columns, schema=_LOG_SCHEMA)).insert_into("log")
            self._con.execute("DELETE FROM log_head")
            self._con.execute("INSERT INTO log_head VALUES (?, ?)", [seq, prev_hash])
            first = records[0].seq if self._pending is None else self._pending[0]
            self._pending = (first, seq, prev_hash)
        return records

    def committed(self) -> None:
        """Anchor the head after a transaction that appended records was committed (called by the store).

        Raises
        ------
        AnchorError
            When the anchor file cannot be written or fails its check; the records stay committed and
            unanchored until a later write anchors a newer head.
        """
        pending, self._pending = self._pending, None
        vouched, self._vouched = self._vouched, False
        if pending is not None:
            first, seq, digest = pending
            self.anchor_head(seq, digest, first=None if vouched else first)

    def anchor_head(self, seq: int, digest: str, *, first: int | None) -> None:
        """Append the committed head ``(seq, digest)`` of a write whose first record is ``first`` to the store's
        own anchor file (none: nothing to do). Records the file did not anchor before ``first`` are named in
        the line as anchored late (:meth:`AnchorWriter.append`); None names none (the write of
        :meth:`anchor`, whose caller vouched for every record before it).

        For :meth:`committed`, and for a head committed in a copy that has since replaced the store file
        (compaction), which only the store it replaced may anchor under its name.

        Raises
        ------
        AnchorError
            As :meth:`committed`.
        """
        if self._anchors is None:
            return
        try:
            self._anchors.append(seq, digest, first=first)
        except (OSError, PulsetwinError) as error:  # a damaged file raises SchemaError or StoreError
            raise AnchorError(
                f"the write was committed (log record {seq}) but its head could not be anchored to "
                f"'{self._anchors.path}': {error}. Records after the last anchor stay unanchored until a "
                "write anchors again, and that anchor names them as anchored late. Fix: repair or move the "
                "anchor file (PULSETWIN_ANCHOR_FILE)"
            ) from error

    def anchoring(self) -> AbstractContextManager[Any]:
        """Held by the store from committing a write until :meth:`committed` anchored it: the lock of the anchor
        file in this process (:func:`~pulsetwin.store.anchor.anchoring_lock`), or nothing without anchors."""
        return nullcontext() if self._anchors is None else self._anchors.lock

    def rolled_back(self) -> None:
        """Forget appends of a transaction that was rolled back (called by the store)."""
        self._pending = None
        self._vouched = False

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
        """Check the chain from the genesis hash and compare its end with ``log_head``.

        Detects an edited field (hash mismatch), a deleted or duplicated record (gap in ``seq`` or broken
        ``prev_hash``), reordering (hashes cover ``seq``) and a truncated tail (head ahead of the last
        record).
        """
        return verify_chain(self._con)

    def verify_from(
        self, seq: int, digest: str, *, chunk: int = CHUNK, pause: Callable[[float], None] | None = None
    ) -> LogVerification:
        """Check only the records after ``seq``, which a former verification found with hash ``digest``.

        For repeated checks of a growing log (the API): records up to ``seq`` are not walked again, but
        record ``seq`` must still hold ``digest``. ``chunk`` and ``pause`` as in :func:`verify_chain`.
        """
        return verify_chain(self._con, seq, digest, chunk=chunk, pause=pause)

    def verify_or_raise(self) -> LogVerification:
        """Like :meth:`verify`, but raise LogIntegrityError naming the first bad record."""
        result = self.verify()
        if not result.ok:
            raise LogIntegrityError(
                f"the log does not verify: first bad record seq {result.first_bad_seq}: {result.reason}. "
                "Fix: restore the store from a trusted backup and investigate who changed it"
            )
        return result

    def next_seq(self) -> int:
        """The seq the next appended record gets: for a row that names its log record and is written, in the
        same transaction, before the record that digests it."""
        return self.head()[0] + 1

    def head(self) -> tuple[int, str]:
        """The current head ``(seq, hash)`` as kept in ``log_head`` (``(0, GENESIS_HASH)`` when empty)."""
        heads = self._con.execute("SELECT seq, hash FROM log_head").fetchall()
        return (0, GENESIS_HASH) if not heads else (int(heads[0][0]), str(heads[0][1]))

    def anchor(
        self, out: Path, *, store: str, actor: str = "cli", accept: tuple[int, int] | None = None
    ) -> LogAnchor:
        """Append the current head to the anchor file ``out`` and log the anchoring.

        ``accept`` records that the operator inspected the records ``(first, last)`` anchored late and
        accepts them (a crash between commit and anchoring): 'log verify' reading ``out`` stops reporting them.
        The record of the anchoring names them too.

        The chain must verify first (anchoring a forged log would certify it). The anchor names the head
        before the ``anchor`` record, which is appended after the file was written and fsynced: if logging
        fails, the anchor written still names a record of the chain. Anchoring is the operator vouching for
        the records it covers (after checking those the store left unanchored), so the store's own anchor of
        the ``anchor`` record names none of them as anchored late.

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
            if accept is not None and not 1 <= accept[0] <= accept[1] <= self.head()[0]:
                raise StoreError(
                    f"cannot accept records {accept[0]}..{accept[1]}: the log holds records 1..{self.head()[0]}. "
                    "Fix: give the range 'log verify' reports as anchored late"
                )
            if out.exists():
                checked = self.verify_anchors(out)
                if checked.failed or checked.problems:
                    reasons = [f"line {c.line}: {c.reason}" for c in checked.failed]
                    reasons += [p.reason for p in checked.problems]
                    raise LogIntegrityError(
                        f"anchor file '{out}': {len(reasons)} earlier anchor(s) no longer match the log; "
                        f"{reasons[0]}. Nothing was anchored. "
                        "Fix: restore the store from a trusted backup and investigate who changed it"
                    )
            seq, digest = self.head()
            writer = AnchorWriter(out, store=store, key=self._key)
            with writer.lock:  # the file may be one a store of this process anchors its writes to
                written = writer.append(seq, digest, accepted=accept)
            detail: dict[str, Any] = {"seq": seq, "hash": digest, "line": written.line, "store": store}
            if accept is not None:
                detail["accepted"] = list(accept)
            self.append(actor, "anchor", str(out), detail)
            self._vouched = True
        return written.anchor

    def verify_anchors(self, path: Path, *, key: bytes | None = None) -> AnchorVerification:
        """Check the chain and that every anchor in ``path`` is still a record with that exact hash.

        A chain that was rewritten from record ``k`` on, head included, verifies on its own but fails every
        anchor with ``seq >= k``: the hash of record ``seq`` covers all records before it. With ``key`` (or
        the key this log was opened with) every line's signature is checked too.
        """
        chain = self.verify()
        return self.check_anchor_file(read_anchor_file(path, key or self._key), chain)

    def check_anchor_file(self, anchors: AnchorFile, chain: LogVerification) -> AnchorVerification:
        """Compare the anchors of a read anchor file with the records the log holds now."""
        seqs = sorted({a.anchor.seq for a in anchors.anchors})
        stored = dict(
            self._con.execute("SELECT seq, hash FROM log WHERE list_contains(?, seq)", [seqs]).fetchall()
        )
        stored[0] = GENESIS_HASH
        checks = tuple(_check_anchor(a, stored, chain.n_records) for a in anchors.anchors)
        unchecked = 0 if anchors.checked else anchors.signed
        return AnchorVerification(chain, str(anchors.path), checks, anchors.problems, unchecked)

    def verify_tables(self, tables: Iterable[str]) -> list[TableCheck]:
        """Recompute the digests of ``tables`` and compare them with what the logged writes imply."""
        return check_tables(self._con, tables, self._row_key)


def verify_chain(
    connection: duckdb.DuckDBPyConnection,
    start_seq: int = 0,
    start_hash: str = GENESIS_HASH,
    *,
    chunk: int = CHUNK,
    pause: Callable[[float], None] | None = None,
) -> LogVerification:
    """Check the records after ``start_seq`` (whose hash must be ``start_hash``) and the head, in SQL.

    The records are checked in chunks of ``chunk`` seqs, one statement each, so a long walk shares the
    database with other queries instead of occupying it for seconds; after each chunk ``pause`` (when
    given) is called with the seconds the chunk took, so a server can leave the CPU to its requests.
    """
    if start_seq:
        found = connection.execute("SELECT hash FROM log WHERE seq = ?", [start_seq]).fetchall()
        if [h for (h,) in found] != [start_hash]:
            reason = f"record {start_seq} no longer has the hash it had when it was last verified"
            return _bad(start_seq, start_seq, reason)
    count, lowest, last_seq = connection.execute(
        "SELECT count(*), min(seq), max(seq) FROM log WHERE seq > ? OR ? = 0", [start_seq, start_seq]
    ).fetchall()[0]
    n_records = start_seq + int(count)
    if lowest is not None and lowest <= start_seq:
        return _bad(n_records, start_seq + 1, f"record {start_seq + 1} is missing (found seq {lowest})")
    low, prev = start_seq, start_hash
    while last_seq is not None and low < last_seq:
        began = time.perf_counter()
        high = min(low + chunk, int(last_seq))
        bad = _check_chunk(connection, low, high, prev, n_records)
        if bad is not None:
            return bad
        ends = connection.execute("SELECT hash FROM log WHERE seq = ?", [high]).fetchall()
        if len(ends) != 1:
            return _bad(
                n_records, high, f"record {high} is missing (found {len(ends)} records with seq {high})"
            )
        low, prev = high, str(ends[0][0])
        if pause is not None and low < last_seq:
            pause(time.perf_counter() - began)
    return _verify_head(connection, n_records, low, prev)


def _check_chunk(
    connection: duckdb.DuckDBPyConnection, low: int, high: int, prev: str, n_records: int
) -> LogVerification | None:
    """The first bad record with ``low < seq <= high`` (record ``low`` has hash ``prev``), or None."""
    checked = (
        f"SELECT seq, row_number() OVER (ORDER BY seq) AS n, lag(hash) OVER (ORDER BY seq) AS before, "
        f"{_PAYLOAD_SQL} AS recomputed, * EXCLUDE (seq) FROM log WHERE seq > ? AND seq <= ?"
    )
    flagged_sql = (
        f"SELECT * EXCLUDE (n, before, recomputed), n, before FROM ({checked}) "
        "WHERE seq <> ? + n OR prev_hash <> coalesce(before, ?) OR recomputed <> hash ORDER BY seq, n "
        "LIMIT ? OFFSET ?"
    )
    offset = 0
    while True:
        flagged = connection.execute(flagged_sql, [low, high, low, prev, FLAGGED_PAGE, offset]).fetchall()
        for row in flagged:
            bad = _judge(LogRecord(*row[:8]), low + int(row[8]), row[9] or prev, n_records)
            if bad is not None:
                return bad
        if len(flagged) < FLAGGED_PAGE:
            return None
        offset += FLAGGED_PAGE


def _judge(
    record: LogRecord, expected_seq: int, expected_prev: str, n_records: int
) -> LogVerification | None:
    """The verdict on a record the SQL flagged (None when :func:`record_hash` finds it sound)."""
    if record.seq != expected_seq:
        return _bad(n_records, expected_seq, f"record {expected_seq} is missing (found seq {record.seq})")
    if record.prev_hash != expected_prev:
        reason = f"record {record.seq} does not chain to record {record.seq - 1} (prev_hash differs)"
        return _bad(n_records, record.seq, reason)
    fields = (record.seq, record.at, record.actor, record.action, record.subject, record.detail_json)
    if record_hash(*fields, record.prev_hash) != record.hash:
        return _bad(n_records, record.seq, f"record {record.seq} was edited (its hash does not match)")
    return None


def _verify_head(
    connection: duckdb.DuckDBPyConnection, n_records: int, last_seq: int, last_hash: str
) -> LogVerification:
    """Compare the end of a sound chain with the head kept in ``log_head``."""
    heads = connection.execute("SELECT seq, hash FROM log_head").fetchall()
    if len(heads) != 1:
        return _bad(n_records, last_seq + 1, f"log_head holds {len(heads)} rows instead of 1")
    head_seq, head_hash = int(heads[0][0]), str(heads[0][1])
    if head_seq > last_seq:
        reason = f"records {last_seq + 1}..{head_seq} were removed from the end of the log"
        return _bad(n_records, last_seq + 1, reason)
    if head_seq < last_seq:
        reason = f"records after {head_seq} were added without moving the log head"
        return _bad(n_records, head_seq + 1, reason)
    if head_hash != last_hash:
        return _bad(n_records, last_seq, f"record {last_seq} does not match the log head hash")
    return LogVerification(True, n_records, None, "ok", last_seq, last_hash)


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
