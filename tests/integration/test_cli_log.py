"""The log commands end to end: verify --deep names an edited table, unanchored records exit 2, signed anchors."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
import typer
from typer.testing import CliRunner

from pulsetwin.cli.data import register
from pulsetwin.exceptions import StoreError

CSV = (
    "area_code,period_start,freq,category,count,source\n"
    "BU09170101,2024-01-01,W,burglary_residential,3,politie\n"
    "BU09170102,2024-01-01,W,burglary_residential,1,politie\n"
)


@pytest.fixture
def app() -> typer.Typer:
    """A test-local app with the data and log commands registered."""
    local = typer.Typer()
    register(local)
    return local


def _imported(app: typer.Typer, runner: CliRunner, tmp_path: Path, env: dict[str, str] | None = None) -> Path:
    db, csv_path = tmp_path / "s.duckdb", tmp_path / "incidents.csv"
    csv_path.write_text(CSV, encoding="utf-8")
    result = runner.invoke(app, ["import", "incidents", str(csv_path), "--db", str(db)], env=env)
    assert result.exit_code == 0, result.output
    return db


def _verify(app: typer.Typer, runner: CliRunner, db: Path, *extra: str) -> tuple[int, str]:
    result = runner.invoke(app, ["log", "verify", "--db", str(db), *extra])
    return result.exit_code, " ".join(result.output.split())


def test_verify_deep_names_a_table_edited_outside_pulsetwin(app: typer.Typer, tmp_path: Path) -> None:
    runner = CliRunner()
    db = _imported(app, runner, tmp_path)
    code, text = _verify(app, runner, db, "--deep")
    assert code == 0 and "table incidents ok: 2 rows as logged" in text and "log ok: 1 records" in text
    with duckdb.connect(str(db)) as con:
        con.execute("UPDATE incidents SET count = 30 WHERE area_code = 'BU09170101'")
    assert _verify(app, runner, db)[0] == 0  # the chain and anchors do not see table contents
    code, text = _verify(app, runner, db, "--deep")
    assert (
        code == 1
        and "table edited: table 'incidents' holds 2 rows as logged, but their content differs" in text
    )
    payload = json.loads(runner.invoke(app, ["log", "verify", "--db", str(db), "--deep", "--json"]).stdout)
    failed = [t for t in payload["tables"] if not t["ok"]]
    assert [t["table"] for t in failed] == ["incidents"] and payload["reason"] == failed[0]["reason"]


@pytest.mark.parametrize(
    ("sql", "table"),
    [
        ("DELETE FROM import_rows_incidents WHERE area_code = 'BU09170101'", "import_rows_incidents"),
        (
            "UPDATE import_rows_incidents SET status = 'present' WHERE status = 'inserted'",
            "import_rows_incidents",
        ),
        (
            "INSERT INTO import_undo SELECT dataset_id, now(), 'cli', 'forged' FROM provenance LIMIT 1",
            "import_undo",
        ),
    ],
)
def test_verify_deep_names_a_direct_edit_of_the_import_bookkeeping(
    app: typer.Typer, tmp_path: Path, sql: str, table: str
) -> None:
    runner = CliRunner()
    db = _imported(app, runner, tmp_path)
    more = tmp_path / "more.csv"
    more.write_text(CSV + "BU09170103,2024-01-01,W,burglary_residential,2,politie\n", encoding="utf-8")
    result = runner.invoke(app, ["import", "incidents", str(more), "--db", str(db)])
    assert result.exit_code == 0, result.output
    code, text = _verify(app, runner, db, "--deep")
    assert code == 0 and "table import_rows_incidents ok" in text and "table import_undo ok" in text
    with duckdb.connect(str(db)) as con:
        con.execute(sql)
    code, text = _verify(app, runner, db, "--deep")
    assert code == 1 and f"table edited: table '{table}' holds" in text


def test_records_after_the_newest_anchor_are_reported_unanchored_with_exit_2(
    app: typer.Typer, tmp_path: Path
) -> None:
    runner = CliRunner()
    db = _imported(app, runner, tmp_path)
    anchors = tmp_path / "s.duckdb.anchors.jsonl"
    first = anchors.read_text(encoding="utf-8")
    _imported(app, runner, tmp_path)  # an idempotent re-import: a second record, anchored
    anchors.write_text(first, encoding="utf-8")  # as if the process died between commit and anchoring
    code, text = _verify(app, runner, db)
    assert code == 2 and "log ok up to record 1" in text and "unanchored: records 2..2 (1)" in text
    assert "log ok: " not in text
    anchors.unlink()
    code, text = _verify(app, runner, db)
    assert code == 2 and f"no anchor file at {anchors}" in text and "unanchored: records 1..2" in text


def test_keygen_signs_the_anchors_and_verify_checks_them(app: typer.Typer, tmp_path: Path) -> None:
    runner = CliRunner()
    key = tmp_path / "secret" / "anchor.key"
    made = runner.invoke(app, ["log", "keygen", "--out", str(key)])
    assert made.exit_code == 0 and (key.stat().st_mode & 0o777) == 0o600
    again = runner.invoke(app, ["log", "keygen", "--out", str(key)])
    assert isinstance(again.exception, StoreError) and "never overwrite a key" in str(again.exception)
    db = _imported(app, runner, tmp_path, env={"PULSETWIN_ANCHOR_KEY": str(key)})
    line = json.loads((tmp_path / "s.duckdb.anchors.jsonl").read_text(encoding="utf-8"))
    assert len(line["mac"]) == 64
    code, text = _verify(app, runner, db, "--key", str(key))
    assert code == 0 and "signed lines not checked" not in text
    code, text = _verify(app, runner, db)
    assert code == 0 and "1 signed lines not checked (no key given)" in text
    other = tmp_path / "other.key"
    assert runner.invoke(app, ["log", "keygen", "--out", str(other)]).exit_code == 0
    code, text = _verify(app, runner, db, "--key", str(other))
    assert code == 1 and "signature that does not verify" in text


def test_records_anchored_late_exit_2_until_accepted_with_log_anchor(
    app: typer.Typer, tmp_path: Path
) -> None:
    runner = CliRunner()
    db = _imported(app, runner, tmp_path)
    anchors = tmp_path / "s.duckdb.anchors.jsonl"
    first = anchors.read_text(encoding="utf-8")
    _imported(app, runner, tmp_path)
    anchors.write_text(first, encoding="utf-8")  # as if the process died between commit and anchoring
    _imported(app, runner, tmp_path)  # the next write anchors record 3 and names record 2
    code, text = _verify(app, runner, db)
    assert (
        code == 2 and "written without an anchor (anchored late): seq 2..2" in text and "log ok" not in text
    )
    bad = runner.invoke(
        app, ["log", "anchor", "--db", str(db), "--out", str(anchors), "--accept-late", "2..x"]
    )
    assert bad.exit_code == 2 and "not a range of records" in " ".join(bad.output.split())
    accepted = runner.invoke(
        app, ["log", "anchor", "--db", str(db), "--out", str(anchors), "--accept-late", "2..2"]
    )
    assert accepted.exit_code == 0 and "accepted records 2..2 anchored late" in accepted.output
    code, text = _verify(app, runner, db)
    assert code == 0 and "log ok: 4 records, all verified against the anchors" in text
