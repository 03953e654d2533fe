"""``pulsetwin store compact``: a store bloated by dropped data shrinks; every row and the log survive."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from pulsetwin.cli.store import register
from pulsetwin.store.database import Store

CSV = (
    "area_code,period_start,freq,category,count,source\n"
    "BU09170101,2024-01-01,W,burglary_residential,3,politie\n"
    "BU09170102,2024-01-01,W,overlast_jeugd,1,gemeente\n"
)


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
    app.command("noop")(lambda: None)  # a second command keeps 'store' a sub-command
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
    assert not (tmp_path / "bloated.duckdb.compacting").exists()
