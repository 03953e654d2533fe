"""Anchors kept outside the store catch a forger who rewrites the log and its head together."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from store_helpers import dump_store, incidents_frame

from pulsetwin.exceptions import LogIntegrityError, SchemaError, StoreError
from pulsetwin.store import Store
from pulsetwin.store.anchor import FIRST_PREV, AnchorWriter, LogAnchor, line_digest, read_anchors
from pulsetwin.store.log import GENESIS_HASH, record_hash


def _notes(store: Store, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        store.log.append("tester", "note", f"subject-{i}", {"i": i})


def forge(path: Path, seq: int, detail_json: str) -> None:
    """What a forger with write access to the file does: edit record ``seq``, re-chain, move the head."""
    with duckdb.connect(str(path)) as con:
        con.execute("UPDATE log SET detail_json = ? WHERE seq = ?", [detail_json, seq])
        prev = GENESIS_HASH
        for row in con.execute("SELECT * FROM log ORDER BY seq").fetchall():
            digest = record_hash(row[0], row[1], row[2], row[3], row[4], row[5], prev)
            con.execute("UPDATE log SET prev_hash = ?, hash = ? WHERE seq = ?", [prev, digest, row[0]])
            prev = digest
        con.execute("UPDATE log_head SET hash = ?", [prev])


def test_forged_history_passes_the_chain_but_fails_the_anchors_that_cover_it(
    store_path: Path, tmp_path: Path
) -> None:
    anchors = tmp_path / "anchors.jsonl"
    with Store(store_path) as store:
        _notes(store, 2)
        early = store.log.anchor(anchors, store=str(store_path))  # head: record 2
        _notes(store, 3, start=2)  # records 3 (the anchor record) .. 6
        late = store.log.anchor(anchors, store=str(store_path))  # head: record 6
    assert (early.seq, late.seq) == (2, 6)
    forge(store_path, 4, '{"i":99}')
    with Store(store_path, read_only=True) as store:
        alone = store.log.verify()
        anchored = store.log.verify_anchors(anchors)
    assert alone.ok  # the limit of an in-store head: a consistent rewrite verifies
    assert anchored.chain.ok and not anchored.ok
    assert [c.line for c in anchored.failed] == [2]  # the anchor of record 2 predates the edit
    reason = anchored.failed[0].reason
    assert "record 6 now has hash" in reason and late.hash[:12] in reason and "rewritten" in reason
    assert anchored.checks[0].ok


def test_anchors_of_an_honest_growing_log_keep_verifying(store_path: Path, tmp_path: Path) -> None:
    anchors = tmp_path / "anchors.jsonl"
    frame = incidents_frame()
    with Store(store_path) as store:
        for round_ in range(4):
            store.import_frames({"incidents": frame.iloc[: 3 * (round_ + 1)]}, source="test")
            store.log.anchor(anchors, store=str(store_path))
            result = store.log.verify_anchors(anchors)
            assert result.ok and len(result.checks) == round_ + 1
        heads = [a.anchor.seq for a in read_anchors(anchors)]
        records = store.log.records()
    assert heads == [1, 3, 5, 7]  # each round: one import record, then one anchor record
    assert [r.action for r in records[1::2]] == ["anchor"] * 4
    assert records[1].detail["seq"] == 1 and records[1].detail["line"] == 1


def test_anchor_file_is_only_ever_appended_to(store_path: Path, tmp_path: Path) -> None:
    anchors = tmp_path / "nested" / "anchors.jsonl"
    with Store(store_path) as store:
        _notes(store, 1)
        store.log.anchor(anchors, store="/stores/a.duckdb")
        first = anchors.read_bytes()
        _notes(store, 1, start=1)
        store.log.anchor(anchors, store="/stores/a.duckdb")
    second = anchors.read_bytes()
    assert second.startswith(first) and second.count(b"\n") == 2
    line = json.loads(second.splitlines()[1])
    assert list(line) == ["seq", "hash", "at", "store", "prev"] and line["store"] == "/stores/a.duckdb"
    assert datetime.fromisoformat(line["at"]).utcoffset() is not None


def test_a_cut_off_anchor_file_is_not_extended_and_nothing_is_logged(
    store_path: Path, tmp_path: Path
) -> None:
    anchors = tmp_path / "anchors.jsonl"
    with Store(store_path) as store:
        _notes(store, 1)
        store.log.anchor(anchors, store="s")
    torn = anchors.read_bytes() + b'{"seq":2,"ha'
    anchors.write_bytes(torn)
    before = dump_store(store_path)
    with Store(store_path) as store, pytest.raises(SchemaError, match=r"row 2.*cut off"):
        store.log.anchor(anchors, store="s")
    assert anchors.read_bytes() == torn
    assert dump_store(store_path) == before


def test_a_tampered_log_is_not_anchored(store_path: Path, tmp_path: Path) -> None:
    anchors = tmp_path / "anchors.jsonl"
    with Store(store_path) as store:
        _notes(store, 3)
    with duckdb.connect(str(store_path)) as con:
        con.execute("UPDATE log SET actor = 'intruder' WHERE seq = 2")
    with Store(store_path) as store, pytest.raises(LogIntegrityError, match="first bad record seq 2"):
        store.log.anchor(anchors, store="s")
    assert not anchors.exists()


def test_a_forged_log_is_not_anchored_into_a_file_whose_anchors_it_breaks(
    store_path: Path, tmp_path: Path
) -> None:
    anchors = tmp_path / "anchors.jsonl"
    with Store(store_path) as store:
        _notes(store, 3)
        store.log.anchor(anchors, store="s")
    content = anchors.read_bytes()
    forge(store_path, 1, '{"i":-1}')
    with Store(store_path) as store, pytest.raises(LogIntegrityError, match=r"line 1: record 3 now has hash"):
        store.log.anchor(anchors, store="s")
    assert anchors.read_bytes() == content


def test_removed_records_fail_the_anchor_that_named_them(store_path: Path, tmp_path: Path) -> None:
    anchors = tmp_path / "anchors.jsonl"
    with Store(store_path) as store:
        _notes(store, 3)
        store.log.anchor(anchors, store="s")
    with duckdb.connect(str(store_path)) as con:  # drop the tail and move the head back consistently
        con.execute("DELETE FROM log WHERE seq >= 3")
        con.execute("UPDATE log_head SET seq = 2, hash = (SELECT hash FROM log WHERE seq = 2)")
    with Store(store_path, read_only=True) as store:
        result = store.log.verify_anchors(anchors)
    assert result.chain.ok and not result.ok
    assert "record 3" in result.failed[0].reason and "removed" in result.failed[0].reason


def test_an_anchor_of_the_empty_log_names_the_genesis_hash(store_path: Path, tmp_path: Path) -> None:
    anchors = tmp_path / "anchors.jsonl"
    with Store(store_path) as store:
        written = store.log.anchor(anchors, store="s")
        assert (written.seq, written.hash) == (0, GENESIS_HASH)
        assert store.log.verify_anchors(anchors).ok


@pytest.mark.parametrize(
    ("line", "column"),
    [
        ("not json", None),
        ('{"seq":1,"hash":"' + "a" * 64 + '","at":"2024-01-01T00:00:00+00:00"}', None),
        ('{"seq":-1,"hash":"' + "a" * 64 + '","at":"2024-01-01T00:00:00+00:00","store":"s"}', "seq"),
        ('{"seq":true,"hash":"' + "a" * 64 + '","at":"2024-01-01T00:00:00+00:00","store":"s"}', "seq"),
        ('{"seq":1,"hash":"ABC","at":"2024-01-01T00:00:00+00:00","store":"s"}', "hash"),
        ('{"seq":1,"hash":"' + "a" * 64 + '","at":"2024-01-01T00:00:00","store":"s"}', "at"),
        ('{"seq":1,"hash":"' + "a" * 64 + '","at":"yesterday","store":"s"}', "at"),
    ],
)
def test_malformed_anchor_lines_name_file_line_and_field(
    tmp_path: Path, line: str, column: str | None
) -> None:
    path = tmp_path / "anchors.jsonl"
    good = LogAnchor(1, "b" * 64, datetime(2024, 1, 1, tzinfo=UTC), "s").to_json_line()
    path.write_text(good + line + "\n", encoding="utf-8")
    with pytest.raises(SchemaError) as caught:
        read_anchors(path)
    message = str(caught.value)
    assert f"file '{path}', row 2" in message and "Fix:" in message
    if column is not None:
        assert f"column '{column}'" in message


def test_missing_or_empty_anchor_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        read_anchors(tmp_path / "none.jsonl")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(StoreError, match="holds no anchor"):
        read_anchors(empty)


def test_anchor_writer_round_trips_numbers_and_chains_lines(tmp_path: Path) -> None:
    path = tmp_path / "anchors.jsonl"
    writer = AnchorWriter(path, store="/s.duckdb")
    written = [writer.append(seq, f"{seq:064x}") for seq in range(3)]
    assert [w.line for w in written] == [1, 2, 3]
    read = read_anchors(path)
    assert [(n.line, n.anchor) for n in read] == [(w.line, w.anchor) for w in written]
    raw = path.read_text(encoding="utf-8").splitlines()
    assert [n.anchor.prev for n in read] == [FIRST_PREV, line_digest(raw[0]), line_digest(raw[1])]
    assert AnchorWriter(path, store="/s.duckdb").append(3, "3" * 64).line == 4  # a new writer reads on
