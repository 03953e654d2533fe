"""Anchor files: the log head written outside the store, one JSON line per anchoring, append-only.

A forger who can write the store file can rewrite the log and its head consistently; a copy of the head
kept elsewhere (published, e-mailed to the oversight body, on WORM storage) is out of their reach, and every
anchored ``(seq, hash)`` must stay a record of the chain. Lines are only ever appended: one ``write`` on a
descriptor opened with ``O_APPEND``, then ``fsync``; an existing file is read and checked first so a damaged
file is never extended.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pulsetwin.exceptions import Location, SchemaError, StoreError

ANCHOR_FIELDS = ("seq", "hash", "at", "store")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_FIX = "restore the anchor file from its published or archived copy; never edit it by hand"


@dataclass(frozen=True)
class LogAnchor:
    """One anchoring: the log head was record ``seq`` with ``hash`` at ``at`` (UTC) in store ``store``."""

    seq: int
    hash: str
    at: datetime
    store: str

    def to_json_line(self) -> str:
        """The anchor as one JSON line (keys in a fixed order, newline included)."""
        payload = {"seq": self.seq, "hash": self.hash, "at": self.at.isoformat(), "store": self.store}
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")) + "\n"


@dataclass(frozen=True)
class NumberedAnchor:
    """An anchor and the 1-based line of the anchor file it was read from."""

    line: int
    anchor: LogAnchor


def read_anchors(path: Path) -> list[NumberedAnchor]:
    """Every anchor of an anchor file, in file order.

    Raises
    ------
    StoreError
        When the file is missing or holds no anchor.
    SchemaError
        Naming the line (as row) and field of the first malformed or cut-off line.
    """
    if not path.is_file():
        raise StoreError(
            f"anchor file '{path}' does not exist. Fix: pass the file 'pulsetwin log anchor --out' wrote"
        )
    text = path.read_text(encoding="utf-8")
    if text and not text.endswith("\n"):
        line = text.count("\n") + 1
        raise SchemaError(
            "the last line has no newline: the anchor file was cut off while being written",
            where=Location(file=str(path), row=line),
            fix=_FIX,
        )
    anchors = [NumberedAnchor(n, _parse(path, n, raw)) for n, raw in enumerate(text.splitlines(), start=1)]
    if not anchors:
        raise StoreError(f"anchor file '{path}' holds no anchor. Fix: run 'pulsetwin log anchor' first")
    return anchors


def append_anchor(path: Path, anchor: LogAnchor) -> int:
    """Append ``anchor`` as one line to ``path`` (created when missing) and return its 1-based line number.

    An existing file is checked with :func:`read_anchors` first; nothing is written when it is damaged.
    """
    created = not path.exists()
    lines = 0 if created else len(read_anchors(path))
    data = anchor.to_json_line().encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        written = os.write(descriptor, data)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    if written != len(data):
        raise StoreError(
            f"anchor file '{path}': only {written} of {len(data)} bytes were written (disk full?). "
            f"Fix: free space, then {_FIX}"
        )
    if created:
        _fsync_directory(path.parent)
    return lines + 1


def _parse(path: Path, line: int, raw: str) -> LogAnchor:
    """One anchor line, checked field by field."""
    try:
        payload: Any = json.loads(raw)
    except json.JSONDecodeError:
        payload = None
    if not isinstance(payload, dict) or set(payload) != set(ANCHOR_FIELDS):
        raise SchemaError(
            f"each line must be a JSON object with exactly the fields {', '.join(ANCHOR_FIELDS)}",
            where=Location(file=str(path), row=line, value=raw),
            fix=_FIX,
        )
    seq, digest, at, store = (payload[f] for f in ANCHOR_FIELDS)

    def bad(column: str, value: object, expected: str) -> SchemaError:
        return SchemaError(expected, where=Location(str(path), line, column, value), fix=_FIX)

    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise bad("seq", seq, "seq must be a non-negative integer")
    if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
        raise bad("hash", digest, "hash must be 64 lowercase hexadecimal characters (SHA-256)")
    if not isinstance(store, str):
        raise bad("store", store, "store must be a text path")
    try:
        when = datetime.fromisoformat(at) if isinstance(at, str) else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise bad("at", at, "at must be an ISO 8601 time with a UTC offset")
    return LogAnchor(seq, digest, when, store)


def _fsync_directory(directory: Path) -> None:
    """Make a newly created file's directory entry durable (POSIX; a no-op where directories cannot be opened)."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
