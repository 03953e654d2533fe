"""Digests of table rows: what a write changed, and whether a table still holds what the log says.

A row's hash is the 128-bit MD5 of a secret row key followed by its values as a JSON array (DuckDB
``md5_number`` of the key text and ``json_array`` of the row's columns in table order); a set of rows is
digested as the sum of its row hashes in two 64-bit lanes, modulo 2**64 each, plus the row count. The sum does
not depend on row order and is additive: the digest of a table after a write is the digest before plus the
rows added minus the rows removed. A log record of a write therefore carries either the digest of the rows it
added and removed (``added``/``removed``, for the large canonical tables) or the digest of a small table's
whole state after the write (``state``), and :func:`expected_digests` folds the log into the digest each table
must have now. A table edited directly, without a logged write, no longer matches.

Notes
-----
Why MD5 over a JSON array (``benchmarks/bench_digest.py``): hashing is DuckDB's per-row work, and the former
SHA-256 of ``to_json`` spent about half its time turning hexadecimal text into lanes; ``md5_number`` hands
back a number, and the array without column names is half the text to build and hash. A million stored
incident rows now digest in a quarter to a fifth of the CPU time, and a digested import costs 1.3 to 1.4 times
an undigested one instead of 2.1 to 2.3 times (two runs on a shared 2-core machine). JSON keeps the encoding
injective (quoting, escaping and ``null`` tell every value, column boundary and NULL apart), which a
``concat_ws`` of the values is not, and costs less than a hand-built length-prefixed text. Columns count by
position: the tables' columns are fixed by their schema.

What the digest stands against. Clarke et al. 2003, "Incremental multiset hash functions and their
application to memory integrity checking" (MSet-Add-Hash), prove such a sum unforgeable when the row hash
is keyed, and it is: the key (128 bits, derived from the 32-byte key file of :mod:`pulsetwin.store.rowkey`,
kept outside the store) is the text every hashed row starts with. It reaches DuckDB as a session variable
(:func:`set_row_key`), never written into the file. Each log record that carries digests names the key's
id (``digest_key``, a one-way tag of it), so a check with another key file is refused, not misreported.

Against someone who can edit the DuckDB file (tables, log, head) but cannot read the key file:

- an edit by hand or by script (an UPDATE, a deleted or added row, a value moved between columns) always
  changes a table's digest, barring a 2**-128 accident, and they cannot compute the digest of the rows
  they want to leave behind, so they cannot write a log record that accounts for them; rewriting the log
  at all breaks its chain against the anchors kept outside the store;
- solving for a set of chosen rows whose hashes sum to the logged digest (Wagner's generalised birthday
  attack, about 2**22 row hashes against the unkeyed sum of 128 bits) needs the row hashes, which without
  the key they cannot compute; MD5 collisions need the key too (the hashed text starts with it);
- secret-prefix MD5 is open to length extension, but only from a known hash of one row (the log holds sums,
  never a row's hash) and only to text that continues after the row's closing ``]`` with padding bytes
  (NUL, 0x80), which no JSON array of valid UTF-8 values holds;
- copying a logged digest into a record of their own (a record "removing" an import's rows whose
  ``removed`` is that import's ``added``, after deleting the rows) would balance the fold; each record's
  digests therefore carry ``digest_mac``, an HMAC under the key of the record's seq and digests
  (:func:`digest_mac`), which they cannot compute for a new seq. Records written before it existed have none;
  after the first record that has one, every record with digests must (:func:`unbound_digests`);
- what they still can do: read every table; put back rows exactly as the log accounts for them (undoing
  their own edit); and, with the key file readable to them, everything (keep the key file where the store's
  writers cannot read it, ``PULSETWIN_DIGEST_KEY``, when that matters).

Row hashes follow DuckDB's JSON text of values: check a store with the DuckDB version that wrote it,
or re-digest after an upgrade. Logs written with the former SHA-256 digests (64 hexadecimal characters) or
the former unkeyed MD5 digests (no ``digest_key``) are refused with a clear message rather than reported as
edited tables; ``pulsetwin log rekey`` (:mod:`pulsetwin.store.rekey`) checks the tables against unkeyed digests
once and restates them under the key. The key adds about a fifth to the digest's cost (one more MD5 block per
row of an event).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from pulsetwin.exceptions import StoreError
from pulsetwin.schema.tables import TABLES

LANES = 2
MODULUS = 2**64
DIGESTS_KEY = "digests"
KEY_ID_FIELD = "digest_key"
"""The field of a log record's detail naming the id of the key its digests were made with."""
MAC_FIELD = "digest_mac"
"""The field of a log record's detail binding its digests to its seq under the key (:func:`digest_mac`)."""
KEY_VARIABLE = "pulsetwin_row_key"
"""The DuckDB session variable holding the row key's text while the store is open (never stored)."""
REKEY_ACTION = "rekey_digests"
"""The action of the record that restates every covered table's whole state under the key after the unkeyed
digests of an older log were checked (:mod:`pulsetwin.store.rekey`): the log is folded from the newest one on."""
# Canonical tables get added/removed digests from imports; the small ones a state digest from their writers
# (provenance and categories: imports and public releases; runs: runs; users, tokens, decisions, kill
# switches: the API; privacy_budget: public releases). Explanations and fold forecasts get added digests
# from their runs.
COVERED_TABLES = (
    *(name for name in TABLES if name != "log"),
    "provenance", "categories", "runs", "users", "api_tokens", "decisions", "kill_switches",
    "privacy_budget", "explanations", "fold_forecasts",
)  # fmt: skip


