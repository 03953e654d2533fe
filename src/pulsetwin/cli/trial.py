"""``pulsetwin trial``: design and pre-register a randomised field trial, simulate it on a twin, analyse it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.panel import Panel
from rich.table import Table

from pulsetwin.cli.common import DEFAULT_DB, DbOption, console, write_json

trial_app = typer.Typer(help="Randomised field trials of acting on the forecast.", no_args_is_help=True)
TrialOption = Annotated[str, typer.Option("--trial", help="Trial id (the spec's name).")]


def register(app: typer.Typer) -> None:
    """Add the ``trial`` group to the root app."""
    app.add_typer(trial_app, name="trial")


@trial_app.command("design")
def design_command(
    run: Annotated[str, typer.Option("--run", help="Forecast run the trial is designed on.")],
    spec: Annotated[Path, typer.Option("--spec", help="Trial spec YAML (see examples/trial.yaml).")],
    out: Annotated[Path, typer.Option("--out", help="Directory for preregistration.md and .json.")],
    db: DbOption = DEFAULT_DB,
    allow_underpowered: Annotated[
        bool, typer.Option("--allow-underpowered", help="Register a design below its target power anyway.")
    ] = False,
    new_version: Annotated[
        str | None,
        typer.Option("--new-version", help="Reason for registering a changed design of a registered trial."),
    ] = None,
) -> None:
    """Compute power and the allocation, write the pre-registration and log its SHA-256 before the trial."""
    from pulsetwin.store.database import Store
    from pulsetwin.trials.design import design_trial
    from pulsetwin.trials.power import RANGE_LEVEL
    from pulsetwin.trials.registration import register as register_trial
    from pulsetwin.trials.registration import underpowered
    from pulsetwin.trials.spec import load_spec

    parsed = load_spec(spec)
    with Store(db) as store:
        design = design_trial(store, run, parsed)
        registration = register_trial(
            store, design, out, new_version=new_version, allow_underpowered=allow_underpowered
        )
    power = design.power
    mde = "none on the grid" if power.mde is None else f"{power.mde:.2f}"
    units = design.units
    console.print(
        f"Trial {design.trial_id} ({parsed.design.type}): {len(units)} units ({units['area_code'].nunique()} "
        f"buurten) in {units['block'].nunique()} blocks, {int(units['treated'].sum())} treated; periods "
        f"{design.periods[0].date()} to {design.periods[-1].date()}."
    )
    console.print(
        f"Power {power.power:.0%} for rate ratio {power.effect} at alpha {parsed.alpha} "
        f"(NB size {power.size:.3g}, {power.simulations} simulations); minimum detectable rate ratio {mde}."
    )
    if power.power_range is not None:
        console.print(
            f"Over the {RANGE_LEVEL:.0%} interval of the measured between-buurt spread the power ranges from "
            f"{power.power_range[0]:.0%} to {power.power_range[1]:.0%}."
        )
    if design.dispersion is not None:
        console.print(f"Dispersion: {design.dispersion.note}.")
    if underpowered(design):
        console.print(
            Panel(
                f"Power {power.power:.0%} is below the target {power.target:.0%}: this trial will likely miss a "
                "real effect. Registered only because --allow-underpowered was given (recorded).",
                title="UNDERPOWERED",
                border_style="bold red",
            )
        )
    console.print(
        f"Registered version {registration.version} (log record {registration.seq}), SHA-256 "
        f"{registration.sha256}; files in {out}"
    )


@trial_app.command("simulate")
def simulate_command(
    trial: TrialOption,
    db: DbOption = DEFAULT_DB,
    effect: Annotated[
        float, typer.Option("--effect", help="True rate ratio in treated buurten.", min=0.0)
    ] = 1.0,
    displacement: Annotated[
        float, typer.Option("--displacement", help="True relative change in adjacent buurten (0.2 = +20 %).")
    ] = 0.0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the simulated counts.")] = 0,
) -> None:
    """Twin only: simulate the registered trial period with a known effect and import it as incidents."""
    import pandas as pd

    from pulsetwin.store.database import Store
    from pulsetwin.trials.registration import latest_registration
    from pulsetwin.trials.testbed import SOURCE, simulate_trial_outcomes, store_process

    with Store(db) as store:
        doc = latest_registration(store, trial).document
        periods = [pd.Timestamp(p) for p in doc["periods"]]
        units = doc["units"]
        cells = bool(units) and "period_start" in units[0]
        treated_cells = [
            (u["area_code"], pd.Timestamp(u["period_start"])) for u in units if u["treated"] and cells
        ]
        frame = simulate_trial_outcomes(
            store_process(store), store.read("areas"),
            treated=sorted({u["area_code"] for u in units if u["treated"]}),
            units=sorted({u["area_code"] for u in units}), category=doc["primary_outcome"]["category"],
            periods=periods, freq=doc["freq"], effect=effect, displacement=displacement, seed=seed,
            treated_cells=treated_cells if cells else None,
        )  # fmt: skip
        store.import_frames({"incidents": frame}, source=SOURCE)
        store.log.append("cli", "trial_simulate", trial, {"effect": effect, "displacement": displacement,
                                                          "seed": seed, "rows": len(frame)})  # fmt: skip
    console.print(f"{len(frame)} incident rows of the trial period simulated with rate ratio {effect}.")


@trial_app.command("analyse")
def analyse_command(
    trial: TrialOption,
    db: DbOption = DEFAULT_DB,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the result as JSON here.")
    ] = None,
) -> None:
    """Analyse a registered trial with the pre-registered method only; the result goes to the log."""
    from pulsetwin.store.database import Store
    from pulsetwin.trials.analysis import analyse_trial

    with Store(db) as store:
        result = analyse_trial(store, trial)
    show_result(result)
    if json_out is not None:
        write_json(result, json_out)
        console.print(f"JSON written to {json_out}")


def show_result(result: dict[str, Any]) -> None:
    """The sentence first, then displacement, burden and every deviation."""
    console.print(Panel(result["sentence"], title=f"trial {result['trial_id']} v{result['version']}"))
    for other in result["secondary"]:
        rr = other["rate_ratio"]
        console.print(f"Secondary {other['outcome']} (exploratory): rate ratio {rr['estimate']:.2f} "
                      f"({rr['lower']:.2f} to {rr['upper']:.2f}), "
                      f"randomisation p = {other['p_value']:.3f}.")  # fmt: skip
    moved = result["displacement"]
    tested = (
        ""
        if moved["p_value"] is None
        else f"; buffer vs control-buffer randomisation p = {moved['p_value']:.3f}"
    )
    console.print(f"Displacement: {moved['reading']}{tested}.")
    bore = result["burden"]
    if bore["unavailable"]:
        console.print(f"Who bore the intervention: cannot be assessed ({bore['unavailable']}).")
    else:
        table = Table(title="Who bore the intervention (audit-only attributes, quartile groups)")
        for column in ("attribute", "group", "buurten", "eligible", "treated", "share of treated"):
            table.add_column(column)
        for row in bore["groups"]:
            table.add_row(row["attribute"], str(row["group"]), str(row["buurten"]), str(row["eligible"]),
                          str(row["treated"]), f"{row['share_of_treated']:.0%}")  # fmt: skip
        console.print(table)
    deviations = result["deviations"]
    console.print("Deviations from the pre-registration: " + ("none" if not deviations else ""))
    for item in deviations:
        console.print(f"- {item}")
