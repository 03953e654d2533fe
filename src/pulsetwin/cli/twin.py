"""Twin commands: ``twin generate`` writes a synthetic city (tables plus truth) into the store."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from pulsetwin.cli.common import DEFAULT_DB, DbOption, JsonFlag, console, err_console, print_json

twin_app = typer.Typer(help="The twin city: a synthetic city with known truth.", no_args_is_help=True)


@twin_app.command("generate")
def generate_command(
    preset: Annotated[
        str, typer.Option("--preset", help="heerlen (one municipality) or nl (the country).")
    ] = ("heerlen"),
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed: the same seed gives the same tables.")
    ] = 0,
    years: Annotated[int, typer.Option("--years", help="Calendar years to simulate.")] = 3,
    start_year: Annotated[int, typer.Option("--start-year", help="First simulated year.")] = 2021,
    db: DbOption = DEFAULT_DB,
    json_output: JsonFlag = False,
) -> None:
    """Generate a twin and import its tables (areas, covariates, incidents, events, protected, truth)."""
    from pulsetwin.store.database import Store
    from pulsetwin.twin.generate import generate_twin

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        disable=json_output,
        transient=True,
    ) as progress:
        task = progress.add_task(f"twin {preset}: starting", total=None)

        def step(name: str) -> None:
            progress.update(task, description=f"twin {preset}: {name}")

        city = generate_twin(preset, seed=seed, years=years, start_year=start_year, progress=step)
        step("importing into the store")
        with Store(db) as store:
            report = store.import_frames(city.tables, source=str(city.source))
    summary = city.summary()
    if json_output:
        print_json({"summary": summary, "import": report.to_dict()})
        return
    view = Table(
        title=f"twin {preset} seed {seed}: {years} year(s) from {start_year} (log #{report.log_seq})"
    )
    for column in ("table", "rows", "inserted", "already present"):
        view.add_column(column, justify="left" if column == "table" else "right")
    for item in report.tables:
        view.add_row(item.table, f"{item.rows:,}", f"{item.inserted:,}", f"{item.already_present:,}")
    console.print(view)
    rates = ", ".join(f"{k} {v:.1f}" for k, v in summary["recorded_per_1000"].items())
    console.print(f"recorded per 1,000 inhabitants per year: {rates}")
    console.print(f"calibration within documented ranges: {'yes' if summary['calibration_ok'] else 'NO'}")


def register(app: typer.Typer) -> None:
    """Add the ``twin`` command group to the root app."""
    app.add_typer(twin_app, name="twin")
