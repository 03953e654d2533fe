"""Re-keying an older log's unkeyed row digests: only after the tables were checked against them."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import typer
from store_helpers import dump_store, incidents_frame
from typer.testing import CliRunner

from pulsetwin.cli import log as log_cli
from pulsetwin.exceptions import LogIntegrityError, StoreError
from pulsetwin.store import Store
from pulsetwin.store.anchor import default_anchor_path
from pulsetwin.store.digest import KEY_VARIABLE, NO_ROW_KEY, REKEY_ACTION
from pulsetwin.store.logcheck import check_log
from pulsetwin.store.rekey import rekey_digests
from pulsetwin.store.rowkey import KEY_SUFFIX
from pulsetwin.store.runs import RunKind


def _older_store(path: Path) -> None:
    """A store as a PulseTwin from before row-digest keys left it: unkeyed digests, no key file.

    Its records digest rows with no text before them and name no key (``digest_key`` null, which reads as
    the field's absence in the older records).
    """
    frame = incidents_frame()
    with Store(path) as store:
        store._con.execute(f"SET VARIABLE {KEY_VARIABLE} = ''")
        store.log._row_key = NO_ROW_KEY
        store.import_frames({"incidents": frame.iloc[:6]}, source="first")
        store.import_frames({"incidents": frame}, source="second")
        store.save_run(RunKind.FORECAST, model="naive_last")
    path.with_name(path.name + KEY_SUFFIX).unlink()


def _deep(path: Path) -> bool:
    with Store(path, read_only=True) as store:
        checked = check_log(store, deep=True)
    return checked.ok and checked.unanchored == 0


def test_an_older_log_is_refused_by_the_deep_check_with_the_way_forward(store_path: Path) -> None:
    _older_store(store_path)
    with pytest.raises(
        StoreError, match=r"record 1 carries unkeyed row digests.*'pulsetwin log rekey --db STORE'"
    ):
        _deep(store_path)


def test_rekeying_checks_the_unkeyed_digests_then_the_deep_check_holds_for_later_writes(
    store_path: Path,
) -> None:
    _older_store(store_path)
    with Store(store_path) as store:
        record = rekey_digests(store)
    assert (record.seq, record.action) == (4, REKEY_ACTION)
    assert record.detail["unkeyed_through"] == 3 and "incidents" in record.digests
    assert _deep(store_path)
    with Store(store_path) as store:
        store.import_frames(
            {"incidents": incidents_frame().assign(count=99).iloc[:1]}, source="fix", revise=True
        )
    assert _deep(store_path)
    with duckdb.connect(str(store_path)) as con:  # after the re-keying, direct edits are named under the key
        con.execute("UPDATE incidents SET count = count + 1 WHERE count < 99")
    with Store(store_path, read_only=True) as store:
        failed = [t.table for t in check_log(store, deep=True).tables if not t.ok]
    assert failed == ["incidents"]


def test_rekeying_does_not_launder_a_table_edited_outside_pulsetwin(store_path: Path) -> None:
    _older_store(store_path)
    with duckdb.connect(str(store_path)) as con:
        con.execute("DELETE FROM incidents WHERE count = (SELECT max(count) FROM incidents)")
    before = dump_store(store_path), default_anchor_path(store_path).read_bytes()
    with (
        Store(store_path) as store,
        pytest.raises(LogIntegrityError, match=r"table 'incidents' holds \d+ rows"),
    ):
        rekey_digests(store)
    assert (dump_store(store_path), default_anchor_path(store_path).read_bytes()) == before


def test_rekeying_needs_every_record_anchored_and_a_purely_unkeyed_log(store_path: Path) -> None:
    _older_store(store_path)
    anchors = default_anchor_path(store_path)
    lines = anchors.read_text(encoding="utf-8").splitlines(keepends=True)
    anchors.write_text("".join(lines[:-1]), encoding="utf-8")  # the last record is unanchored
    with (
        Store(store_path) as store,
        pytest.raises(StoreError, match=r"records 3\.\.3 follow the newest anchor"),
    ):
        rekey_digests(store)
    with Store(store_path) as store:  # a write with the key anchors record 3 (late) and mixes the two forms
        store.save_run(RunKind.FORECAST, model="seasonal_naive")
        store.log.anchor(anchors, store=str(store_path), accept=(3, 3))  # inspected: the crash
    with (
        Store(store_path) as store,
        pytest.raises(StoreError, match="record 4 carries keyed row digests after"),
    ):
        rekey_digests(store)


def test_rekeying_refuses_records_anchored_late_until_they_are_accepted(store_path: Path) -> None:
    _older_store(store_path)
    anchors = default_anchor_path(store_path)
    lines = anchors.read_text(encoding="utf-8").splitlines(keepends=True)
    anchors.write_text("".join(lines[:-1]), encoding="utf-8")  # record 3 committed, never anchored
    with Store(store_path) as store:  # a write without digests anchors record 4 and names record 3
        store.log.append("tester", "note", "no rows changed", {})
    with (
        Store(store_path) as store,
        pytest.raises(StoreError, match=r"records 3\.\.3 were written without an anchor"),
    ):
        rekey_digests(store)
    with Store(store_path) as store:  # inspected: the crash, not a forgery
        store.log.anchor(anchors, store=str(store_path), accept=(3, 3))
        assert rekey_digests(store).detail["unkeyed_through"] == 3


def test_a_keyed_log_has_nothing_to_rekey(store_path: Path) -> None:
    with Store(store_path) as store:
        store.import_frames({"incidents": incidents_frame()}, source="test")
        with pytest.raises(StoreError, match="nothing to re-key"):
            rekey_digests(store)


def test_the_rekey_command_says_what_it_checked_and_verify_deep_then_passes(store_path: Path) -> None:
    _older_store(store_path)
    app = typer.Typer()
    log_cli.register(app)
    app.command("noop")(lambda: None)  # a second command keeps 'log' a sub-command
    runner = CliRunner()
    done = runner.invoke(app, ["log", "rekey", "--db", str(store_path)])
    assert done.exit_code == 0, done.output
    text = " ".join(done.output.split())
    assert (
        "re-keyed: " in text and "unkeyed digests of records up to 3 imply" in text and "log record 4" in text
    )
    verified = runner.invoke(app, ["log", "verify", "--db", str(store_path), "--deep"])
    assert verified.exit_code == 0 and "table incidents ok: 12 rows as logged" in " ".join(
        verified.output.split()
    )
    again = runner.invoke(app, ["log", "rekey", "--db", str(store_path)])
    assert isinstance(again.exception, StoreError) and "nothing to re-key" in str(again.exception)


def test_a_log_without_digests_has_nothing_to_rekey(store_path: Path) -> None:
    with Store(store_path) as store:
        store.log.append("tester", "note", "no rows changed", {})
        with pytest.raises(StoreError, match="no log record carries unkeyed row digests"):
            rekey_digests(store)
