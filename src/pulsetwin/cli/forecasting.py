"""``pulsetwin backtest``, ``forecast`` and ``report``: the evidence, the forecast, the page showing both."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pandas as pd
import typer
from rich.panel import Panel
from rich.table import Table

from pulsetwin.cli.common import DbOption, MinTrainOption, console, write_json
from pulsetwin.cli.hotspots import CellOption, GridOriginOption, MaskOption, WindowOption
from pulsetwin.evaluation.backtest import BacktestResult
from pulsetwin.exceptions import bad_parameter
from pulsetwin.hotspots.prepare import Mask
from pulsetwin.schema.periods import Freq

if TYPE_CHECKING:
    from pulsetwin.evaluation.frequency import PeriodSettings
    from pulsetwin.store.database import Store

FreqOption = Annotated[
    Freq | None,
    typer.Option(
        "--freq", help="Period length: W (weeks) or M (months); default the only one the store holds."
    ),
]
HorizonOption = Annotated[
    int | None,
    typer.Option("--horizon", min=1, help="Periods ahead to forecast (H); default 4 weeks or 3 months."),
]
FoldsOption = Annotated[
    int | None,
    typer.Option(
        "--folds", min=1, help="Rolling origins of the backtest (K); default 3 (weeks) or 4 (months)."
    ),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option("--scheduler", help="Dask scheduler address tcp://HOST:PORT (default: local pool)."),
]


def register(app: typer.Typer) -> None:
    """Add the forecasting commands to the root app."""
    app.command("backtest")(backtest_command)
    app.command("forecast")(forecast_command)
    app.command("report")(report_command)


def _split(value: str | None) -> list[str] | None:
    """A comma-separated option as a list (None when absent)."""
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


def _origin_count(value: str | None, *, default: int) -> int:
    """``--origins N`` as a positive integer (``default`` when absent)."""
    if value is None:
        return default
    if not value.strip().isdigit() or int(value) < 1:
        raise bad_parameter("origins", "pulsetwin backtest", "a positive integer N (or DATE,DATE)", value)
    return int(value)


def _periods(
    store: Store, freq: Freq | None, horizon: int | None, folds: int | None, command: str
) -> PeriodSettings:
    """Frequency, horizon and folds as given or read from the store (printing what was chosen)."""
    from pulsetwin.evaluation.frequency import resolve_periods

    settings = resolve_periods(store, freq=freq, horizon=horizon, folds=folds, command=command)
    if settings.note:
        console.print(f"Using {settings.note}.")
    return settings


def backtest_command(
    db: DbOption = Path("pulsetwin.duckdb"),
    models: Annotated[
        str | None,
        typer.Option(
            "--models",
            help="Comma-separated model names (default: every registered model except the slow point-process ones).",
        ),
    ] = None,
    freq: FreqOption = None,
    horizon: HorizonOption = None,
    folds: FoldsOption = None,
    step: Annotated[
        int | None, typer.Option("--step", min=1, help="Periods between origins (default: horizon).")
    ] = None,
    origins: Annotated[
        str | None,
        typer.Option(
            "--origins",
            help="A number of rolling origins N, or explicit origins DATE,DATE (instead of --folds/--step).",
        ),
    ] = None,
    category: Annotated[str | None, typer.Option("--category", help="Comma-separated categories.")] = None,
    scheduler: SchedulerOption = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the full result as JSON here.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap intervals.")] = 0,
    min_train: MinTrainOption = None,
    no_origin_oracle: Annotated[
        bool,
        typer.Option(
            "--no-origin-oracle",
            help="Twin data: skip replaying the twin for the origin oracle and the attainable share.",
        ),
    ] = False,
    grid: Annotated[
        bool,
        typer.Option(
            "--grid", help="The old spelling of `backtest-grid` (hotspot maps on a grid of cells); use that."
        ),
    ] = False,
    cell: CellOption = 125,
    window: WindowOption = 14,
    mask: MaskOption = Mask.EVENTS,
    grid_origin: GridOriginOption = None,
) -> None:
    """Backtest models against every naive baseline (and, on twin data, the oracles) over rolling origins.

    With ``--grid`` (the old spelling of ``backtest-grid``): hotspot maps of point events per cell
    (``--cell``, ``--window`` days, ``--origins N``, ``--step`` days) against the count baselines and the
    ceiling.
    """
    from pulsetwin.evaluation.backtest import backtest
    from pulsetwin.evaluation.lineup import Lineup
    from pulsetwin.evaluation.skill import SkillSettings
    from pulsetwin.evaluation.splits import RollingOrigin
    from pulsetwin.store.database import Store

    if grid:
        from pulsetwin.cli.hotspots import grid_backtest_command

        if category is None:
            raise bad_parameter("category", "backtest --grid", "one or more categories", None)
        grid_backtest_command(
            db, category, cell, window, _origin_count(origins, default=8), step, json_out,
            models=models, mask=mask, grid_origin=grid_origin, seed=seed,
        )  # fmt: skip
        return
    explicit = None
    if origins is not None and origins.strip().isdigit():
        folds = _origin_count(origins, default=1)
    else:
        explicit = _split(origins)

    with Store(db, read_only=True) as store:
        settings = _periods(store, freq, horizon, folds, "pulsetwin backtest")
        design = RollingOrigin(
            settings.freq, settings.horizon, settings.folds, step, None if explicit is None else tuple(explicit),
            min_train,
        )  # fmt: skip
        candidates = _split(models)
        lineup = Lineup(
            models=None if candidates is None else tuple(candidates),
            origin_oracle=False if no_origin_oracle else None,
        )
        result = backtest(
            store,
            design,
            lineup,
            categories=_split(category),
            skill=SkillSettings(seed=seed),
            scheduler=scheduler,
        )
    for note in result.notes:
        console.print(note)
    console.print(backtest_table(result))
    console.print(
        f"Skill = 1 - deviance / deviance of the best naive baseline ({result.baseline}); "
        f"CI = {round(result.level * 100)} % moving-block bootstrap interval over periods."
    )
    if result.summary["attainable_share"].notna().any():
        console.print(
            "Attainable = share of the deviance gap from the best naive baseline to the origin oracle (the best "
            "forecast anyone could make with everything known at the forecast origin) that a model closes."
        )
    if json_out is not None:
        write_json(result.to_dict(), json_out)
        console.print(f"JSON written to {json_out}")


def backtest_table(result: BacktestResult) -> Table:
    """A Rich table of the backtest summary, one row per model."""
    summary = result.summary
    has_oracle = summary["gap_share"].notna().any()
    has_origin_oracle = summary["attainable_share"].notna().any()
    pct = round(result.level * 100)
    table = Table(
        title=f"Backtest ({result.freq}, horizon {result.horizon}, {len(result.folds)} folds)",
        caption=f"* best naive baseline ({result.baseline}); naive baselines in italics",
    )
    table.add_column("model", no_wrap=True)
    for name in ("deviance", "MAE", "RMSE", "WIS", "cover90", "PAI@3%", "skill", f"{pct}% CI"):
        table.add_column(name, justify="right")
    if has_oracle:
        table.add_column("gap share", justify="right")
        table.add_column(f"{pct}% CI", justify="right")
    if has_origin_oracle:
        table.add_column("attainable", justify="right")
        table.add_column(f"{pct}% CI", justify="right")
    for _, row in summary.iterrows():
        label = str(row["model"]) + ("*" if row["model"] == result.baseline else "")
        cells = [
            f"[italic]{label}[/]" if row["naive"] else label, _num(row["deviance"]), _num(row["mae"]),
            _num(row["rmse"]), _num(row["wis"]), _num(row["coverage90"], 2), _num(row["pai_03"], 2),
            _num(row["skill"], 2), f"{_num(row['skill_lo'], 2)}..{_num(row['skill_hi'], 2)}",
        ]  # fmt: skip
        if has_oracle:
            cells += [
                _num(row["gap_share"], 2),
                f"{_num(row['gap_share_lo'], 2)}..{_num(row['gap_share_hi'], 2)}",
            ]
        if has_origin_oracle:
            cells += [
                _num(row["attainable_share"], 2),
                f"{_num(row['attainable_share_lo'], 2)}..{_num(row['attainable_share_hi'], 2)}",
            ]
        table.add_row(*cells)
    return table


def _num(value: object, digits: int = 3) -> str:
    """A number for a table cell ('–' when missing)."""
    if value is None or pd.isna(value):  # type: ignore[call-overload]
        return "–"
    return f"{float(value):.{digits}f}"  # type: ignore[arg-type]


def forecast_command(
    db: DbOption = Path("pulsetwin.duckdb"),
    model: Annotated[str, typer.Option("--model", help="A registered model name, or 'best'.")] = "best",
    freq: FreqOption = None,
    horizon: HorizonOption = None,
    origin: Annotated[
        str | None, typer.Option("--origin", help="First period to forecast (default: after the last one).")
    ] = None,
    category: Annotated[str | None, typer.Option("--category", help="Comma-separated categories.")] = None,
    folds: FoldsOption = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Also write the forecasts here (.csv, .parquet, .gpkg or .geojson)."),
    ] = None,
    scheduler: SchedulerOption = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap intervals.")] = 0,
    min_train: MinTrainOption = None,
) -> None:
    """Backtest, then forecast with the chosen model; store the run and its forecasts."""
    from pulsetwin.evaluation.runs import run_forecast
    from pulsetwin.evaluation.skill import SkillSettings
    from pulsetwin.evaluation.splits import RollingOrigin
    from pulsetwin.store.database import Store
    from pulsetwin.store.runs import RunStatus

    with Store(db) as store:
        settings = _periods(store, freq, horizon, folds, "pulsetwin forecast")
        design = RollingOrigin(settings.freq, settings.horizon, settings.folds, min_train=min_train)
        run = run_forecast(
            store, design, model=model, origin=origin, categories=_split(category), skill=SkillSettings(seed=seed),
            scheduler=scheduler,
        )  # fmt: skip
    console.print(backtest_table(run.backtest))
    skill = run.skill
    interval = f"{_num(skill['skill'])} (interval {_num(skill['skill_lo'])} to {_num(skill['skill_hi'])})"
    if run.status == RunStatus.NO_SKILL:
        if run.requested == "best":
            text = (
                f"No model beat the best naive baseline ({run.baseline}) with its skill interval above zero."
                "\n"
                f"The forecast stored is the naive baseline's own ({run.model}). Do not present it as a "
                "prediction that knows more than last year's pattern."
            )
        else:
            text = (
                f"Model {run.model} did not beat the best naive baseline ({run.baseline}): skill {interval}."
                "\n"
                "Its forecast is stored, marked no_skill: it is not shown to work better than a naive rule."
            )
        console.print(Panel(text, title=f"run {run.run_id}: NO SKILL", border_style="yellow"))
    else:
        console.print(
            Panel(
                f"Model {run.model} beats the best naive baseline ({run.baseline}): skill {interval}.",
                title=f"run {run.run_id}: ok",
                border_style="green",
            )
        )
    console.print(choice_table(run.choice))
    console.print(f"Chosen: {run.model}, because {run.choice['reason']}.")
    if out is not None:
        from pulsetwin.reports.exports import forecast_frame, write_frame

        with Store(db, read_only=True) as store:
            frame = forecast_frame(store, run.run_id)
        write_frame(frame, out, layer="forecasts")
        console.print(f"{len(frame)} forecast rows written to {out} (with skill and release status)")


def choice_table(choice: dict[str, Any]) -> Table:
    """The fold scores a model choice rests on: each model's mean deviance per earlier fold."""
    table = Table(title="Deviance per fold (all folds before the forecast origin)")
    table.add_column("model", no_wrap=True)
    for origin in choice["folds"]:
        table.add_column(origin, justify="right")
    for model, values in choice["fold_deviance"].items():
        table.add_row(model, *(_num(v) for v in values))
    return table


def report_command(
    db: DbOption = Path("pulsetwin.duckdb"),
    out: Annotated[Path, typer.Option("--out", help="Directory for report.html.")] = Path("report"),
    run_id: Annotated[
        str | None, typer.Option("--run", help="Run id (default: the latest forecast).")
    ] = None,
) -> None:
    """Write one self-contained HTML page with the backtest, skill, PAI, reliability and forecast map."""
    from pulsetwin.reports.html import write_report
    from pulsetwin.store.database import Store

    with Store(db, read_only=True) as store:
        path = write_report(store, out, run_id=run_id)
    console.print(f"Report written to {path}")
