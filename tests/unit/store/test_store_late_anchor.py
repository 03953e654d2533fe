"""Records committed without an anchor are named by the next anchor and reported as anchored late, never verified;
digests copied into another record fail --deep.

The attack this closes: someone who can write the store file but holds no key deletes an import's rows and
appends a record that removes them, its digest copied from the import's record. The chain holds, and the
digests alone balance; the anchors tell that no honest write appended that record, and the record's digest
binding (a MAC under the row key) that its digests were not made for it.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import duckdb
import pytest
import typer
from store_helpers import incidents_frame
from typer.testing import CliRunner

from pulsetwin.cli.data import register
from pulsetwin.exceptions import SchemaError
from pulsetwin.store import Store
from pulsetwin.store import anchor as anchor_module
from pulsetwin.store.anchor import default_anchor_path, new_key, outstanding, read_anchor_file
from pulsetwin.store.digest import (
    DIGESTS_KEY,
    EMPTY,
    KEY_ID_FIELD,
    MAC_FIELD,
    RowKey,
    digest_mac,
    unbound_digests,
)
from pulsetwin.store.log import AnchorError, canonical_detail, record_hash
from pulsetwin.store.logcheck import check_log


def _forge_removal_of(path: Path, source: str, *, copy_mac: bool = False) -> int:
    """The reviewer's attack, with write access to the store file and no key: delete the rows the import of
    ``source`` added and append a chained record whose ``removed`` digest is the import's ``added`` one (with
    ``copy_mac`` also the import's digest binding). Returns the forged record's seq."""
    with duckdb.connect(str(path)) as con:
        rows = con.execute("SELECT seq, detail_json FROM log WHERE action = 'import' ORDER BY seq").fetchall()
        imported = next(json.loads(d) for _, d in rows if json.loads(d)["source"] == source)
        added = imported[DIGESTS_KEY]["incidents"]["added"]
        con.execute("DELETE FROM incidents WHERE source = ?", [source])
        seq, prev = con.execute("SELECT seq, hash FROM log_head").fetchall()[0]
        at = con.execute('SELECT max("at") FROM log').fetchall()[0][0]
        change = {"added": EMPTY.to_json(), "removed": added}
        fields = {
            "reason": "cleanup",
            DIGESTS_KEY: {"incidents": change},
            KEY_ID_FIELD: imported[KEY_ID_FIELD],
        }
        detail = canonical_detail(fields | ({MAC_FIELD: imported[MAC_FIELD]} if copy_mac else {}))
        digest = record_hash(seq + 1, at, "cli", "undo_import", source, detail, prev)
        con.execute(
            "INSERT INTO log VALUES (?, ?, 'cli', 'undo_import', ?, ?, ?, ?)",
            [seq + 1, at, source, detail, prev, digest],
        )
        con.execute("UPDATE log_head SET seq = ?, hash = ?", [seq + 1, digest])
    return int(seq + 1)


def _two_sources(path: Path) -> None:
    frame = incidents_frame(n_areas=4)
    with Store(path) as store:
        store.import_frames({"incidents": frame.iloc[:8].assign(source="cbs")}, source="cbs")
        store.import_frames({"incidents": frame.iloc[8:]}, source="politie")


def _crash(path: Path, line: str) -> None:
    """In place of writing an anchor line: the process dies between the commit and its anchor."""
    raise OSError("the process died before anchoring")


def _note(path: Path) -> None:
    """An honest write: one record, committed and anchored by the store."""
    with Store(path) as store:
        store.log.append("tester", "note", "honest", {})


def test_the_reviewers_forgery_is_reported_as_anchored_late_after_the_next_honest_write(
    store_path: Path,
) -> None:
    _two_sources(store_path)
    forged = _forge_removal_of(store_path, "cbs")
    with Store(store_path, read_only=True) as store:
        before = check_log(store)
    assert before.ok and before.unanchored == 1 and before.late == ()
    _note(store_path)
    with Store(store_path, read_only=True) as store:
        after = check_log(store)
        assert store.count("incidents") == 8  # the 8 rows of "cbs" are gone
    assert after.ok and after.unanchored == 0 and after.late == ((forged, forged),)
    assert after.late_records == 1
    last = read_anchor_file(default_anchor_path(store_path)).anchors[-1].anchor
    assert last.seq == forged + 1 and last.late == (forged, forged)
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["log", "verify", "--db", str(store_path)])
    text = " ".join(result.output.split())
    assert result.exit_code == 2, text
    assert f"written without an anchor (anchored late): seq {forged}..{forged}" in text
    assert "a forgery or a crash between commit and anchoring; inspect them" in text
    assert "log ok" not in text
    payload = json.loads(CliRunner().invoke(app, ["log", "verify", "--db", str(store_path), "--json"]).stdout)
    assert payload["late"] == [[forged, forged]] and payload["late_records"] == 1


@pytest.mark.parametrize("copy_mac", [False, True])
def test_digests_copied_into_a_forged_record_fail_the_deep_check_even_once_anchored(
    store_path: Path, copy_mac: bool
) -> None:
    _two_sources(store_path)
    with Store(store_path, read_only=True) as store:
        assert check_log(store, deep=True).ok
    forged = _forge_removal_of(store_path, "cbs", copy_mac=copy_mac)
    _note(store_path)
    with Store(store_path, read_only=True) as store:
        checked = check_log(store, deep=True)
    failed = [t for t in checked.tables if not t.ok]
    assert checked.chain.ok and not checked.ok and [t.table for t in failed] == ["incidents"]
    assert f"log record {forged} carries digests of it that are not bound to the row key" in failed[0].reason
    assert failed[0].last_seq == forged
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["log", "verify", "--deep", "--db", str(store_path)])
    assert result.exit_code == 1 and f"log record {forged} carries digests" in " ".join(result.output.split())


def test_records_from_before_digests_were_bound_are_taken_as_they_are_until_the_first_bound_one() -> None:
    key = RowKey("id", None, bytes(range(32)))
    digests = {"runs": {"state": EMPTY.to_json()}}
    bound = {DIGESTS_KEY: digests, MAC_FIELD: digest_mac(bytes(range(32)), 3, digests)}
    older = [(1, {DIGESTS_KEY: digests}), (2, {DIGESTS_KEY: digests})]
    assert unbound_digests([*older, (3, bound)], key) == {}
    assert unbound_digests([*older, (3, bound), (4, {DIGESTS_KEY: digests})], key) == {"runs": 4}
    assert unbound_digests([*older, (3, bound), (4, bound)], key) == {"runs": 4}  # bound to record 3
    assert unbound_digests([*older, (4, bound)], RowKey("id", None)) == {}  # no key at hand: not checked


def test_honest_writers_taking_turns_name_no_record_late(store_path: Path) -> None:
    _two_sources(store_path)
    with Store(store_path) as first, Store(store_path) as second:  # e.g. the CLI and the server
        for turn in range(6):
            (first if turn % 2 else second).log.append("tester", "note", f"turn-{turn}", {})
    _note(store_path)  # and one more that opens the store anew
    lines = read_anchor_file(default_anchor_path(store_path)).anchors
    assert [a.anchor.seq for a in lines] == list(range(1, 10)) and all(a.anchor.late is None for a in lines)
    with Store(store_path, read_only=True) as store:
        checked = check_log(store, deep=True)
    assert checked.ok and checked.unanchored == 0 and checked.late == ()


def test_concurrent_writers_of_one_process_never_name_each_others_records(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _two_sources(store_path)
    write_line = anchor_module._write_line

    def slow(path: Path, line: str) -> None:  # widen the gap between a commit and its anchor
        time.sleep(0.005)
        write_line(path, line)

    monkeypatch.setattr(anchor_module, "_write_line", slow)
    stores = [Store(store_path), Store(store_path)]
    errors: list[BaseException] = []

    def write(store: Store, n: int) -> None:
        done = 0
        while done < n:
            try:
                store.log.append("tester", "note", "concurrent", {})
                done += 1
            except duckdb.TransactionException:  # both moved the head: the later commit is refused, retry
                continue
            except BaseException as error:
                errors.append(error)
                return

    threads = [threading.Thread(target=write, args=(s, 15)) for s in stores]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for store in stores:
            store.close()
    assert errors == []
    lines = read_anchor_file(default_anchor_path(store_path)).anchors
    assert len(lines) == 32 and [a.anchor.late for a in lines if a.anchor.late is not None] == []
    with Store(store_path, read_only=True) as store:
        checked = check_log(store)
    assert checked.ok and checked.chain.n_records == 32 and checked.unanchored == 0 and checked.late == ()


def test_a_crash_between_commit_and_anchor_is_named_by_the_next_write(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _two_sources(store_path)
    with Store(store_path) as store:
        with monkeypatch.context() as patched:
            patched.setattr(anchor_module, "_write_line", _crash)
            with pytest.raises(AnchorError, match="was committed"):
                store.log.append("tester", "note", "committed, not anchored", {})
            with pytest.raises(AnchorError, match="was committed"):
                store.log.append("tester", "note", "committed, not anchored either", {})
        store.log.append("tester", "note", "honest", {})
    own = default_anchor_path(store_path)
    last = read_anchor_file(own).anchors[-1].anchor
    assert (last.seq, last.late) == (5, (3, 4))
    with Store(store_path, read_only=True) as store:
        checked = check_log(store)
    assert checked.ok and checked.unanchored == 0 and checked.late == ((3, 4),)
    with Store(store_path) as store:  # the operator inspected record 3 only, and accepts it
        store.log.anchor(own, store=str(store_path), accept=(3, 3))
        assert store.log.records()[-1].detail["accepted"] == [3, 3]
    with Store(store_path, read_only=True) as store:
        assert check_log(store).late == ((4, 4),)
    with Store(store_path) as store:
        store.log.anchor(own, store=str(store_path), accept=(4, 4))
    with Store(store_path, read_only=True) as store:
        checked = check_log(store)
    assert checked.ok and checked.unanchored == 0 and checked.late == ()


def test_outstanding_late_records_are_those_no_acceptance_covers() -> None:
    assert outstanding([(3, 9)], [(5, 6)]) == ((3, 4), (7, 9))
    assert outstanding([(3, 4), (5, 9)], [(1, 3), (9, 12)]) == ((4, 8),)
    assert outstanding([(3, 4)], [(3, 4)]) == () and outstanding([(3, 4)], []) == ((3, 4),)


def test_the_late_field_is_signed_and_checked(
    store_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tmp_path / "anchor.key"
    new_key(key)
    monkeypatch.setenv("PULSETWIN_ANCHOR_KEY", str(key))
    _two_sources(store_path)
    forged = _forge_removal_of(store_path, "cbs")
    _note(store_path)
    path = default_anchor_path(store_path)
    text = path.read_text(encoding="utf-8")
    assert f',"late":[{forged},{forged}],' in text
    path.write_text(text.replace(f',"late":[{forged},{forged}]', ""), encoding="utf-8")  # hide it
    with Store(store_path, read_only=True) as store:
        checked = check_log(store)
    assert not checked.ok and "signature that does not verify" in checked.anchors[0].problems[0].reason
    path.write_text(text.replace(f'"late":[{forged},{forged}]', f'"late":[{forged},{forged + 1}]'), "utf-8")
    with pytest.raises(SchemaError, match=r"late must be \[first, last\]"):
        read_anchor_file(path)


def test_a_new_anchor_file_starts_without_naming_earlier_records(
    store_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _two_sources(store_path)
    elsewhere = tmp_path / "elsewhere.jsonl"
    monkeypatch.setenv("PULSETWIN_ANCHOR_FILE", str(elsewhere))
    _note(store_path)  # the first line of a file cannot know what the file before vouched for
    _note(store_path)
    assert [a.anchor.late for a in read_anchor_file(elsewhere).anchors] == [None, None]
    with Store(store_path, read_only=True) as store:
        checked = check_log(store, [default_anchor_path(store_path)])
    assert checked.ok and checked.unanchored == 0 and checked.late == ()


@pytest.mark.parametrize("own_file", [False, True])
def test_log_anchor_vouches_for_unanchored_records_so_no_later_anchor_names_them(
    store_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, own_file: bool
) -> None:
    _two_sources(store_path)
    with Store(store_path) as store:
        with monkeypatch.context() as patched:
            patched.setattr(anchor_module, "_write_line", _crash)
            with pytest.raises(AnchorError):
                store.log.append("tester", "note", "committed, not anchored", {})
        out = default_anchor_path(store_path) if own_file else tmp_path / "published.jsonl"
        store.log.anchor(out, store=str(store_path))  # the operator checked record 3 and anchors it
        store.log.append("tester", "note", "honest", {})
    lines = read_anchor_file(default_anchor_path(store_path)).anchors
    assert [a.anchor.late for a in lines] == [None] * len(lines)
    with Store(store_path, read_only=True) as store:
        checked = check_log(store, [out])
    assert checked.ok and checked.chain.n_records == 5 and checked.unanchored == 0 and checked.late == ()
