"""Where the key of the row digests lives: a key file outside the store, never in it.

The row digests of :mod:`pulsetwin.store.digest` are keyed, so that whoever can edit the DuckDB file but not
the key cannot compute the digest of rows they write. The key file holds 32 random bytes as 64 hexadecimal
characters (the anchor key's format, :func:`pulsetwin.store.anchor.new_key`) and is readable by its owner
only. By default it sits next to the store file and its anchors, as ``<store file>.digest.key``; the
environment variable ``PULSETWIN_DIGEST_KEY`` (or ``Store(digest_key=...)``) puts it elsewhere, e.g. where
the processes that may write the store cannot write it. A store opened for writing creates its key file
when it is missing; an in-memory store gets a key that lives as long as it does.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from pulsetwin.store.anchor import KEY_BYTES, load_key, new_key

ENV_DIGEST_KEY = "PULSETWIN_DIGEST_KEY"
KEY_SUFFIX = ".digest.key"


@dataclass(frozen=True)
class RowKeyFile:
    """The key of a store's row digests and the file it came from (None: an in-memory store's own key)."""

    key: bytes | None
    path: Path | None


def resolve_digest_key_path(store: Path, key_file: Path | None = None) -> Path | None:
    """The key file: the argument, else ``PULSETWIN_DIGEST_KEY``, else ``<store>.digest.key`` next to it.

    None for an in-memory store.
    """
    if key_file is not None:
        return Path(key_file)
    configured = os.environ.get(ENV_DIGEST_KEY, "")
    if configured:
        return Path(configured)
    if str(store) == ":memory:":
        return None
    return store.with_name(store.name + KEY_SUFFIX)


def open_row_key(path: Path | None, *, create: bool) -> RowKeyFile:
    """Read the key in ``path``; with ``create`` write a new one when the file is missing.

    Without ``create`` a missing file gives ``key=None``: the store can be read, but its digests cannot be
    recomputed (``log verify --deep`` says so). ``path=None`` gives a fresh key for an in-memory store.
    """
    if path is None:
        return RowKeyFile(secrets.token_bytes(KEY_BYTES), None)
    if not path.exists() and create:
        new_key(path)
    return RowKeyFile(load_key(path) if path.exists() else None, path)
