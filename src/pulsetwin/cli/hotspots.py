"""``pulsetwin hotspots`` (a grid hotspot map) and ``pulsetwin backtest-grid`` (alias ``backtest --grid``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.table import Table

from pulsetwin.cli.common import DEFAULT_DB, DbOption, console, print_json, write_json
from pulsetwin.exceptions import ParameterError, bad_parameter
from pulsetwin.grid.cells import parse_grid_origin
from pulsetwin.hotspots.backtest import run_grid_backtest
from pulsetwin.hotspots.forecast import hotspot_map
from pulsetwin.hotspots.prepare import Mask, parse_categories
from pulsetwin.hotspots.registry import MODELS
from pulsetwin.store.runs import RunKind

SHOWN_ROWS = 20


def _origin(value: str) -> pd.Timestamp:
    """Parse ``--origin`` as an ISO date."""
    try:
        return pd.Timestamp(value)
    except ValueError:
        raise bad_parameter("origin", "hotspots", "an ISO date YYYY-MM-DD", value) from None


def read_inputs(db: Path) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None]:
    """Events, areas and covariates from the store (areas/covariates None when empty)."""
    from pulsetwin.store.database import Store

    with Store(db, read_only=True) as store:
        events = store.read("events")
        areas = store.read("areas")
        covariates = store.read("covariates")
    return events, (areas if not areas.empty else None), (covariates if not covariates.empty else None)


def log_action(db: Path, action: str, subject: str, detail: dict[str, Any]) -> None:
    """Append a record of what was computed to the store's tamper-evident log."""
    from pulsetwin.store.database import Store

    with Store(db) as store:
        store.log.append("cli", action, subject, detail)


def save_map(db: Path, cells: pd.DataFrame, metadata: dict[str, Any]) -> str:
    """Store the map as a run of kind ``hotspots`` (every cell's code, corner, mean and rank in its metrics), so
    the dashboard, the report and ``pulsetwin export hotspots`` show it; returns the run id."""
    import json

    from pulsetwin.store.database import Store

    plain = json.loads(json.dumps(metadata, default=str))
    columns = ("cell_code", "x_min", "y_min", "mean", "rank")
    plain["cells"] = {c: cells[c].tolist() for c in columns}
    origin = pd.Timestamp(metadata["origin"])
    params = {k: plain[k] for k in ("categories", "cell_m", "window_days", "seed")}
    with Store(db) as store:
        record = store.save_run(
            RunKind.HOTSPOTS,
            model=str(metadata["model"]),
            params=params,
            metrics=plain,
            origin=origin,
            actor="cli",
        )
    return record.run_id


def sidecar_path(out: Path) -> Path:
    """The metadata file next to a cells CSV: ``cells.csv`` -> ``cells.meta.json``."""
    return out.with_name(out.stem + ".meta.json")


def write_map(cells: pd.DataFrame, metadata: dict[str, Any], out: Path) -> Path:
    """Write the cells CSV and its sidecar JSON; return the sidecar's path."""
    out.parent.mkdir(parents=True, exist_ok=True)
    cells.to_csv(out, index=False, float_format="%.6g")
    meta = sidecar_path(out)
    write_json(metadata, meta)
    return meta


def hotspots_command(
    category: Annotated[str, typer.Option("--category", help="Category slug(s), comma-separated.")],
    origin: Annotated[str, typer.Option("--origin", help="First day of the window (ISO date).")],
    db: DbOption = DEFAULT_DB,
    window: Annotated[int, typer.Option("--window", help="Window length in days.")] = 14,
    cell: Annotated[int, typer.Option("--cell", help="Cell size in metres (CAS used 125).")] = 125,
    grid_origin: Annotated[
        str | None, typer.Option("--grid-origin", help="Pin the grid's lower-left corner: X,Y in RD metres.")
    ] = None,
    model: Annotated[
        str, typer.Option("--model", help=f"One of {', '.join(MODELS)}, a baseline, or best.")
    ] = "best",
    mask: Annotated[
        Mask, typer.Option("--mask", help="Keep cells in imported areas, or cells with events.")
    ] = Mask.EVENTS,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write all cells to this CSV (+ .meta.json).")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of every random choice.")] = 0,
) -> None:
    """Map the expected number of events per grid cell in a window, from events before its origin only."""
    events, areas, covariates = read_inputs(db)
    cells, metadata = hotspot_map(
        events,
        categories=parse_categories(category),
        origin=_origin(origin),
        window_days=window,
        cell_m=cell,
        grid_origin=parse_grid_origin(grid_origin) if grid_origin else None,
        model=model,
        mask=mask,
        areas=areas,
        covariates=covariates,
        seed=seed,
    )
    if out is not None:
        metadata["sidecar"] = str(sidecar_path(out))
        write_map(cells, metadata, out)
    log_action(db, "hotspots", ",".join(metadata["categories"]), metadata)
    run_id = save_map(db, cells, metadata)
    console.print(f"stored as run {run_id}")
    console.print(
        f"model {metadata['model']} ({metadata['model_requested']} requested); mask {metadata['mask']}: "
        f"{metadata['n_cells']} cells; expected {metadata['expected_total']:.1f} events in {window} days"
    )
    if metadata["selection"]:
        console.print(metadata["selection"]["reason"])
        selection = metadata["selection"]
        scores = Table("model", *(f"PAI@5% {o}" for o in selection["origins"]), "mean")
        for name, values in selection["pai_at_5pct_per_origin"].items():
            scores.add_row(name, *(f"{v:.2f}" for v in values), f"{selection['pai_at_5pct'][name]:.2f}")
        console.print(scores)
    table = Table("rank", "cell_code", "mean")
    for row in cells.head(SHOWN_ROWS).itertuples(index=False):
        table.add_row(str(row.rank), str(row.cell_code), f"{row.mean:.3f}")
    console.print(table)
    if out is not None:
        console.print(f"wrote {len(cells)} cells to {out} and metadata to {sidecar_path(out)}")


