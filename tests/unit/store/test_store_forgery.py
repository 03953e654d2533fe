"""Automatic anchors catch a forger who rewrites the chain, the head and the log table; the rest is unanchored."""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from store_helpers import incidents_frame

from pulsetwin.exceptions import StoreError
from pulsetwin.store import Store
from pulsetwin.store.anchor import (
    FIRST_PREV,
    AnchorReader,
    AnchorWriter,
    default_anchor_path,
    line_digest,
    new_key,
    read_anchor_file,
)
from pulsetwin.store.log import GENESIS_HASH, LOG_DDL, AnchorError, Log, record_hash, verify_chain
from pulsetwin.store.logcheck import check_log


def _notes(store: Store, n: int) -> None:
    for i in range(n):
        store.log.append("tester", "note", f"subject-{i}", {"i": i})


def rewrite_log(path: Path, *, drop_from: int | None = None, actor: str = "forger") -> None:
    """A forger with write access: change every record's actor, drop a tail, re-chain every hash, move the head."""
    with duckdb.connect(str(path)) as con:
        if drop_from is not None:
            con.execute("DELETE FROM log WHERE seq >= ?", [drop_from])
        con.execute("UPDATE log SET actor = ?", [actor])
        prev = GENESIS_HASH
        for row in con.execute("SELECT * FROM log ORDER BY seq").fetchall():
            digest = record_hash(row[0], row[1], row[2], row[3], row[4], row[5], prev)
            con.execute("UPDATE log SET prev_hash = ?, hash = ? WHERE seq = ?", [prev, digest, row[0]])
            prev = digest
        last = con.execute("SELECT max(seq) FROM log").fetchall()[0][0]
        con.execute("DELETE FROM log_head")
        con.execute("INSERT INTO log_head VALUES (?, ?)", [last, prev])


def test_every_write_anchors_the_new_head_next_to_the_store(store_path: Path) -> None:
    with Store(store_path) as store:
        store.import_frames({"incidents": incidents_frame()}, source="test")
        _notes(store, 2)
        with pytest.raises(RuntimeError), store.transaction():  # a rolled-back write anchors nothing
            store.log.append("tester", "note", "lost", {})
            raise RuntimeError("abort")
        head = store.log.head()
    anchors = read_anchor_file(default_anchor_path(store_path))
    assert [(a.anchor.seq, a.line) for a in anchors.anchors] == [(1, 1), (2, 2), (3, 3)]
    assert anchors.anchors[-1].anchor.hash == head[1] and not anchors.problems
    assert anchors.anchors[0].anchor.store == str(store_path.resolve())
    with Store(store_path, read_only=True) as store:
        checked = check_log(store)
    assert checked.ok and checked.anchored_seq == 3 and checked.unanchored == 0


@pytest.mark.parametrize("drop_from", [None, 3])
def test_a_forger_who_rewrites_every_hash_the_head_and_the_log_table_is_caught(
    store_path: Path, drop_from: int | None
) -> None:
    with Store(store_path) as store:
        _notes(store, 4)
    rewrite_log(store_path, drop_from=drop_from)
    with Store(store_path, read_only=True) as store:
        alone = store.log.verify()
        checked = check_log(store)
    assert alone.ok  # the chain and head are consistent: only the anchors outside the store tell
    assert not checked.ok and checked.anchored_seq == 0 and checked.unanchored == checked.chain.n_records
    failed = checked.anchors[0].failed
    assert failed and failed[0].line == 1
    assert "record 1 now has hash" in failed[0].reason or "no longer in the log" in failed[0].reason


def test_a_forger_who_also_rewrites_an_unsigned_anchor_file_is_caught_only_with_a_key(
    store_path: Path, tmp_path: Path
) -> None:
    key = tmp_path / "keys" / "anchor.key"
    new_key(key)
    anchors = default_anchor_path(store_path)
    with Store(store_path, anchor_key=key) as store:
        _notes(store, 3)
    rewrite_log(store_path)
    with duckdb.connect(str(store_path), read_only=True) as con:
        forged = con.execute("SELECT seq, hash FROM log ORDER BY seq").fetchall()
    lines, prev = [], FIRST_PREV  # the forger re-chains the anchor lines too, but cannot sign them
    for (seq, digest), old in zip(forged, anchors.read_text(encoding="utf-8").splitlines(), strict=True):
        payload = json.loads(old) | {"hash": digest, "seq": seq, "prev": prev}
        payload.pop("mac")
        line = json.dumps(payload, separators=(",", ":"))
        lines.append(line)
        prev = line_digest(line)
    anchors.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with Store(store_path, read_only=True) as store:
        unsigned = check_log(store)
    with Store(store_path, read_only=True, anchor_key=key) as store:
        signed = check_log(store)
    assert unsigned.ok  # without the key a consistent rewrite of store and anchor file cannot be told
    assert not signed.ok and signed.unanchored == 3
    assert [p.line for p in signed.anchors[0].problems] == [1, 2, 3]
    assert "not signed" in signed.anchors[0].problems[0].reason