@dataclass(frozen=True)
class Digest:
    """The digest of a multiset of rows: how many, and the lane sums of their hashes."""

    rows: int
    lanes: tuple[int, ...] = (0,) * LANES

    def __add__(self, other: Digest) -> Digest:
        summed = tuple((a + b) % MODULUS for a, b in zip(self.lanes, other.lanes, strict=True))
        return Digest(self.rows + other.rows, summed)

    def __sub__(self, other: Digest) -> Digest:
        diff = tuple((a - b) % MODULUS for a, b in zip(self.lanes, other.lanes, strict=True))
        return Digest(self.rows - other.rows, diff)

    @property
    def hex(self) -> str:
        """The lane sums as 32 hexadecimal characters."""
        return "".join(f"{lane:016x}" for lane in self.lanes)

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON form, as log records carry it."""
        return {"rows": self.rows, "sum": self.hex}

    @classmethod
    def from_json(cls, payload: Mapping[str, Any]) -> Digest:
        """Read the form :meth:`to_json` writes; StoreError on the former SHA-256 form."""
        text = str(payload["sum"])
        if len(text) != 16 * LANES:
            raise StoreError(
                f"a log record carries a row digest of {len(text)} hexadecimal characters where this version "
                f"writes {16 * LANES}: the log was written by an older PulseTwin whose row digests (SHA-256) "
                "it can no longer check. Fix: verify without --deep, or import the data into a new store"
            )
        return cls(int(payload["rows"]), tuple(int(text[16 * i : 16 * i + 16], 16) for i in range(LANES)))


EMPTY = Digest(0)


@dataclass(frozen=True)
class TableChange:
    """The rows one write added to and removed from one table."""

    added: Digest = EMPTY
    removed: Digest = EMPTY

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON form for a log record."""
        return {"added": self.added.to_json(), "removed": self.removed.to_json()}


@dataclass(frozen=True)
class TableCheck:
    """One table compared with the digest its logged writes imply; ``last_seq`` is the last such write."""

    table: str
    ok: bool
    stored: Digest
    logged: Digest | None
    last_seq: int | None
    reason: str


def row_key_text(key: bytes) -> str:
    """The text every hashed row starts with: 128 bits of HMAC-SHA256 of the key file's key, hexadecimal."""
    return hmac.new(key, b"pulsetwin row digest", hashlib.sha256).hexdigest()[:32]


def key_id(key: bytes) -> str:
    """A public tag of a key (16 hexadecimal characters, one-way), for log records and messages."""
    return hmac.new(key, b"pulsetwin row digest key id", hashlib.sha256).hexdigest()[:16]


def set_row_key(connection: duckdb.DuckDBPyConnection, key: bytes) -> str:
    """Let ``connection`` digest rows under ``key`` (a session variable, not stored); returns its id."""
    connection.execute(f"SET VARIABLE {KEY_VARIABLE} = ?", [row_key_text(key)])
    return key_id(key)


