"""Opening a store's DuckDB file while another process may hold it: back-off, and the waiting file.

DuckDB lets one process write a file, and nobody read while it does. A command that finds the file held
retries with back-off and touches ``<path>.waiting`` so a running server lets go between requests.
"""

from __future__ import annotations

import time
from pathlib import Path

import duckdb

from pulsetwin.exceptions import StoreBusyError, StoreError

LOCK_WAIT_SECONDS = 60.0  # a CLI command waits this long for a server (or another command) to let go
FIRST_RETRY = 0.02
LONGEST_RETRY = 0.25
WAITING_SUFFIX = ".waiting"


def waiting_file(path: Path) -> Path:
    """The file a process touches while it waits for the store ``path``: ``<path>.waiting``."""
    return path.with_name(path.name + WAITING_SUFFIX)


def access_wanted(path: Path, *, within: float) -> bool:
    """Whether some process touched the waiting file of ``path`` in the last ``within`` seconds."""
    try:
        touched = waiting_file(path).stat().st_mtime
    except FileNotFoundError:
        return False
    return time.time() - touched < within


def connect(path: Path, *, read_only: bool, wait: float, signal: bool) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file, retrying with back-off while another process holds its lock.

    Any other failure, and a lock still held after ``wait`` seconds, raise with the fix. When ``signal``,
    each retry touches the waiting file, and the file is removed once the store is open.
    """
    deadline = time.monotonic() + wait
    delay = FIRST_RETRY
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as error:
            if not _lock_conflict(error):
                raise StoreError(
                    f"cannot open store '{path}': {error}. Fix: check the path and that the file is a DuckDB "
                    "store"
                ) from None
            left = deadline - time.monotonic()
            if left <= 0:
                raise StoreBusyError(
                    f"store '{path}' is held by another program ({_holder(error)}) and was not released "
                    f"within {wait:g} s. Fix: wait for that command to finish and run this again; a running "
                    "'pulsetwin serve' lets go between requests by itself"
                ) from None
            if signal:
                waiting_file(path).touch()
            time.sleep(min(delay, left))
            delay = min(delay * 1.5, LONGEST_RETRY)
        else:
            if signal:
                waiting_file(path).unlink(missing_ok=True)
            return con


def _lock_conflict(error: duckdb.Error) -> bool:
    """Whether DuckDB refused the file because another process holds its lock."""
    return isinstance(error, duckdb.IOException) and "conflicting lock" in str(error).lower()


def _holder(error: duckdb.Error) -> str:
    """The holding process as DuckDB names it ('PID 123'), else 'another process'."""
    text = str(error)
    start = text.find("PID ")
    return text[start:].split(")")[0].rstrip() if start >= 0 else "another process"
