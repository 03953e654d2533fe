"""``pulsetwin store compact``: maintenance of the store file."""

from __future__ import annotations

import typer

from pulsetwin.cli.common import DEFAULT_DB, DbOption, console


def register(app: typer.Typer) -> None:
    """Add the ``store`` sub-app with ``compact`` to the root app."""
    store_app = typer.Typer(help="Maintenance of the store file.", no_args_is_help=True)
    store_app.command("compact")(compact_command)
    app.add_typer(store_app, name="store")


def compact_command(db: DbOption = DEFAULT_DB) -> None:
    """Rewrite the store into a fresh file (returns space left by an aborted import); logged.

    A running 'pulsetwin serve' lets go of the store meanwhile."""
    from pulsetwin.store.compact import compact

    report = compact(db)
    console.print(
        f"store {report.path} compacted: {report.bytes_before / 1e6:.1f} MB -> {report.bytes_after / 1e6:.1f} MB, "
        f"{report.tables} tables, logged as record {report.log_seq}"
    )