def digest_rows(
    connection: duckdb.DuckDBPyConnection,
    relation: str,
    params: list[object] | None = None,
    *,
    keyed: bool = True,
) -> Digest:
    """The keyed digest of the rows a SQL query returns (its columns in table order, as stored).

    DuckDB sums each half of the row hashes exactly (as HUGEINT); the lanes are those sums modulo 2**64.
    ``keyed=False`` digests as PulseTwin did before the key (no text before the row), only to check the
    digests of an older log.

    Raises
    ------
    StoreError
        When no row key was set on the connection (:func:`set_row_key`) and ``keyed``.
    """
    prefix = f"getvariable('{KEY_VARIABLE}')" if keyed else "''"
    if keyed and connection.execute(f"SELECT {prefix}").fetchall()[0][0] is None:
        raise StoreError(
            "rows cannot be digested: no row-digest key was given (the store's key file is missing). "
            "Fix: set PULSETWIN_DIGEST_KEY to the key file the store was written with"
        )
    sql = (
        "SELECT count(*), sum((h >> 64)::UBIGINT), sum((h & 18446744073709551615::UHUGEINT)::UBIGINT) "
        f"FROM (SELECT md5_number({prefix} || CAST(json_array(*COLUMNS(*)) AS VARCHAR)) "
        f"AS h FROM ({relation}))"
    )
    row = connection.execute(sql, params or []).fetchall()[0]
    return Digest(int(row[0]), tuple(int(v or 0) % MODULUS for v in row[1:]))


def table_digest(connection: duckdb.DuckDBPyConnection, table: str, *, keyed: bool = True) -> Digest:
    """The digest of every row of ``table`` (``keyed`` as in :func:`digest_rows`)."""
    return digest_rows(connection, f'SELECT * FROM "{table}"', keyed=keyed)


def state_detail(connection: duckdb.DuckDBPyConnection, tables: Iterable[str]) -> dict[str, Any]:
    """``{table: {"state": digest}}`` of small tables as they are now, for a log record's ``digests``."""
    return {t: {"state": table_digest(connection, t).to_json()} for t in tables}


