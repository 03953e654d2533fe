"""The full check of a store's log: the chain, every anchor file, and (deep) the tables the log covers.

What ``pulsetwin log verify`` reports. Records up to the newest anchor that holds are verified; records after
it are *unanchored*: the in-store chain covers them, but whoever can write the store could have rewritten
them, so they are never reported as verified. Nor are records *anchored late*: an anchor line names them as
committed without an anchor before the write it anchors (a record appended by someone who can write the store
but holds no anchor key, or a crash between a commit and its anchoring), so an anchor covers them but their
writer never vouched for them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pulsetwin.store.anchor import outstanding, read_anchor_file
from pulsetwin.store.database import Store
from pulsetwin.store.digest import COVERED_TABLES, TableCheck
from pulsetwin.store.imports import TRACKING_TABLES
from pulsetwin.store.log import AnchorVerification, LogVerification


@dataclass(frozen=True)
class LogCheck:
    """The chain, the anchor files that exist, the ones that do not, and the table checks (deep only)."""

    chain: LogVerification
    anchors: tuple[AnchorVerification, ...]
    missing: tuple[str, ...]
    tables: tuple[TableCheck, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the chain, every anchor file and every checked table hold (unanchored records aside)."""
        return self.chain.ok and all(a.ok for a in self.anchors) and all(t.ok for t in self.tables)

    @property
    def anchored_seq(self) -> int:
        """The newest record an anchor vouches for (0 when none does)."""
        seqs = [a.anchored_seq for a in self.anchors if a.anchored_seq is not None]
        return max(seqs, default=0) if self.ok else 0

    @property
    def late(self) -> tuple[tuple[int, int], ...]:
        """The records ``(first, last)`` anchored late and not accepted since, merged and in order (none unless
        :attr:`ok`)."""
        if not self.ok:
            return ()
        late = (r for a in self.anchors for r in a.late)
        return outstanding(late, (r for a in self.anchors for r in a.accepted))

    @property
    def late_records(self) -> int:
        """How many records were anchored late: covered by an anchor, but not verified."""
        return sum(last - first + 1 for first, last in self.late)

    @property
    def unanchored(self) -> int:
        """Records after :attr:`anchored_seq`: checked by the chain only, not verified."""
        return self.chain.n_records - self.anchored_seq


def check_log(
    store: Store, anchor_files: Iterable[Path] = (), *, key: bytes | None = None, deep: bool = False
) -> LogCheck:
    """Check the chain against the store's own anchor file and ``anchor_files``; with ``deep`` the tables.

    The store's own file may be missing (then nothing is anchored); a file in ``anchor_files`` must exist.
    ``key`` checks the anchors' signatures (default: the key the store was opened with).
    """
    own = store.anchor_path
    given = [f for f in anchor_files if own is None or f.resolve() != own.resolve()]
    files = ([own] if own is not None and own.is_file() else []) + given  # a given file must exist
    chain = store.log.verify()
    anchors = tuple(
        store.log.check_anchor_file(read_anchor_file(f, key or store.log.key), chain) for f in files
    )
    missing = (str(own),) if own is not None and not own.is_file() else ()
    tables = tuple(store.log.verify_tables(present_tables(store))) if deep else ()
    return LogCheck(chain, anchors, missing, tables)


def present_tables(store: Store) -> list[str]:
    """The tables the log's digests cover that exist in this store, in a fixed order."""
    names = {str(n) for (n,) in store._con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    return [t for t in (*COVERED_TABLES, *TRACKING_TABLES) if t in names]
