"""Anchor files: the log head written outside the store, one JSON line per anchoring, append-only.

A forger who can write the store file can rewrite the log and its head consistently; a copy of the head
kept elsewhere (published, e-mailed to the oversight body, on WORM storage) is out of their reach, and every
anchored ``(seq, hash)`` must stay a record of the chain. Lines are only ever appended: one ``write`` on a
descriptor opened with ``O_APPEND``, then ``fsync``; an existing file is read and checked first so a damaged
file is never extended.

Lines are chained and may be signed. ``prev`` is the SHA-256 of the line before (64 zeros on the first line),
so removing or editing a line in the middle shows; ``mac`` is an HMAC-SHA256 of the line (without ``mac``)
under a key kept outside the store (:func:`load_key`), so whoever can write the store and the anchor file but
does not hold the key cannot write anchors of a forged log. Lines of older files without ``prev`` and ``mac``
still read. What a chain of lines cannot show is lines cut from the end: keep the file where the store's
writer cannot shorten it (another disk, a synchronised folder, WORM storage), or publish it.

The store anchors itself after every committed write (:class:`AnchorWriter`): by default to
``<store file>.anchors.jsonl``; the environment variables ``PULSETWIN_ANCHOR_FILE`` and
``PULSETWIN_ANCHOR_KEY`` (path of a key file) choose another file and sign the lines.

An anchor covers every record up to its ``seq``, so a record appended to the store by someone without the
anchor key would count as verified once the next honest write anchors its head. The writer knows better: it
knows the first record its own write appended and the newest record the file anchored before, and records in
between were committed without being anchored (a forgery, or a crash between commit and anchoring). Such a
line names them in ``late`` (``[first, last]``), and ``log verify`` reports them instead of counting them as
verified. Honest writers never name each other's records: one process at a time holds the store file (DuckDB's
lock) and anchors its writes before it lets go, and within a process stores that anchor to the same file
commit and anchor under one lock (:func:`anchoring_lock`), so a write that saw another's records commits
only after they were anchored. The first line of a file names no records: it cannot know what an earlier
anchor file vouched for (a store whose anchors moved to another file).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pulsetwin.exceptions import Location, SchemaError, StoreError

ANCHOR_FIELDS = ("seq", "hash", "at", "store")
CHAIN_FIELDS = ("prev", "mac")
OPTIONAL_FIELDS = ("late", "accepted", *CHAIN_FIELDS)
ENV_ANCHOR_FILE = "PULSETWIN_ANCHOR_FILE"
ENV_ANCHOR_KEY = "PULSETWIN_ANCHOR_KEY"
ANCHOR_SUFFIX = ".anchors.jsonl"
FIRST_PREV = "0" * 64
KEY_BYTES = 32
_HEX64 = re.compile(r"[0-9a-f]{64}")
_MAC_TAIL = re.compile(r',"mac":"[0-9a-f]{64}"\}$')
_FIX = "restore the anchor file from its published or archived copy; never edit it by hand"
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


@dataclass(frozen=True)
class LogAnchor:
    """One anchoring: the log head was record ``seq`` with ``hash`` at ``at`` (UTC) in store ``store``.

    ``prev`` is the SHA-256 of the anchor line before (None on lines of files written before lines were
    chained); ``mac`` the line's HMAC-SHA256 under the anchor key (None when unsigned). ``late`` names the
    records ``(first, last)`` that the store found committed without an anchor when it wrote this one (None:
    none, or a line written before this was recorded, or by 'log anchor', which vouches for the head as is).
    ``accepted`` names records anchored late that the operator inspected and accepts ('log anchor
    --accept-late'): no longer reported.
    """

    seq: int
    hash: str
    at: datetime
    store: str
    prev: str | None = None
    mac: str | None = None
    late: tuple[int, int] | None = None
    accepted: tuple[int, int] | None = None

    def to_json_line(self) -> str:
        """The anchor as one JSON line (keys in a fixed order, newline included)."""
        payload: dict[str, Any] = {
            "seq": self.seq,
            "hash": self.hash,
            "at": self.at.isoformat(),
            "store": self.store,
        }
        if self.late is not None:
            payload["late"] = list(self.late)
        if self.accepted is not None:
            payload["accepted"] = list(self.accepted)
        if self.prev is not None:
            payload["prev"] = self.prev
        if self.mac is not None:
            payload["mac"] = self.mac
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")) + "\n"


@dataclass(frozen=True)
class NumberedAnchor:
    """An anchor and the 1-based line of the anchor file it was read from."""

    line: int
    anchor: LogAnchor


@dataclass(frozen=True)
class LineProblem:
    """A line of an anchor file that breaks the chain of lines or whose signature does not verify."""

    line: int
    reason: str


@dataclass(frozen=True)
class AnchorFile:
    """Every anchor of a file and what is wrong with its lines (empty when the file is sound).

    ``signed`` counts lines carrying a signature; ``checked`` tells whether they were checked (a key was
    given).
    """

    path: Path
    anchors: tuple[NumberedAnchor, ...]
    problems: tuple[LineProblem, ...]
    signed: int
    checked: bool


def default_anchor_path(store: Path) -> Path:
    """The anchor file next to a store file: ``<store>.anchors.jsonl``."""
    return store.with_name(store.name + ANCHOR_SUFFIX)


def resolve_anchor_path(store: Path, anchor_file: Path | None = None) -> Path | None:
    """Where a store anchors: the argument, else ``PULSETWIN_ANCHOR_FILE``, else next to the store file.

    None for an in-memory store (nothing outside it to anchor to).
    """
    if anchor_file is not None:
        return Path(anchor_file)
    configured = os.environ.get(ENV_ANCHOR_FILE, "")
    if configured:
        return Path(configured)
    if str(store) == ":memory:":
        return None
    return default_anchor_path(store)


def refuse_foreign_anchors(path: Path, store: Path) -> None:
    """Refuse to create the store ``store`` when its anchor file ``path`` already holds anchors.

    A new store's log starts again at record 1, so the anchors of whatever store wrote the file before (one
    that was at this path and was deleted without its anchor file, or another store anchoring to the same
    file) cannot match it: appending to them would make 'log verify' report the new store's history as
    rewritten. Called before the store file is created, so nothing is left behind.
    """
    if not path.is_file() or path.stat().st_size == 0:
        return
    lines = path.read_bytes().count(b"\n")
    raise StoreError(
        f"store '{store}' does not exist yet, but its anchor file '{path}' already holds {lines} anchor line(s) "
        "of another store (one that was at this path before, or that anchors to the same file); the new "
        "store's anchors would follow them and 'log verify' would report its history as rewritten. Nothing "
        f"was created. Fix: move '{path}' away (keep it with the old store if you still have that), or give "
        f"the new store another anchor file ({ENV_ANCHOR_FILE}, or 'serve --anchor-file')"
    )


def anchoring_lock(path: Path) -> threading.Lock:
    """The lock of this process under which a store commits a write and anchors it to ``path``.

    One per anchor file: a store that committed records holds it until they are anchored, so another store of
    this process writing the same file cannot anchor a head past them first and name them as anchored late.
    """
    name = os.path.abspath(path)
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(name, threading.Lock())


def resolve_key(key_file: Path | None = None) -> bytes | None:
    """The anchor key: from ``key_file``, else the file named by ``PULSETWIN_ANCHOR_KEY``, else None."""
    if key_file is None:
        configured = os.environ.get(ENV_ANCHOR_KEY, "")
        key_file = Path(configured) if configured else None
    return None if key_file is None else load_key(key_file)


def new_key(path: Path) -> None:
    """Write a new random anchor key (64 hexadecimal characters) to ``path``, readable by its owner only.

    Refuses to overwrite: a lost key makes earlier signed anchors uncheckable.
    """
    if path.exists():
        raise StoreError(f"key file '{path}' already exists. Fix: pick another path; never overwrite a key")
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(descriptor, (secrets.token_hex(KEY_BYTES) + "\n").encode("ascii"))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def load_key(path: Path) -> bytes:
    """The key in a key file (64 hexadecimal characters, as :func:`new_key` writes)."""
    if not path.is_file():
        raise StoreError(
            f"anchor key file '{path}' does not exist. Fix: create one with 'pulsetwin log keygen'"
        )
    text = path.read_text(encoding="ascii", errors="replace").strip()
    if not _HEX64.fullmatch(text):
        raise SchemaError(
            "an anchor key file holds exactly 64 lowercase hexadecimal characters (32 random bytes)",
            where=Location(file=str(path)),
            fix="create a key with 'pulsetwin log keygen --out FILE'",
        )
    return bytes.fromhex(text)


def line_digest(line: str) -> str:
    """SHA-256 of one anchor line without its newline: the ``prev`` of the line after it."""
    return hashlib.sha256(line.rstrip("\n").encode("utf-8")).hexdigest()


def sign(body: str, key: bytes) -> str:
    """HMAC-SHA256 (hex) of an anchor line's text without ``mac`` and newline."""
    return hmac.new(key, body.encode("utf-8"), hashlib.sha256).hexdigest()


