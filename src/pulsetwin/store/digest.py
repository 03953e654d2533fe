"""Digests of table rows: what a write changed, and whether a table still holds what the log says.

A row's hash is the 128-bit MD5 of its values as a JSON array (DuckDB ``md5_number`` of ``json_array`` of the
row's columns in table order); a set of rows is digested as the sum of its row hashes in two 64-bit lanes,
modulo 2**64 each, plus the row count. The sum does not depend on row order and is additive: the digest of a
table after a write is the digest before plus the rows added minus the rows removed. A log record of a write
therefore carries either the digest of the rows it added and removed (``added``/``removed``, for the large
canonical tables) or the digest of a small table's whole state after the write (``state``), and
:func:`expected_digests` folds the log into the digest each table must have now. A table edited directly,
without a logged write, no longer matches.

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
is keyed. This one is not keyed, so its strength is that of the unkeyed sum:

- an edit by hand or by script (an UPDATE, a deleted or added row, a value moved between columns) always
  changes it, barring a 2**-128 accident;
- MD5 collisions do not help a forger who finds the rows already stored: they must be crafted in pairs
  beforehand, in binary blocks that JSON text of valid UTF-8 fields would have to carry, and the first of
  each pair must have come in through a logged write;
- a forger who knows the construction and is willing to replace thousands of rows with chosen variants can
  solve for a set whose hashes sum to the logged digest (Wagner's generalised birthday attack): about 2**22
  row hashes for these 128 bits, and still only about 2**32 for the former 256 (4 lanes). Widening the unkeyed
  sum would not stop that forger (an LtHash-wide sum, 2048 bytes per row, costs far more than the import);
  only a row hash keyed with a secret outside the store would, such as the anchor key. Against them, a failed
  deep check is evidence of tampering, a passed one no proof of its absence.

Row hashes follow DuckDB's JSON text of values: check a store with the DuckDB version that wrote it,
or re-digest after an upgrade. Logs written with the former SHA-256 digests (64 hexadecimal characters)
are refused with a clear message rather than reported as edited tables.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import duckdb

from pulsetwin.exceptions import StoreError
from pulsetwin.schema.tables import TABLES

LANES = 2
MODULUS = 2**64
DIGESTS_KEY = "digests"
# Canonical tables get added/removed digests from imports; the small ones a state digest from their writers
# (provenance and categories: imports and public releases; runs: runs; users, tokens, decisions, kill
# switches: the API; privacy_budget: public releases). Explanations get added digests from their runs.
COVERED_TABLES = (
    *(name for name in TABLES if name != "log"),
    "provenance", "categories", "runs", "users", "api_tokens", "decisions", "kill_switches",
    "privacy_budget", "explanations",
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


def digest_rows(
    connection: duckdb.DuckDBPyConnection, relation: str, params: list[object] | None = None
) -> Digest:
    """The digest of the rows a SQL query returns (its columns in table order, as stored).

    DuckDB sums each half of the row hashes exactly (as HUGEINT); the lanes are those sums modulo 2**64.
    """
    sql = (
        "SELECT count(*), sum((h >> 64)::UBIGINT), sum((h & 18446744073709551615::UHUGEINT)::UBIGINT) "
        f"FROM (SELECT md5_number(CAST(json_array(*COLUMNS(*)) AS VARCHAR)) AS h FROM ({relation}))"
    )
    row = connection.execute(sql, params or []).fetchall()[0]
    return Digest(int(row[0]), tuple(int(v or 0) % MODULUS for v in row[1:]))


def table_digest(connection: duckdb.DuckDBPyConnection, table: str) -> Digest:
    """The digest of every row of ``table``."""
    return digest_rows(connection, f'SELECT * FROM "{table}"')


def state_detail(connection: duckdb.DuckDBPyConnection, tables: Iterable[str]) -> dict[str, Any]:
    """``{table: {"state": digest}}`` of small tables as they are now, for a log record's ``digests``."""
    return {t: {"state": table_digest(connection, t).to_json()} for t in tables}


def expected_digests(records: Iterable[tuple[int, Mapping[str, Any]]]) -> dict[str, tuple[Digest, int]]:
    """Fold ``(seq, digests)`` of log records in seq order into each table's expected digest and last seq."""
    expected: dict[str, tuple[Digest, int]] = {}
    for seq, digests in records:
        for table, change in digests.items():
            if "state" in change:
                expected[table] = (Digest.from_json(change["state"]), seq)
                continue
            before = expected.get(table, (EMPTY, seq))[0]
            after = before + Digest.from_json(change["added"]) - Digest.from_json(change["removed"])
            expected[table] = (after, seq)
    return expected


def logged_digests(connection: duckdb.DuckDBPyConnection) -> dict[str, tuple[Digest, int]]:
    """Every table's expected digest according to the log records that carry digests."""
    rows = connection.execute(
        f"SELECT seq, detail_json FROM log WHERE detail_json LIKE '%\"{DIGESTS_KEY}\":%' ORDER BY seq"
    ).fetchall()
    parsed = ((int(seq), json.loads(text)) for seq, text in rows)
    return expected_digests(
        (seq, d[DIGESTS_KEY]) for seq, d in parsed if isinstance(d.get(DIGESTS_KEY), dict)
    )


def check_tables(connection: duckdb.DuckDBPyConnection, tables: Iterable[str]) -> list[TableCheck]:
    """Compare each table's rows now with the digest the log implies, naming what differs."""
    expected = logged_digests(connection)
    return [_check(table, table_digest(connection, table), expected.get(table)) for table in tables]


def _check(table: str, stored: Digest, logged: tuple[Digest, int] | None) -> TableCheck:
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
