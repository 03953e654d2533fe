"""Scenario commands: ``scenario run`` simulates a patrol policy and/or intervention against a baseline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pulsetwin.cli.common import DEFAULT_DB, DbOption, JsonFlag, console, err_console, print_json, write_json
from pulsetwin.exceptions import StoreError
from pulsetwin.studies.scenario import (
    base_rates_from_frames,
    check_covariates,
    exposure_from_frames,
    run_scenario,
)
from pulsetwin.studies.scenario_result import ScenarioResult, result_payload
from pulsetwin.studies.scenario_spec import load_spec


def register(app: typer.Typer) -> None:
    """Add the ``scenario`` sub-app with its ``run`` command to the root app."""
    scenario_app = typer.Typer(
        help="What-if scenarios: patrol policies and stated interventions against a baseline.",
        no_args_is_help=True,
    )
    scenario_app.command("run")(run_command)
    app.add_typer(scenario_app, name="scenario")


def run_command(
    spec: Annotated[Path, typer.Option("--spec", help="The scenario spec (YAML).", show_default=False)],
    db: DbOption = DEFAULT_DB,
    runs: Annotated[
        int | None, typer.Option("--runs", min=1, help="Monte-Carlo runs (overrides the spec).")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", min=0, help="Root seed (overrides the spec).")] = None,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Dask scheduler 'tcp://HOST:PORT'; default: a local process pool."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Directory for scenario.json, scenario_areas.csv, scenario_metrics.csv."),
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Simulate the spec's scenario against its baseline as paired Monte-Carlo runs; never invents effects."""
    from pulsetwin.store import Store
    from pulsetwin.store.protected import read_protected

    scenario = load_spec(spec)
    if not db.is_file():
        raise StoreError(f"store '{db}' does not exist. Fix: import data first or pass the right --db")
    with Store(db) as store:
        areas = store.read("areas")
        incidents = store.read("incidents", where={"category": scenario.category, "freq": scenario.freq})
        truth = (
            store.read("truth", where={"category": scenario.category})
            if scenario.base_rates == "truth"
            else None
        )
        needs_covariates = scenario.exposure is not None or any(
            i.kind == "covariate" for i in scenario.scenario.interventions
        )
        covariates = store.read("covariates") if needs_covariates else None
        check_covariates(scenario, covariates)
        population = share = None
        if scenario.exposure is not None and covariates is not None:
            protected = read_protected(
                store, actor="scenario", where={"attribute": scenario.exposure["attribute"]}
            )
            population, share = exposure_from_frames(scenario, covariates, protected)
        rates = base_rates_from_frames(scenario, areas, incidents, truth)
        total = scenario.runs if runs is None else runs
        with Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=json_output,
        ) as bar:
            task = bar.add_task(f"simulating on {scheduler or 'local pool'}", total=total)
            result = run_scenario(
                scenario,
                rates,
                runs=runs,
                seed=seed,
                scheduler=scheduler,
                population=population,
                group_share=share,
                progress=lambda done, _: bar.update(task, completed=done),
            )
        store.log.append(
            "cli",
            "scenario_run",
            scenario.name,
            {"spec": str(spec), "runs": result.runs, "seed": result.seed, "category": scenario.category},
        )
    payload = result_payload(result)
    if out is not None:
        _write_outputs(result, payload, out)
    if json_output:
        print_json(payload)
        return
    _print_result(result)
    if out is not None:
        console.print(f"wrote scenario.json, scenario_areas.csv and scenario_metrics.csv to {out}")


def _write_outputs(result: ScenarioResult, payload: dict[str, object], out: Path) -> None:
    """Write the JSON payload and the two tables as CSV into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    write_json(payload, out / "scenario.json")
    result.areas.to_csv(out / "scenario_areas.csv", index=False)
    result.metrics.to_csv(out / "scenario_metrics.csv", index=False)


def _print_result(result: ScenarioResult) -> None:
    """The summary, the loop metrics and the ten areas with the largest change of expected offences."""
    for line in result.summary:
        console.print(f"- {line}")
    metrics = Table(title="loop metrics (per-period means; difference scenario - baseline)")
    for column in ("metric", "baseline", "scenario", "diff", "q05", "q95"):
        metrics.add_column(column, justify="left" if column == "metric" else "right")
    for row in result.metrics.itertuples(index=False):
        metrics.add_row(str(row[0]), *(f"{v:.3f}" for v in row[1:]))
    console.print(metrics)
    frame = result.areas[result.areas["outcome"] == "offences"]
    frame = frame.reindex(frame["diff_mean"].abs().sort_values(ascending=False).index).head(10)
    areas = Table(title="areas with the largest change in expected offences (totals over the horizon)")
    for column in ("area", "baseline", "scenario", "diff", "q05", "q95"):
        areas.add_column(column, justify="left" if column == "area" else "right")
    for row in frame.itertuples(index=False):
        areas.add_row(str(row.area_code), *(f"{v:.2f}" for v in row[2:]))
    console.print(areas)
