"""``pulsetwin scenario feedback``: the runaway feedback loop on the store's twin, with the project's model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from pulsetwin.cli.common import DEFAULT_DB, DbOption, JsonFlag, console, print_json, write_json
from pulsetwin.exceptions import StoreError
from pulsetwin.studies.feedback_study import ARMS, SERIES, FeedbackStudy


def register(app: typer.Typer) -> None:
    """Add ``feedback`` to the ``scenario`` sub-app when it is registered, else as a top-level command."""
    for group in app.registered_groups:
        if group.name == "scenario" and group.typer_instance is not None:
            group.typer_instance.command("feedback")(feedback_command)
            return
    app.command("feedback")(feedback_command)


def feedback_command(
    db: DbOption = DEFAULT_DB,
    weeks: Annotated[
        int, typer.Option("--weeks", min=1, help="Loop length: the last N weeks of the truth.")
    ] = 52,
    runs: Annotated[int, typer.Option("--runs", min=1, help="Monte-Carlo runs per arm (paired).")] = 4,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Root seed of the runs.")] = 0,
    category: Annotated[str, typer.Option("--category", help="A police-initiated category.")] = "drugs",
    model: Annotated[str, typer.Option("--model", help="Registered model refitted in the loop.")] = "glm",
    policy: Annotated[str, typer.Option("--policy", help="proportional or top_k.")] = "proportional",
    refit_every: Annotated[int, typer.Option("--refit-every", min=1, help="Weeks between refits.")] = 4,
    scheduler: Annotated[
        str,
        typer.Option(
            "--scheduler", help="serial (default: fastest for a few runs), local or tcp://HOST:PORT."
        ),
    ] = "serial",
    out: Annotated[
        Path | None, typer.Option("--out", help="Directory for feedback.json and feedback_series.csv.")
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Run the closed patrol loop naive / ipw / reported-only on the twin's true rates and store the run."""
    from pulsetwin.store import Store
    from pulsetwin.store.protected import read_protected
    from pulsetwin.studies.feedback_study import StudySettings, run_study, save_study, study_data
    from pulsetwin.twin.parameters import MIGRATION_ATTRIBUTE

    settings = StudySettings(
        category=category,
        weeks=weeks,
        runs=runs,
        seed=seed,
        model=model,
        policy=policy,
        refit_every=refit_every,
    )
    if not db.is_file():
        raise StoreError(f"store '{db}' does not exist. Fix: run `pulsetwin twin generate --db {db}` first")
    with Store(db) as store:
        data = study_data(
            store.read("truth", where={"category": category}),
            store.read("incidents", where={"category": category, "freq": "W"}),
            store.read("covariates"),
            read_protected(store, actor="feedback", where={"attribute": MIGRATION_ATTRIBUTE}),
            category=category,
            weeks=weeks,
        )
        study = run_study(data, settings, scheduler=scheduler)
        record = save_study(store, study)
    payload = {"run_id": record.run_id, **study.payload()}
    if out is not None:
        write_json(payload, out / "feedback.json")
        study.series.to_csv(out / "feedback_series.csv", index=False)
    if json_output:
        print_json(payload)
        return
    _print_summary(study, record.run_id)


def _print_summary(study: FeedbackStudy, run_id: str) -> None:
    """End-of-loop values per arm (mean over runs and the last quarter of the loop)."""
    s = study.settings
    table = Table(
        title=f"feedback loop, {s.category}, {s.weeks} weeks, {s.runs} runs, {s.policy} patrol k={s.k}, "
        f"model {s.model} (run {run_id})"
    )
    table.add_column("metric")
    arms = [*ARMS, "oracle"]
    for arm in arms:
        table.add_column(arm, justify="right")
    for metric in SERIES:
        cells = []
        for arm in arms:
            rows = study.summary[(study.summary["arm"] == arm) & (study.summary["metric"] == metric)]
            cells.append("–" if rows.empty else f"{rows['value'].iloc[0]:.3f}")
        table.add_row(metric, *cells)
    console.print(table)
    console.print(
        "misallocation: total-variation distance between patrol shares and true-crime shares (0 = patrol "
        f"follows crime); exposure_disparity: patrol exposure of residents with {study.attribute} against "
        "everyone else (audit-only attribute, never in the model)."
    )
