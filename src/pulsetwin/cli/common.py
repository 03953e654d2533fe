"""Options and output helpers shared by every command module."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

DEFAULT_DB = Path("pulsetwin.duckdb")

# Piped output (CI logs, `make demo | tee`) gets a wide console so result tables are not truncated.
_WIDTH = None if sys.stdout.isatty() else 160
console = Console(highlight=False, width=_WIDTH)
err_console = Console(stderr=True, highlight=False, width=_WIDTH)

DbOption = Annotated[
    Path,
    typer.Option(
        "--db", help="The PulseTwin store: one DuckDB file (created when missing).", show_default=True
    ),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of tables.")]
MinTrainOption = Annotated[
    int | None,
    typer.Option(
        "--min-train",
        min=1,
        help="Fewest training periods before a backtest origin (default one year: 52 W or 12 M). Lower it only "
        "for a short history: the models then see no full year of seasonality.",
    ),
]
ReviseFlag = Annotated[
    bool,
    typer.Option(
        "--revise",
        help="Accept a re-publication: rows whose key is stored with other values replace the stored ones "
        "(logged with old -> new values) instead of being refused.",
    ),
]

AlsoSourceFlag = Annotated[
    bool,
    typer.Option(
        "--also-source",
        help="The incidents are a different measurement from a stored source whose counts they match "
        "(without it, counts that coincide with another source's are refused as a copy).",
    ),
]


def print_json(payload: Any) -> None:
    """Write ``payload`` as JSON to stdout (dates and numpy scalars as strings/numbers)."""
    typer.echo(json.dumps(payload, indent=2, default=_json_default, ensure_ascii=False))


def write_json(payload: Any, path: Path) -> None:
    """Write ``payload`` as JSON to ``path`` atomically (temp file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=_json_default, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)


def _json_default(value: Any) -> Any:
    """Serialise numpy scalars, timestamps and paths."""
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