def test_a_line_removed_from_the_middle_of_the_anchor_file_breaks_its_chain(store_path: Path) -> None:
    with Store(store_path) as store:
        _notes(store, 3)
    anchors = default_anchor_path(store_path)
    lines = anchors.read_text(encoding="utf-8").splitlines(keepends=True)
    anchors.write_text(lines[0] + lines[2], encoding="utf-8")
    with Store(store_path, read_only=True) as store:
        checked = check_log(store)
    assert not checked.ok and "line 2 does not chain" in checked.anchors[0].problems[0].reason
    with (
        Store(store_path) as store,
        pytest.raises(AnchorError, match=r"was committed.*line 2 does not chain"),
    ):
        _notes(store, 1)  # a damaged anchor file is never extended; the write stays committed
    with Store(store_path, read_only=True) as store:
        assert store.log.head()[0] == 4 and anchors.read_text(encoding="utf-8").count("\n") == 2


def test_records_after_the_newest_anchor_are_unanchored_never_verified(store_path: Path) -> None:
    with Store(store_path) as store:
        _notes(store, 5)
    anchors = default_anchor_path(store_path)
    lines = anchors.read_text(encoding="utf-8").splitlines(keepends=True)
    anchors.write_text("".join(lines[:3]), encoding="utf-8")  # a crash after commit, or a cut tail
    with Store(store_path, read_only=True) as store:
        checked = check_log(store)
    assert checked.ok and checked.anchored_seq == 3 and checked.unanchored == 2
    rewrite_log(store_path, drop_from=None, actor="tester")  # same content: hashes unchanged
    with Store(store_path) as store:
        _notes(store, 1)  # the next write anchors a newer head, which vouches for the records before it
        assert check_log(store).unanchored == 0


