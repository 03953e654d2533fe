"""The ``twin generate`` command against a temporary store."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from pulsetwin.cli.twin import register
from pulsetwin.store import database


def test_generate_writes_tables_into_the_store(tmp_path: Path) -> None:
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """Test root."""

    register(app)
    db = tmp_path / "twin.duckdb"
    args = [
        "twin",
        "generate",
        "--preset",
        "heerlen",
        "--seed",
        "3",
        "--years",
        "1",
        "--db",
        str(db),
        "--json",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert (
        payload["summary"]["calibration_ok"] is True
    )  # the preset's recorded rates lie in the documented ranges
    with database.Store(db, read_only=True) as store:
        incidents = store.read("incidents")
    assert len(incidents) == payload["summary"]["rows"]["incidents"]
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0
    assert sum(json.loads(again.output)["import"]["tables"][i]["inserted"] for i in range(6)) == 0
