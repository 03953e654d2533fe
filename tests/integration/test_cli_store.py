"""``pulsetwin store compact``: a store bloated by dropped data shrinks; every row and the log survive."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import typer
from typer.testing import CliRunner

from pulsetwin.cli import log as log_cli
from pulsetwin.cli.store import register
from pulsetwin.exceptions import StoreError
from pulsetwin.store import compact as compact_module
from pulsetwin.store.database import Store
from pulsetwin.store.log import Log
from pulsetwin.store.logcheck import check_log

CSV = (
    "area_code,period_start,freq,category,count,source\n"
    "BU09170101,2024-01-01,W,burglary_residential,3,politie\n"
    "BU09170102,2024-01-01,W,overlast_jeugd,1,gemeente\n"
)


def _store_with_one_import(tmp_path: Path) -> Path:
    """A store in ``tmp_path`` holding one import of :data:`CSV` (its anchor file beside it)."""
    db = tmp_path / "s.duckdb"
    source = tmp_path / "incidents.csv"
    source.write_text(CSV, encoding="utf-8")
    with Store(db) as store:
        store.import_file("incidents", source)
    return db


def test_compact_shrinks_a_bloated_store_and_keeps_rows_and_log(tmp_path: Path) -> None:
    db = tmp_path / "bloated.duckdb"
    source = tmp_path / "incidents.csv"
    source.write_text(CSV, encoding="utf-8")
    with Store(db) as store:
        store.import_file("incidents", source)
        # what an aborted import leaves: blocks written, then given up (DuckDB keeps the file size)
        store._con.execute(
            "CREATE TABLE scratch AS SELECT range AS i, md5(range::VARCHAR) AS s FROM range(400000)"
        )
        store._con.execute("CHECKPOINT")
        store._con.execute("DROP TABLE scratch")
        store._con.execute("CHECKPOINT")
        head = store.log.head()
    bloated = db.stat().st_size
    app = typer.Typer()
    register(app)
    log_cli.register(app)  # a second group keeps 'store' a sub-command
    before = sorted(p.name for p in tmp_path.iterdir())
    done = CliRunner().invoke(app, ["store", "compact", "--db", str(db)])
    assert done.exit_code == 0, done.output
    assert "compacted" in done.output
    assert db.stat().st_size < bloated / 2
    with Store(db, read_only=True) as store:
        assert store.count("incidents") == 2
        assert store.log.verify().ok
        last = store.log.records()[-1]
        assert (last.action, last.seq) == ("compact", head[0] + 1)
        assert last.detail["bytes_before"] == bloated
    # no temporary file or anchor file of the copy is left, and the store's own anchor file vouches for the
    # compaction record: verify passes with every record anchored (exit 0, not 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    verified = CliRunner().invoke(app, ["log", "verify", "--db", str(db), "--deep"])
    assert verified.exit_code == 0, verified.output
    assert f"log ok: {head[0] + 1} records, all verified against the anchors" in " ".join(
        verified.output.split()
    )


def test_a_failed_compaction_leaves_the_store_its_anchors_and_no_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = _store_with_one_import(tmp_path)
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p != db}
    counted: list[str] = []
    real_rows = compact_module._rows

    def miscount(con: duckdb.DuckDBPyConnection, table: str) -> int:
        """The store's own count, then one row too many in the copy's count of incidents."""
        counted.append(table)
        copy_of_incidents = table == "incidents" and counted.count(table) == 2
        return real_rows(con, table) + (1 if copy_of_incidents else 0)

    monkeypatch.setattr(compact_module, "_rows", miscount)
    with pytest.raises(StoreError, match="differs in tables incidents; the store is left as it was"):
        compact_module.compact(db)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p != db} == files
    with Store(db, read_only=True) as store:
        assert store.count("incidents") == 2 and check_log(store).ok and check_log(store).unanchored == 0


def test_no_other_process_writes_the_compacted_store_before_its_head_is_anchored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = _store_with_one_import(tmp_path)
    opened: list[subprocess.CompletedProcess[str]] = []
    inode = db.stat().st_ino
    real_anchor_head = Log.anchor_head

    def anchor_head(log: Log, seq: int, digest: str, *, first: int | None) -> None:
        """Another process tries to open the store for writing after the replacement, before the anchor."""
        if db.stat().st_ino != inode:  # the store's own anchoring, once the copy replaced it
            tries = f"import duckdb; duckdb.connect({str(db)!r}).close()"
            opened.append(subprocess.run([sys.executable, "-c", tries], capture_output=True, text=True))
        real_anchor_head(log, seq, digest, first=first)

    monkeypatch.setattr(Log, "anchor_head", anchor_head)
    compact_module.compact(db)
    assert len(opened) == 1 and opened[0].returncode != 0 and "lock" in opened[0].stderr.lower()
    with Store(db, read_only=True) as store:
        checked = check_log(store)
        assert store.log.records()[-1].action == "compact"
    assert checked.ok and checked.unanchored == 0 and checked.late == ()
