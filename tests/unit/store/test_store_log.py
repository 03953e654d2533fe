"""The hash-chained log catches edits of any field, deletions (middle and tail) and reordering."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pulsetwin.exceptions import LogIntegrityError
from pulsetwin.store import Store
from pulsetwin.store.log import GENESIS_HASH, LogEntry, record_hash
from pulsetwin.store.logpage import read_log_records


def _store_with_records(path: Path, n: int = 5) -> None:
    with Store(path) as store:
        for i in range(n):
            store.log.append("tester", "note", f"subject-{i}", {"i": i, "text": "één"})


def _tamper(path: Path, sql: str) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute(sql)


def _verify(path: Path) -> tuple[bool, int | None, str]:
    with Store(path, read_only=True) as store:
        result = store.log.verify()
    return result.ok, result.first_bad_seq, result.reason


def test_fresh_chain_verifies_and_links_from_genesis(store_path: Path) -> None:
    _store_with_records(store_path)
    with Store(store_path, read_only=True) as store:
        records = store.log.records()
        result = store.log.verify_or_raise()
    assert result.n_records == 5 and result.ok
    assert [r.seq for r in records] == [1, 2, 3, 4, 5]
    assert records[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(records))
    first = records[0]
    assert first.hash == record_hash(
        1, first.at, first.actor, first.action, first.subject, first.detail_json, GENESIS_HASH
    )
    assert first.detail == {"i": 0, "text": "één"}


def test_empty_log_verifies(store_path: Path) -> None:
    Store(store_path).close()
    assert _verify(store_path) == (True, None, "ok")


@pytest.mark.parametrize(
    "assignment",
    [
        '"at" = "at" + INTERVAL 1 SECOND',
        "actor = 'intruder'",
        "action = 'delete'",
        "subject = 'other'",
        "detail_json = '{\"i\":99}'",
        "prev_hash = '" + "1" * 64 + "'",
        "hash = '" + "2" * 64 + "'",
    ],
)
def test_edit_of_any_field_names_the_record(store_path: Path, assignment: str) -> None:
    _store_with_records(store_path)
    _tamper(store_path, f"UPDATE log SET {assignment} WHERE seq = 3")
    ok, bad, _ = _verify(store_path)
    assert not ok
    # editing the stored hash of record 3 also breaks the link from record 4; the first bad record is 3
    assert bad == 3


def test_deleting_a_middle_record_is_caught(store_path: Path) -> None:
    _store_with_records(store_path)
    _tamper(store_path, "DELETE FROM log WHERE seq = 2")
    ok, bad, reason = _verify(store_path)
    assert (ok, bad) == (False, 2)
    assert "missing" in reason


def test_deleting_the_last_record_is_caught_by_the_head(store_path: Path) -> None:
    _store_with_records(store_path)
    _tamper(store_path, "DELETE FROM log WHERE seq = 5")
    ok, bad, reason = _verify(store_path)
    assert (ok, bad) == (False, 5)
    assert "removed from the end" in reason


def test_deleting_the_head_is_caught(store_path: Path) -> None:
    _store_with_records(store_path)
    _tamper(store_path, "DELETE FROM log_head")
    assert _verify(store_path)[:2] == (False, 6)


def test_swapping_seq_of_two_records_is_caught(store_path: Path) -> None:
    _store_with_records(store_path)
    _tamper(store_path, "UPDATE log SET seq = CASE seq WHEN 2 THEN 4 WHEN 4 THEN 2 ELSE seq END")
    ok, bad, _ = _verify(store_path)
    assert (ok, bad) == (False, 2)


def test_renumbering_after_a_deletion_is_caught(store_path: Path) -> None:
    _store_with_records(store_path)
    _tamper(store_path, "DELETE FROM log WHERE seq = 2; UPDATE log SET seq = seq - 1 WHERE seq > 2")
    ok, bad, _ = _verify(store_path)
    assert (ok, bad) == (False, 2)


def test_verify_or_raise_names_the_first_bad_record(store_path: Path) -> None:
    _store_with_records(store_path)
    _tamper(store_path, "UPDATE log SET actor = 'x' WHERE seq = 4")
    with Store(store_path, read_only=True) as store, pytest.raises(LogIntegrityError, match="seq 4"):
        store.log.verify_or_raise()


def test_records_limit_returns_the_tail_in_order(store_path: Path) -> None:
    _store_with_records(store_path)
    with Store(store_path, read_only=True) as store:
        assert [r.seq for r in store.log.records(limit=2)] == [4, 5]


def test_records_of_actions_are_those_of_the_full_log_filtered_in_order(store_path: Path) -> None:
    with Store(store_path) as store:
        for i in range(9):
            store.log.append("tester", ("note", "view", "edit")[i % 3], f"s{i % 2}", {"i": i})
        everything = store.log.records()
        cursor = store.read_cursor()
        picked = read_log_records(cursor, ("edit", "note"))
        about = read_log_records(store, ("note",), subject="s1")
        none = read_log_records(store, ())
    assert picked == [r for r in everything if r.action in {"edit", "note"}] and len(picked) == 6
    assert about == [r for r in everything if r.action == "note" and r.subject == "s1"] and len(about) == 1
    assert none == []


def test_append_after_reopen_continues_the_chain(store_path: Path) -> None:
    _store_with_records(store_path, 2)
    _store_with_records(store_path, 2)
    assert _verify(store_path) == (True, None, "ok")
    with Store(store_path, read_only=True) as store:
        assert [r.seq for r in store.log.records()] == [1, 2, 3, 4]


def _entries(n: int, start: int = 0) -> list[LogEntry]:
    return [LogEntry("viewer", "view", f"run-{i}", {"i": i, "text": "één"}) for i in range(start, start + n)]


def test_append_many_chains_in_order_between_single_appends(store_path: Path) -> None:
    _store_with_records(store_path, 2)
    with Store(store_path) as store:
        written = store.log.append_many(_entries(4))
        store.log.append("tester", "note", "after", {})
        assert store.log.append_many([]) == []
        records = store.log.records()
    assert [r.seq for r in written] == [3, 4, 5, 6]
    assert [r.subject for r in records] == [
        "subject-0",
        "subject-1",
        "run-0",
        "run-1",
        "run-2",
        "run-3",
        "after",
    ]
    assert [r.detail["i"] for r in written] == [0, 1, 2, 3]
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(records))
    assert written == records[2:6]
    assert _verify(store_path) == (True, None, "ok")


def test_append_many_is_all_or_nothing(store_path: Path) -> None:
    _store_with_records(store_path, 1)
    keys: dict[Any, Any] = {1: "a", "b": 2}  # sort_keys cannot order int and str keys
    unsortable = LogEntry("viewer", "view", "run", keys)
    with Store(store_path) as store:
        with pytest.raises(TypeError):
            store.log.append_many([*_entries(2), unsortable])
        assert [r.seq for r in store.log.records()] == [1]
    assert _verify(store_path) == (True, None, "ok")


@pytest.mark.parametrize(
    ("sql", "first_bad"),
    [
        ("UPDATE log SET detail_json = '{\"i\":7}' WHERE seq = 3", 3),
        ("DELETE FROM log WHERE seq = 4", 4),
        ("DELETE FROM log WHERE seq = 5", 5),
        ("UPDATE log SET seq = CASE seq WHEN 3 THEN 4 WHEN 4 THEN 3 ELSE seq END", 3),
    ],
)
def test_tampering_with_a_group_committed_batch_is_caught(store_path: Path, sql: str, first_bad: int) -> None:
    _store_with_records(store_path, 1)
    with Store(store_path) as store:
        store.log.append_many(_entries(4))
    _tamper(store_path, sql)
    ok, bad, _ = _verify(store_path)
    assert (ok, bad) == (False, first_bad)


@pytest.mark.parametrize("edited", [None, 4, 23])
def test_a_chunked_walk_rests_between_chunks_and_finds_the_same_records(
    store_path: Path, edited: int | None
) -> None:
    with Store(store_path) as store:
        store.log.append_many(_entries(25))
    if edited is not None:
        _tamper(store_path, f"UPDATE log SET subject = 'forged' WHERE seq = {edited}")
    rests: list[float] = []
    with Store(store_path, read_only=True) as store:
        whole = store.log.verify()
        chunked = store.log.verify_from(0, GENESIS_HASH, chunk=10, pause=rests.append)
    assert chunked == whole and chunked.ok is (edited is None) and chunked.first_bad_seq == edited
    # a rest after each chunk that has another after it: 10 and 20 (none after the last, none after a bad one)
    assert len(rests) == (2 if edited is None else (edited - 1) // 10) and all(r >= 0 for r in rests)