def digest_mac(key: bytes, seq: int, digests: Mapping[str, Any]) -> str:
    """HMAC-SHA256 (hex), under a key derived from the row key, of log record ``seq``'s digests: binds them to
    the record, so digests copied into another record do not verify."""
    derived = hmac.new(key, b"pulsetwin digest record mac", hashlib.sha256).digest()
    text = json.dumps([seq, digests], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(derived, text.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class RowKey:
    """The id of the key a store digests with now, and where its key file is (for messages); ``secret`` is
    the key itself (None: not at hand), which binds each record's digests to it (:func:`digest_mac`)."""

    id: str | None
    path: Path | None
    secret: bytes | None = field(default=None, repr=False)


NO_ROW_KEY = RowKey(None, None)


def expected_digests(
    records: Iterable[tuple[int, Mapping[str, Any]]], key: RowKey
) -> dict[str, tuple[Digest, int]]:
    """Fold the details of log records (``(seq, detail)`` in seq order) into each table's expected digest and
    last seq.

    Raises
    ------
    StoreError
        When a record's digests are unkeyed (an older PulseTwin), when the key file is missing, or when they
        were made with another key than the one at hand: their tables cannot be checked with this key.
    """
    listed = list(records)
    for seq, detail in listed:
        _require_key(seq, detail.get(KEY_ID_FIELD), key)
    return fold_digests(listed)


def fold_digests(records: Iterable[tuple[int, Mapping[str, Any]]]) -> dict[str, tuple[Digest, int]]:
    """Fold records' digests as :func:`expected_digests` does, whatever key they were made with (the caller
    checks that they were all made alike)."""
    expected: dict[str, tuple[Digest, int]] = {}
    for seq, detail in records:
        for table, change in detail[DIGESTS_KEY].items():
            if "state" in change:
                expected[table] = (Digest.from_json(change["state"]), seq)
                continue
            before = expected.get(table, (EMPTY, seq))[0]
            after = before + Digest.from_json(change["added"]) - Digest.from_json(change["removed"])
            expected[table] = (after, seq)
    return expected


def _require_key(seq: int, logged: object, key: RowKey) -> None:
    """StoreError unless record ``seq``'s digests were made with the key at hand."""
    if logged is None:
        raise StoreError(
            f"log record {seq} carries unkeyed row digests: it was written by a PulseTwin from before row "
            "digests were keyed, and whoever could edit the store could recompute unkeyed digests, so --deep "
            "does not take them as proof. Fix: 'pulsetwin log rekey --db STORE' checks the tables against "
            "them once (chain and anchors must hold) and then logs keyed digests of every table; or verify "
            "without --deep"
        )
    if key.id is None:
        raise StoreError(
            f"the row-digest key file '{key.path}' is missing, so the digests in the log (key "
            f"{logged}) cannot be recomputed. Fix: set PULSETWIN_DIGEST_KEY to the key file the store was "
            "written with"
        )
    if logged != key.id:
        raise StoreError(
            f"log record {seq}'s row digests were made with key {logged}, but the key file '{key.path}' holds "
            f"key {key.id}: the key file was replaced or is the wrong one. Fix: set PULSETWIN_DIGEST_KEY to "
            "the key file the store was written with"
        )


def digest_records(connection: duckdb.DuckDBPyConnection) -> list[tuple[int, dict[str, Any]]]:
    """``(seq, detail)`` of the records carrying digests, in seq order, from the newest re-keying record on
    (it holds every covered table's whole state, so the records before it are not needed)."""
    rows = connection.execute(
        f"SELECT seq, detail_json FROM log WHERE detail_json LIKE '%\"{DIGESTS_KEY}\":%' "
        "AND seq >= (SELECT coalesce(max(seq), 0) FROM log WHERE action = ?) ORDER BY seq",
        [REKEY_ACTION],
    ).fetchall()
    parsed = ((int(seq), json.loads(text)) for seq, text in rows)
    return [(seq, d) for seq, d in parsed if isinstance(d.get(DIGESTS_KEY), dict)]


def logged_digests(connection: duckdb.DuckDBPyConnection, key: RowKey) -> dict[str, tuple[Digest, int]]:
    """Every table's expected digest according to the log records that carry digests."""
    return expected_digests(digest_records(connection), key)


def check_tables(
    connection: duckdb.DuckDBPyConnection, tables: Iterable[str], key: RowKey
) -> list[TableCheck]:
    """Compare each table's rows now with the digest the log implies, naming what differs; a table whose
    digests a record carries without a valid binding (:func:`unbound_digests`) fails, naming the record."""
    records = digest_records(connection)
    expected = expected_digests(records, key)
    unbound = unbound_digests(records, key)
    checks = []
    for table in tables:
        stored, logged = table_digest(connection, table), expected.get(table)
        if table not in unbound:
            checks.append(check_table(table, stored, logged))
            continue
        seq = unbound[table]
        reason = (
            f"table '{table}': log record {seq} carries digests of it that are not bound to the row key "
            f"({MAC_FIELD} missing or wrong): they were copied from another record or made up, so the record "
            "was written outside PulseTwin and the table may have been edited with it"
        )
        checks.append(TableCheck(table, False, stored, None if logged is None else logged[0], seq, reason))
    return checks


def unbound_digests(records: Iterable[tuple[int, Mapping[str, Any]]], key: RowKey) -> dict[str, int]:
    """The tables whose digests some record (``(seq, detail)`` in seq order) carries without a valid
    :func:`digest_mac`, with the first such record; records before the first one with a binding (written
    before bindings existed) are taken as they are. Empty without the key at hand."""
    if key.secret is None:
        return {}
    unbound: dict[str, int] = {}
    bound_seen = False
    for seq, detail in records:
        logged = detail.get(MAC_FIELD)
        bound_seen = bound_seen or logged is not None
        valid = isinstance(logged, str) and hmac.compare_digest(
            logged, digest_mac(key.secret, seq, detail[DIGESTS_KEY])
        )
        if bound_seen and not valid:
            for table in detail[DIGESTS_KEY]:
                unbound.setdefault(table, seq)
    return unbound


def check_table(table: str, stored: Digest, logged: tuple[Digest, int] | None) -> TableCheck:
    """One table's verdict in plain words."""
    if logged is None:
        if stored.rows == 0:
            return TableCheck(table, True, stored, None, None, "empty, and no logged write touched it")
        reason = (
            f"table '{table}' holds {stored.rows} rows but no logged write accounts for them: they were "
            "written directly into the store (or before the log carried digests)"
        )
        return TableCheck(table, False, stored, None, None, reason)
    digest, seq = logged
    if stored == digest:
        return TableCheck(
            table, True, stored, digest, seq, f"{stored.rows} rows as logged (last write: record {seq})"
        )
    if stored.rows != digest.rows:
        what = f"holds {stored.rows} rows where the log accounts for {digest.rows}"
    else:
        what = f"holds {stored.rows} rows as logged, but their content differs"
    reason = f"table '{table}' {what} (last logged write: record {seq}): it was edited outside PulseTwin"
    return TableCheck(table, False, stored, digest, seq, reason)
