"""Choice options the help lists (``--freq``, ``--mask``) and ``backtest-grid`` beside its old spelling."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pulsetwin.cli.main import app
from pulsetwin.hotspots.simulate import simulate_drifting_city
from pulsetwin.store.database import Store

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _help(*command: str) -> str:
    """The ``--help`` text of a command, without colour codes and box lines, on one line."""
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200", "TERMINAL_WIDTH": "200"})
    assert result.exit_code == 0, result.output
    return " ".join(ANSI.sub("", result.output).replace("│", " ").split())


@pytest.mark.parametrize(
    ("command", "choices"),
    [
        (("backtest",), ["--freq <W|M>", "--mask <areas|events>"]),
        (("forecast",), ["--freq <W|M>"]),
        (("backtest-grid",), ["--mask <areas|events>"]),
        (("hotspots",), ["--mask <areas|events>"]),
        (("export",), ["--freq <W|M>"]),
        (("import-sensors",), ["--freq <W|M>"]),
    ],
)
def test_help_lists_the_accepted_values(command: tuple[str, ...], choices: list[str]) -> None:
    text = _help(*command)
    for choice in choices:
        assert choice in text, text


@pytest.mark.parametrize(
    "args",
    [
        ["backtest", "--freq", "Q"],
        ["forecast", "--freq", "w"],
        ["backtest-grid", "--category", "burglary_residential", "--mask", "cells"],
        ["hotspots", "--category", "burglary_residential", "--origin", "2021-10-04", "--mask", "all"],
    ],
)
def test_a_value_outside_the_choices_is_refused_listing_them(args: list[str], tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [*args, "--db", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 2
    text = " ".join(ANSI.sub("", result.output).replace("│", " ").split())
    assert re.search(r"Invalid value for '--(freq|mask)'", text), text
    assert ("'W', 'M'" in text) or ("'areas', 'events'" in text), text
    assert not (tmp_path / "none.duckdb").exists()  # refused before any store is touched


@pytest.fixture(scope="module")
def events_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("grid") / "pt.duckdb"
    events = simulate_drifting_city(seed=5, days=200, events_per_year=1_000.0, size_m=2_000.0)
    with Store(path) as store:
        store.import_frames({"events": events}, source="test")
    return path


def test_backtest_grid_and_its_old_spelling_give_the_same_result(events_db: Path, tmp_path: Path) -> None:
    options = [
        "--db",
        str(events_db),
        "--category",
        "burglary_residential",
        "--cell",
        "250",
        "--window",
        "14",
    ]
    options += ["--origins", "2", "--models", "prospective", "--mask", "events", "--seed", "4"]
    new = CliRunner().invoke(app, ["backtest-grid", *options, "--json", str(tmp_path / "new.json")])
    old = CliRunner().invoke(app, ["backtest", "--grid", *options, "--json", str(tmp_path / "old.json")])
    assert new.exit_code == 0, new.output
    assert old.exit_code == 0, old.output
    saved, before = (_untimed(tmp_path / f"{name}.json") for name in ("new", "old"))
    assert saved == before
    assert saved["models"] == ["count_365", "count_8w", "count_all", "prospective"]
    assert len(saved["origins"]) == 2 and saved["settings"]["cell_m"] == 250
    assert "grid backtest over 2 origins" in new.output and new.output == old.output


def _untimed(path: Path) -> dict[str, Any]:
    """A grid backtest's JSON without the fit times (wall ``seconds`` and ``cpu_seconds`` per origin), which
    differ run to run."""
    saved = json.loads(path.read_text())
    for origin in saved["per_origin"]:
        wall, cpu = origin.pop("seconds"), origin.pop("cpu_seconds")
        assert wall.keys() == cpu.keys() and min(cpu.values()) >= 0
    return saved  # type: ignore[no-any-return]


def test_backtest_grid_needs_a_category_in_both_spellings(events_db: Path) -> None:
    new = CliRunner().invoke(app, ["backtest-grid", "--db", str(events_db)])
    assert new.exit_code == 2 and "Missing option '--category'" in ANSI.sub("", new.output)
    old = CliRunner().invoke(app, ["backtest", "--grid", "--db", str(events_db)])
    assert old.exit_code != 0 and "'category' parameter of backtest --grid" in str(old.exception)