def test_a_store_without_its_anchor_file_has_every_record_unanchored(
    store_path: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "other.jsonl"
    with Store(store_path, anchor_file=elsewhere) as store:
        _notes(store, 2)
    assert elsewhere.is_file() and not default_anchor_path(store_path).exists()
    with Store(store_path, read_only=True) as store:
        checked = check_log(store)
        given = check_log(store, [elsewhere])
    assert checked.ok and checked.missing == (str(default_anchor_path(store_path)),)
    assert checked.unanchored == 2 and given.unanchored == 0


def test_the_anchor_file_can_be_set_by_the_environment(
    store_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "worm" / "heads.jsonl"
    monkeypatch.setenv("PULSETWIN_ANCHOR_FILE", str(target))
    with Store(store_path) as store:
        _notes(store, 1)
        assert store.anchor_path == target
    assert [a.anchor.seq for a in read_anchor_file(target).anchors] == [1]


def test_a_memory_store_does_not_anchor() -> None:
    with Store(":memory:") as store:
        _notes(store, 1)
        assert store.anchor_path is None
    assert not Path(":memory:.anchors.jsonl").exists()


@pytest.mark.parametrize("seq", [1, 2, 3, 4, 9, 10])  # chunk ends 3 and 9, starts 4 and 10
@pytest.mark.parametrize("tamper", ["edit", "delete"])
def test_chunked_verification_names_the_first_bad_record_at_any_position(
    store_path: Path, monkeypatch: pytest.MonkeyPatch, seq: int, tamper: str
) -> None:
    monkeypatch.setattr("pulsetwin.store.log.CHUNK", 3)  # chunk ends at 3, 6, 9, 10
    with Store(store_path) as store:
        _notes(store, 10)
        checkpoint = store.log.records()[1]
    with duckdb.connect(str(store_path)) as con:
        if tamper == "edit":
            con.execute("UPDATE log SET subject = 'other' WHERE seq = ?", [seq])
        else:
            con.execute("DELETE FROM log WHERE seq = ?", [seq])
    with Store(store_path, read_only=True) as store:
        full = store.log.verify()
        incremental = store.log.verify_from(checkpoint.seq, checkpoint.hash)
    assert not full.ok and full.first_bad_seq == seq
    if seq > 2:  # from record 2 on, only records after it are walked
        assert not incremental.ok and incremental.first_bad_seq == seq
    elif seq == 2 and tamper == "delete":
        assert not incremental.ok and "no longer has the hash" in incremental.reason
    else:  # the verified prefix is trusted as long as its last record keeps its hash: the full walk is needed
        assert incremental.ok


TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=8)


@settings(max_examples=20, deadline=None)
@given(actor=TEXT, subject=TEXT, value=TEXT)
def test_the_sql_walk_agrees_with_record_hash_on_any_text(actor: str, subject: str, value: str) -> None:
    with duckdb.connect() as con:
        for statement in LOG_DDL:
            con.execute(statement)
        log = Log(con, nullcontext)
        log.append(actor, "note", subject, {"v": value, "\u001f": value})
        log.append("tester", "note", "after", {})
        assert verify_chain(con).ok
        con.execute("UPDATE log SET subject = subject || 'x' WHERE seq = 1")
        assert verify_chain(con).first_bad_seq == 1


def test_an_anchor_reader_returns_new_lines_waits_for_a_partial_one_and_notices_a_cut(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    writer, reader = AnchorWriter(path, store="s"), AnchorReader(path)
    assert reader.read_new().anchors == ()
    writer.append(1, "1" * 64)
    writer.append(2, "2" * 64)
    assert [a.line for a in reader.read_new().anchors] == [1, 2]
    writer.append(3, "3" * 64)
    whole = path.read_text(encoding="utf-8")
    path.write_text(whole + '{"seq":4', encoding="utf-8")  # a line still being written
    new = reader.read_new()
    assert [(a.line, a.anchor.seq) for a in new.anchors] == [(3, 3)] and not new.problems
    path.write_text(whole.splitlines(keepends=True)[0], encoding="utf-8")
    assert "shorter than when it was last read" in reader.read_new().problems[0].reason


def _delete_store(path: Path) -> None:
    """What a user does who starts over: the store file goes, its anchor file and key stay behind."""
    path.unlink()
    path.with_name(path.name + ".wal").unlink(missing_ok=True)


def test_a_new_store_is_not_created_where_an_earlier_stores_anchors_lie(store_path: Path) -> None:
    with Store(store_path) as store:
        _notes(store, 2)
    _delete_store(store_path)
    anchors = default_anchor_path(store_path)
    left = anchors.read_bytes()
    with pytest.raises(
        StoreError, match=r"anchor file '.*test\.duckdb\.anchors\.jsonl' already holds 2"
    ) as refused:
        Store(store_path)
    assert "Nothing was created. Fix: move" in str(refused.value) and "PULSETWIN_ANCHOR_FILE" in str(
        refused.value
    )
    assert not store_path.exists() and anchors.read_bytes() == left  # no half-created store, old anchors kept
    anchors.rename(store_path.with_name("old.anchors.jsonl"))
    with Store(store_path) as store:  # the fix the message names: the new store starts its own anchor file
        _notes(store, 1)
    with Store(store_path, read_only=True) as store:
        checked = check_log(store)
    assert checked.ok and checked.anchored_seq == 1 and checked.unanchored == 0


def test_a_new_store_is_not_created_on_an_anchor_file_another_store_writes(
    store_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared.jsonl"
    monkeypatch.setenv("PULSETWIN_ANCHOR_FILE", str(shared))
    with Store(store_path) as store:
        _notes(store, 1)
    other = tmp_path / "other.duckdb"
    with pytest.raises(StoreError, match=r"shared\.jsonl' already holds 1"):
        Store(other)
    assert not other.exists()
    with Store(store_path) as store:  # the store that owns the file goes on anchoring to it
        _notes(store, 1)
        assert check_log(store).ok and check_log(store).unanchored == 0


def test_a_new_store_may_adopt_an_earlier_stores_digest_key(store_path: Path) -> None:
    key = store_path.with_name(store_path.name + ".digest.key")
    with Store(store_path) as store:
        store.import_frames({"incidents": incidents_frame()}, source="test")
    kept = key.read_bytes()
    _delete_store(store_path)
    default_anchor_path(store_path).unlink()
    with Store(store_path) as store:  # a key is only a secret: sharing it lets no one compute a digest
        store.import_frames({"incidents": incidents_frame().iloc[:2]}, source="test")
    assert key.read_bytes() == kept
    with Store(store_path, read_only=True) as store:
        checked = check_log(store, deep=True)
    assert checked.ok and checked.unanchored == 0
    assert [t.reason for t in checked.tables if t.table == "incidents"] == [
        "2 rows as logged (last write: record 1)"
    ]