def read_anchors(path: Path) -> list[NumberedAnchor]:
    """Every anchor of an anchor file, in file order (lines are parsed, not checked against each other).

    Raises
    ------
    StoreError
        When the file is missing or holds no anchor.
    SchemaError
        Naming the line (as row) and field of the first malformed or cut-off line.
    """
    return list(read_anchor_file(path).anchors)


def read_anchor_file(path: Path, key: bytes | None = None) -> AnchorFile:
    """Read an anchor file and check its chain of lines, and with ``key`` every line's signature.

    Raises as :func:`read_anchors` on a missing, empty or malformed file; a broken chain or a bad signature
    is reported in ``problems``, by line.
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
    raw_lines = text.splitlines()
    anchors = tuple(NumberedAnchor(n, _parse(path, n, raw)) for n, raw in enumerate(raw_lines, start=1))
    if not anchors:
        raise StoreError(f"anchor file '{path}' holds no anchor. Fix: run 'pulsetwin log anchor' first")
    problems: list[LineProblem] = []
    previous: str | None = None
    for numbered, raw in zip(anchors, raw_lines, strict=True):
        problems.extend(_line_problems(numbered, raw, previous, key))
        previous = raw
    signed = sum(1 for a in anchors if a.anchor.mac is not None)
    return AnchorFile(path, anchors, tuple(problems), signed, key is not None)


def _line_problems(
    numbered: NumberedAnchor, raw: str, previous: str | None, key: bytes | None
) -> list[LineProblem]:
    """What is wrong with one line given the line before it (None for the first line) and the key."""
    anchor, line = numbered.anchor, numbered.line
    found: list[LineProblem] = []
    if anchor.prev is not None:
        expected = FIRST_PREV if previous is None else line_digest(previous)
        if anchor.prev != expected:
            where = (
                "it is not the first line written"
                if previous is None
                else f"line {line - 1} differs from the one written before it"
            )
            found.append(
                LineProblem(
                    line,
                    f"line {line} does not chain to the line before it: {where} "
                    "(lines were removed, inserted or edited)",
                )
            )
    if key is not None:
        if anchor.mac is None:
            found.append(
                LineProblem(
                    line,
                    f"line {line} is not signed although a key was given: it was not written by the key's holder",
                )
            )
        elif not hmac.compare_digest(anchor.mac, sign(_MAC_TAIL.sub("}", raw), key)):
            found.append(
                LineProblem(
                    line,
                    f"line {line} has a signature that does not verify with the given key: it was forged or edited",
                )
            )
    return found


class AnchorReader:
    """Reads an anchor file as it grows: each :meth:`read_new` returns the complete lines appended since the
    call before, checked against the last line read then (a line still being written waits for the next
    call). For a server that checks the anchors again and again without reading the whole file each time.
    """

    def __init__(self, path: Path, key: bytes | None = None) -> None:
        self.path = path
        self.key = key
        self._offset = 0
        self._lines = 0
        self._last: str | None = None

    def read_new(self) -> AnchorFile:
        """The anchors appended since the last call (none when the file does not exist yet)."""
        if not self.path.is_file():
            return AnchorFile(self.path, (), (), 0, self.key is not None)
        with self.path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            if size < self._offset:
                cut = LineProblem(
                    self._lines,
                    f"the anchor file is shorter than when it was last read: lines were removed ({_FIX})",
                )
                return AnchorFile(self.path, (), (cut,), 0, self.key is not None)
            handle.seek(self._offset)
            data = handle.read()
        complete = data[: data.rfind(b"\n") + 1]
        raw_lines = complete.decode("utf-8").splitlines()
        numbered = tuple(
            NumberedAnchor(n, _parse(self.path, n, raw))
            for n, raw in enumerate(raw_lines, start=self._lines + 1)
        )
        problems: list[LineProblem] = []
        for anchor, raw in zip(numbered, raw_lines, strict=True):
            problems.extend(_line_problems(anchor, raw, self._last, self.key))
            self._last = raw
        self._offset += len(complete)
        self._lines += len(raw_lines)
        signed = sum(1 for a in numbered if a.anchor.mac is not None)
        return AnchorFile(self.path, numbered, tuple(problems), signed, self.key is not None)


class AnchorWriter:
    """Appends chained (and, with a key, signed) anchors to one file, checking the file before extending it.

    The file is read and checked in full once; after that only its size is compared with what this writer
    last left, so an anchor per write stays cheap on a long file. A file that changed in between is read
    and checked again, and a damaged one is never extended.

    Parameters
    ----------
    path
        The anchor file (created when missing).
    store
        The store the anchors name (written into each line).
    key
        HMAC key from :func:`load_key`, or None for unsigned lines.
    """

    def __init__(self, path: Path, *, store: str, key: bytes | None = None) -> None:
        self.path = path
        self.store = store
        self.key = key
        self.lock = anchoring_lock(path)
        self._size: int | None = None
        self._lines = 0
        self._last = ""
        self._anchored = 0  # the newest record an anchor of the file names

    def append(
        self, seq: int, digest: str, *, first: int | None = None, accepted: tuple[int, int] | None = None
    ) -> NumberedAnchor:
        """Anchor the head ``(seq, digest)``; returns the anchor and its line number.

        ``first`` is the first record of the write whose head this is: records after the file's newest anchor
        and before ``first`` were committed without an anchor, and the line names them in ``late``. None (an
        anchoring that is no write's, as 'log anchor') names none, nor does the first line of a file.
        ``accepted`` records in the line the records anchored late that the operator accepts.
        """
        self._sync()
        prev = FIRST_PREV if not self._lines else line_digest(self._last)
        late = None
        if first is not None and self._lines and first - 1 > self._anchored:
            late = (self._anchored + 1, first - 1)
        unsigned = LogAnchor(seq, digest, datetime.now(UTC), self.store, prev, late=late, accepted=accepted)
        line = unsigned.to_json_line()
        if self.key is not None:
            mac = sign(line.rstrip("\n"), self.key)
            line = replace(unsigned, mac=mac).to_json_line()
        _write_line(self.path, line)
        self._lines += 1
        self._last = line
        self._anchored = max(self._anchored, seq)
        self._size = (self._size or 0) + len(line.encode("utf-8"))
        anchor = _parse(self.path, self._lines, line.rstrip("\n"))
        return NumberedAnchor(self._lines, anchor)

    def _sync(self) -> None:
        """Read and check the file unless it is as this writer left it; raise when it is damaged."""
        size = self.path.stat().st_size if self.path.exists() else 0
        if self._size is not None and size == self._size:
            return
        if size == 0:
            self._size, self._lines, self._last, self._anchored = 0, 0, "", 0
            return
        checked = read_anchor_file(self.path, self.key)
        if checked.problems:
            first = checked.problems[0]
            raise StoreError(
                f"anchor file '{self.path}': {len(checked.problems)} line(s) fail their check; {first.reason}. "
                f"Nothing was anchored. Fix: {_FIX}, or anchor to a new file"
            )
        self._lines = len(checked.anchors)
        self._anchored = max(a.anchor.seq for a in checked.anchors)
        self._last = self.path.read_text(encoding="utf-8").splitlines()[-1]
        self._size = size


def _write_line(path: Path, line: str) -> None:
    """Append one line with a single ``O_APPEND`` write, then fsync (and fsync a new file's directory)."""
    created = not path.exists()
    data = line.encode("utf-8")
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


def _parse(path: Path, line: int, raw: str) -> LogAnchor:
    """One anchor line, checked field by field."""
    try:
        payload: Any = json.loads(raw)
    except json.JSONDecodeError:
        payload = None
    allowed = set(ANCHOR_FIELDS) | set(OPTIONAL_FIELDS)
    if not isinstance(payload, dict) or not set(ANCHOR_FIELDS) <= set(payload) <= allowed:
        raise SchemaError(
            f"each line must be a JSON object with the fields {', '.join(ANCHOR_FIELDS)} "
            f"(and optionally {', '.join(OPTIONAL_FIELDS)})",
            where=Location(file=str(path), row=line, value=raw),
            fix=_FIX,
        )
    seq, digest, at, store = (payload[f] for f in ANCHOR_FIELDS)
    prev, mac = (payload.get(f) for f in CHAIN_FIELDS)
    late, accepted = payload.get("late"), payload.get("accepted")

    def bad(column: str, value: object, expected: str) -> SchemaError:
        return SchemaError(expected, where=Location(str(path), line, column, value), fix=_FIX)

    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise bad("seq", seq, "seq must be a non-negative integer")
    for column, value in (("hash", digest), ("prev", prev), ("mac", mac)):
        if (column == "hash" or value is not None) and (
            not isinstance(value, str) or not _HEX64.fullmatch(value)
        ):
            raise bad(column, value, f"{column} must be 64 lowercase hexadecimal characters (SHA-256)")
    if not isinstance(store, str):
        raise bad("store", store, "store must be a text path")
    if late is not None and not _late_range(late, seq):
        raise bad("late", late, "late must be [first, last] with 1 <= first <= last < seq")
    if accepted is not None and not _late_range(accepted, seq + 1):
        raise bad("accepted", accepted, "accepted must be [first, last] with 1 <= first <= last <= seq")
    try:
        when = datetime.fromisoformat(at) if isinstance(at, str) else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise bad("at", at, "at must be an ISO 8601 time with a UTC offset")
    return LogAnchor(seq, digest, when, store, prev, mac, _pair(late), _pair(accepted))


def _pair(value: list[int] | None) -> tuple[int, int] | None:
    """A checked ``[first, last]`` as a tuple (None stays None)."""
    return None if value is None else (value[0], value[1])


def outstanding(
    late: Iterable[tuple[int, int]], accepted: Iterable[tuple[int, int]]
) -> tuple[tuple[int, int], ...]:
    """The records of the ranges ``late`` not in any range of ``accepted``, as merged ranges in order."""
    gone = sorted(accepted)
    left: list[tuple[int, int]] = []
    for first, last in sorted(late):
        start = first
        for low, high in gone:
            if high < start or low > last:
                continue
            if low > start:
                left.append((start, low - 1))
            start = max(start, high + 1)
        if start <= last:
            left.append((start, last))
    merged: list[tuple[int, int]] = []
    for first, last in left:
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return tuple(merged)


def _late_range(value: object, seq: int) -> bool:
    """Whether ``value`` is a range ``[first, last]`` of records before record ``seq``."""
    return (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        and 1 <= value[0] <= value[1] < seq
    )


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