def grid_backtest_command(
    db: Path,
    category: str,
    cell: int,
    window: int,
    origins: int,
    step: int | None = None,
    json_out: Path | None = None,
    *,
    models: str | None = None,
    mask: Mask = Mask.EVENTS,
    grid_origin: str | None = None,
    seed: int = 0,
    scheduler: str | None = "serial",
    as_json: bool = False,
) -> dict[str, Any]:
    """``pulsetwin backtest-grid``: models next to the count baselines and the ceiling over rolling origins.

    Prints a table of mean hit rate / PAI / PEI at 1, 3, 5 and 10 % of the masked cells, the difference to the
    best baseline with its bootstrap interval, and a verdict per model; writes the full result to ``json_out``.
    """
    if origins < 1:
        raise bad_parameter("origins", "backtest-grid", "an integer >= 1", origins)
    events, areas, covariates = read_inputs(db)
    names = [m.strip() for m in models.split(",") if m.strip()] if models else list(MODELS)
    result = run_grid_backtest(
        events,
        categories=parse_categories(category),
        cell_m=cell,
        window_days=window,
        n_origins=origins,
        step_days=step,
        models=names,
        mask=mask,
        grid_origin=parse_grid_origin(grid_origin) if grid_origin else None,
        areas=areas,
        covariates=covariates,
        seed=seed,
        scheduler=scheduler,
    )
    if json_out is not None:
        write_json(result, json_out)
    log_action(
        db, "backtest_grid", category, {"settings": result["settings"], "verdicts": result["verdicts"]}
    )
    if as_json:
        print_json(result)
    else:
        print_backtest(result)
    return result


CellOption = Annotated[int, typer.Option("--cell", min=1, help="Grid: cell size in metres.")]
WindowOption = Annotated[int, typer.Option("--window", min=1, help="Grid: forecast window in days.")]
GridOriginOption = Annotated[
    str | None, typer.Option("--grid-origin", help="Grid: lower-left corner X,Y in RD metres.")
]
MaskOption = Annotated[Mask, typer.Option("--mask", help="Grid: keep cells in 'areas' or with 'events'.")]


def backtest_grid_command(
    category: Annotated[str, typer.Option("--category", help="Comma-separated categories.")],
    db: DbOption = DEFAULT_DB,
    models: Annotated[
        str | None,
        typer.Option("--models", help="Comma-separated hotspot model names (default: every registered one)."),
    ] = None,
    cell: CellOption = 125,
    window: WindowOption = 14,
    origins: Annotated[int, typer.Option("--origins", min=1, help="Number of rolling origins N.")] = 8,
    step: Annotated[
        int | None, typer.Option("--step", min=1, help="Days between origins (default: the window).")
    ] = None,
    mask: MaskOption = Mask.EVENTS,
    grid_origin: GridOriginOption = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the full result as JSON here.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap intervals.")] = 0,
) -> None:
    """Backtest hotspot maps on a grid of cells from point events against the count baselines and the ceiling.

    Its options mean other things than ``backtest``'s: ``--origins N`` and ``--step`` count days of a
    ``--window``, not periods. ``backtest --grid`` is the same command under its old spelling.
    """
    grid_backtest_command(
        db, category, cell, window, origins, step, json_out,
        models=models, mask=mask, grid_origin=grid_origin, seed=seed,
    )  # fmt: skip


def print_backtest(result: dict[str, Any]) -> None:
    """A table of mean metrics per model and fraction, the ceiling, and the verdicts."""
    if not result["per_origin"]:
        raise ParameterError("The backtest produced no origins.")
    table = Table(
        "model", *(f"PAI@{float(f):.0%}" for f in result["settings"]["fractions"]), "HR@5%", "PEI@5%"
    )
    for model in result["models"]:
        s = result["summary"][model]
        table.add_row(
            model,
            *(f"{s[f]['pai']:.2f}" for f in result["settings"]["fractions"]),
            f"{s['0.05']['hit_rate']:.3f}" if "0.05" in s else "-",
            f"{s['0.05']['pei']:.2f}" if "0.05" in s else "-",
        )
    ceiling = result["ceiling_hit_rate"]
    table.add_row(
        "ceiling",
        *(
            f"{ceiling[f] / float(f):.2f}" if ceiling[f] is not None else "-"
            for f in result["settings"]["fractions"]
        ),
        f"{ceiling['0.05']:.3f}" if ceiling.get("0.05") is not None else "-",
        "1.00",
    )
    console.print(f"grid backtest over {len(result['origins'])} origins: {', '.join(result['origins'])}")
    console.print(table)
    for verdict in result["verdicts"].values():
        console.print(verdict)


def register(app: typer.Typer) -> None:
    """Add ``hotspots`` and ``backtest-grid`` to the root app (``backtest --grid``, the old spelling of
    ``backtest-grid``, is wired by the backtest command's owner)."""
    app.command("hotspots")(hotspots_command)
    app.command("backtest-grid")(backtest_grid_command)
