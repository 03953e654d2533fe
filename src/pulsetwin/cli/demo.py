"""``pulsetwin demo``: the main job end to end on the built-in twin city, as ``make demo`` runs it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.rule import Rule

from pulsetwin.audit.findings import BLOCKED, EXIT_CODES, INSUFFICIENT
from pulsetwin.cli import audit, feedback, forecasting, hotspots, scenario, serve, twin
from pulsetwin.cli.common import DbOption, console
from pulsetwin.schema.periods import Freq
from pulsetwin.store.anchor import resolve_anchor_path


def demo_command(
    db: DbOption = Path("demo/pulsetwin.duckdb"),
    out: Annotated[Path, typer.Option("--out", help="Directory for the report and other outputs.")] = Path(
        "demo"
    ),
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the twin city and of every random step.")
    ] = 2026,
    years: Annotated[int, typer.Option("--years", min=2, help="Years of twin history.")] = 3,
    scenario_spec: Annotated[
        Path | None, typer.Option("--scenario-spec", help="A scenario spec (YAML) to run at the end.")
    ] = None,
    serve_dashboard: Annotated[
        bool,
        typer.Option("--serve/--no-serve", help="End by serving the dashboard on localhost (Ctrl+C stops)."),
    ] = True,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port of the dashboard.")] = 8000,
) -> None:
    """Generate the heerlen twin, backtest and forecast, audit, write documents and report, run a scenario."""
    out.mkdir(parents=True, exist_ok=True)
    db.parent.mkdir(parents=True, exist_ok=True)
    console.print(Rule("1. The twin city (heerlen preset): synthetic data with known truth"))
    twin.generate_command(preset="heerlen", seed=seed, years=years, db=db)
    console.print(
        Rule("2. Backtest against naive baselines and the oracle, then forecast with the best model")
    )
    forecasting.forecast_command(
        db=db, model="best", freq=Freq.W, horizon=4, folds=4, out=out / "forecasts.csv", seed=seed
    )
    console.print(
        Rule("2b. Hotspot map of 125 m cells for the next two weeks, from events before the origin")
    )
    hotspots.hotspots_command(
        category="burglary_residential", origin=_next_monday_after_events(db), db=db, window=14, cell=125,
        out=out / "hotspot_cells.csv", seed=seed,
    )  # fmt: skip
    console.print(Rule("3. Rights and harms audit of the forecast run, then the accountability documents"))
    try:
        audit.audit_command(db=db, json_out=out / "audit.json", seed=seed)
    except typer.Exit as verdict:
        # A blocked or unassessable run is the audit doing its job: the demo reports it and goes on.
        outcome = {
            EXIT_CODES[BLOCKED]: "The gate blocked the run; it stays stored, marked blocked.",
            EXIT_CODES[INSUFFICIENT]: "The audit could not assess the run (too few areas per group).",
        }
        said = outcome.get(verdict.exit_code, "The audit ended unexpectedly; the demo goes on.")
        console.print(f"{said} (exit code {verdict.exit_code})")
    _mark_forecasts(db, out)
    audit.docs_command(db=db, out=out / "documents")
    console.print(Rule("3b. Feedback loop: does a forecast that steers patrols feed on its own records?"))
    feedback.feedback_command(db=db, seed=seed, out=out / "feedback")
    console.print(Rule("4. Report"))
    forecasting.report_command(db=db, out=out, run_id=None)
    if scenario_spec is not None:
        console.print(Rule("5. Scenario: patrol policy and a stated intervention against the baseline"))
        # Into the served documents folder, so the dashboard's scenario page shows it beside the feedback loop.
        scenario.run_command(spec=scenario_spec, db=db, out=out / "documents" / "scenario")
    console.print(Rule("Done"))
    console.print(
        f"Store: {db}\nReport: {out / 'report.html'}\n"
        f"Verify the log (in a shell, after `. .venv/bin/activate`): pulsetwin log verify --db {db}"
    )
    console.print(f"Log anchors (every write appended the log head here): {resolve_anchor_path(db)}")
    if serve_dashboard:
        console.print(Rule("6. Dashboard (demo users with random passwords below; Ctrl+C stops)"))
        serve.serve_command(db=db, port=port, demo=True, documents=out / "documents")


def _mark_forecasts(db: Path, out: Path) -> None:
    """Rewrite ``forecasts.csv`` with the audit's release status and write ``forecasts.gpkg`` for QGIS."""
    from pulsetwin.reports.exports import forecast_frame, write_frame
    from pulsetwin.store.database import Store

    with Store(db, read_only=True) as store:
        frame = forecast_frame(store)
    for name in ("forecasts.csv", "forecasts.gpkg"):
        write_frame(frame, out / name, layer="forecasts")
    states = ", ".join(sorted(set(frame["release_status"])))
    console.print(
        f"{out / 'forecasts.csv'} and {out / 'forecasts.gpkg'} marked with release status: {states}"
    )


def _next_monday_after_events(db: Path) -> str:
    """The first Monday after the last recorded event: the origin of a map of the coming weeks."""
    from pulsetwin.store.database import Store

    with Store(db, read_only=True) as store:
        last = store.read("events")["occurred_at"].max()
    return str((last.normalize() + pd.offsets.Week(weekday=0)).date())


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command to the root app."""
    app.command("demo")(demo_command)
