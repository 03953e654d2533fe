"""Re-keying the row digests of a log written before they were keyed (``pulsetwin log rekey``).

PulseTwin once digested rows without a key (the MD5 of a row's JSON array alone). Whoever could edit the store
could recompute such digests, so ``log verify --deep`` does not take them as proof and refuses such a log.
Re-keying lets the store go on with keyed digests, without claiming more for its past than the old digests
gave:

1. the chain and every anchor file must hold, with no record unanchored (a record after the newest anchor may
   have been appended by whoever could write the store);
2. every table the log covers must hold what the unkeyed digests of its records imply, recomputed without key
   as they were made; a table edited outside PulseTwin is named and nothing is written;
3. only then one record is appended, ``rekey_digests``, holding the keyed digest of every covered table's
   whole state; the deep check folds the log from the newest such record on, so later writes are checked
   under the key.

What it cannot do is make the unkeyed past stronger than it was: someone who could write the store before
the re-keying could have appended a record whose unkeyed digests account for their edit, and the re-keying
carries that forward (its record names the last record checked without key, ``unkeyed_through``). A log that
also holds keyed digests (the store was written to by a version with the key before it was re-keyed) is
refused: digests summed under two keys cannot be checked. Its data can be imported into a new store.
"""

from __future__ import annotations

from pulsetwin.exceptions import LogIntegrityError, StoreError
from pulsetwin.store.database import Store
from pulsetwin.store.digest import (
    KEY_ID_FIELD,
    REKEY_ACTION,
    check_table,
    digest_records,
    fold_digests,
    table_digest,
)
from pulsetwin.store.log import LogRecord
from pulsetwin.store.logcheck import check_log, present_tables

_RESTORE = "Fix: restore the store from a trusted backup and investigate who changed it"


def rekey_digests(store: Store, *, actor: str = "cli") -> LogRecord:
    """Check the tables against the log's unkeyed digests and log their keyed digests (one transaction).

    Raises
    ------
    LogIntegrityError
        When the chain or an anchor fails, or a table does not hold what the unkeyed digests imply; nothing
        is written.
    StoreError
        When records are unanchored or anchored late (and not accepted), the log holds no unkeyed digests
        or also keyed ones, or digests of a still older form (SHA-256); nothing is written.
    """
    with store.transaction():
        logged = check_log(store)
        if not logged.ok:
            raise LogIntegrityError(
                "the log does not verify against its anchors (run 'pulsetwin log verify' for the reason), so "
                f"its unkeyed digests cannot be trusted and nothing was re-keyed. {_RESTORE}"
            )
        if logged.unanchored:
            raise StoreError(
                f"records {logged.anchored_seq + 1}..{logged.chain.n_records} follow the newest anchor, so no "
                "anchor vouches that they were not appended by whoever could write the store; nothing was "
                "re-keyed. Fix: check them ('pulsetwin log show'), anchor them ('pulsetwin log anchor' or any "
                "write), then re-key"
            )
        if logged.late:
            first, last = logged.late[0]
            raise StoreError(
                f"records {first}..{last} were written without an anchor (anchored late): a later write's "
                "anchor covers them, but no anchor vouches that they were not appended by whoever could write "
                "the store; nothing was re-keyed. Fix: inspect them ('pulsetwin log show'), accept them "
                f"('pulsetwin log anchor --out <the store's anchor file> --accept-late {first}..{last}'), then "
                "re-key"
            )
        records = digest_records(store._con)
        keyed = [seq for seq, detail in records if detail.get(KEY_ID_FIELD) is not None]
        if len(keyed) == len(records):
            raise StoreError(
                "no log record carries unkeyed row digests: there is nothing to re-key. "
                "Fix: check the tables with 'pulsetwin log verify --deep'"
            )
        if keyed:
            raise StoreError(
                f"log record {keyed[0]} carries keyed row digests after unkeyed ones (the store was written "
                "to by a PulseTwin with row-digest keys before it was re-keyed): digests summed under two keys "
                "cannot be checked, so nothing was re-keyed. Fix: export the tables and import them into a new "
                "store, or verify without --deep"
            )
        expected = fold_digests(records)
        tables = present_tables(store)
        checks = [check_table(t, table_digest(store._con, t, keyed=False), expected.get(t)) for t in tables]
        failed = [c for c in checks if not c.ok]
        if failed:
            raise LogIntegrityError(
                f"{len(failed)} table(s) do not hold what the log's unkeyed digests imply; "
                f"{failed[0].reason}. Nothing was re-keyed. {_RESTORE}"
            )
        detail = {"unkeyed_through": records[-1][0], "tables": len(tables)}
        return store.log.append(actor, REKEY_ACTION, "row digests", detail, tables=tables)
