"""The ``pulsetwin`` command: a root Typer app onto which each command module registers its commands."""

from __future__ import annotations

import sys

import typer

from pulsetwin.cli import audit, data, demo, feedback, fetch, forecasting, hotspots, scenario, serve, twin
from pulsetwin.cli import init as init_cli
from pulsetwin.cli import store as store_commands
from pulsetwin.cli import trial as trial_cli
from pulsetwin.cli.common import err_console
from pulsetwin.exceptions import PulsetwinError

app = typer.Typer(
    name="pulsetwin",
    help=(
        "PulseTwin forecasts liveability and safety per neighbourhood and period, proves whether the forecast "
        "beats naive baselines, and audits whom it could harm. Places, never persons."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for module in (twin, data, fetch, forecasting, hotspots, scenario, feedback, audit, serve, demo):
    module.register(app)
init_cli.register(app)
store_commands.register(app)
trial_cli.register(app)


def run() -> None:
    """Console entry point: run the app and turn PulseTwin errors into a clear message and exit code 2."""
    try:
        app()
    except PulsetwinError as error:
        err_console.print(f"[bold red]error:[/] {error}")
        sys.exit(2)
