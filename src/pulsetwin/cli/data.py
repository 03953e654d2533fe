"""Data commands: ``import`` and ``export`` of canonical tables; the ``log`` group lives in :mod:`pulsetwin.cli.log`."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from pulsetwin.cli.common import (
    DEFAULT_DB,
    AlsoSourceFlag,
    DbOption,
    JsonFlag,
    ReviseFlag,
    console,
    print_json,
)
from pulsetwin.exceptions import StoreError
from pulsetwin.schema.periods import Freq
from pulsetwin.schema.tables import IMPORTABLE, TABLES
from pulsetwin.store import Store
from pulsetwin.store.prepare import check_file

TableArgument = Annotated[
    str, typer.Argument(help=f"Canonical table: {', '.join(IMPORTABLE)}.", show_default=False)
]


def import_command(
    table: TableArgument,
    file: Annotated[Path, typer.Argument(help="CSV or Parquet; for areas also GeoPackage or GeoJSON.")],
    db: DbOption = DEFAULT_DB,
    layer: Annotated[
        str | None, typer.Option("--layer", help="Layer of a GeoPackage/GeoJSON to read.")
    ] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="Where the data comes from (default: file:<name>).")
    ] = None,
    revise: ReviseFlag = False,
    json_output: JsonFlag = False,
    crs: Annotated[
        str | None,
        typer.Option(
            "--crs",
            help="CRS of the file's coordinates (WKT geometry, x/y), e.g. EPSG:4326: reprojected to EPSG:28992. "
            "Without it, CSV/Parquet coordinates must lie inside the RD New bounds.",
        ),
    ] = None,
    allow_withheld: Annotated[
        bool,
        typer.Option(
            "--allow-withheld",
            help="Accept empty incident counts as withheld by the source (a secret value); refused otherwise.",
        ),
    ] = False,
    also_source: AlsoSourceFlag = False,
) -> None:
    """Validate FILE and import it into TABLE: all or nothing; re-importing the same rows changes nothing.

    Rows whose key is stored with other values are refused, unless --revise accepts them as a
    re-publication: then they replace the stored rows and the log keeps old -> new values. The file is read,
    checked for person data and validated before the store is opened: a refused file leaves it untouched. Incidents
    whose counts coincide with another stored source's are refused as a copy unless --also-source.
    """
    checked = check_file(table, file, layer=layer, crs=crs, allow_withheld=allow_withheld)
    with Store(db) as store:
        report = store.import_checked(checked, source=source, revise=revise, also_source=also_source)
    if json_output:
        print_json(report.to_dict() | {"notes": list(checked.notes)})
        return
    view = Table(title=f"import {report.dataset_id} (log #{report.log_seq})")
    columns = ("table", "rows", "inserted", "already present", *(("revised",) if revise else ()))
    for column in columns:
        view.add_column(column, justify="left" if column == "table" else "right")
    for item in report.tables:
        counts = (item.rows, item.inserted, item.already_present, item.revised)[: len(columns) - 1]
        view.add_row(item.table, *(f"{n:,}" for n in counts))
    console.print(view)
    if report.new_categories:
        console.print(f"registered new categories: {', '.join(report.new_categories)}")
    for note in checked.notes:
        console.print(f"note: {note}")


def _table_importer(table: str) -> Callable[..., None]:
    """The ``import TABLE FILE`` command for one table: ``import_command``'s options with TABLE fixed.

    Each table is a subcommand of the ``import`` group (next to ``list`` and ``undo``); the options are
    taken from ``import_command``'s signature so that they have one home.
    """

    def command(**options: Any) -> None:
        import_command(table, **options)

    signature = inspect.signature(import_command, eval_str=True)
    parameters = [p for p in signature.parameters.values() if p.name != "table"]
    setattr(command, "__signature__", signature.replace(parameters=parameters))  # noqa: B010
    command.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": None}
    command.__doc__ = (import_command.__doc__ or "").replace("TABLE", f"'{table}'")
    return command


def list_imports_command(db: DbOption = DEFAULT_DB, json_output: JsonFlag = False) -> None:
    """List every import: id, tables, source, file hash, rows brought and new, time, and undo if undone."""
    with Store(db, read_only=True) as store:
        imports = store.imports()
    if json_output:
        print_json(imports.to_dict(orient="records"))
        return
    view = Table(title=f"imports ({len(imports)})")
    for column in ("import id", "tables", "source", "file hash", "rows", "new", "imported at", "undone"):
        view.add_column(column, justify="right" if column in ("rows", "new") else "left")
    for row in imports.to_dict(orient="records"):
        undone = (
            "" if row["undone_at"] is None else f"{row['undone_at']:%Y-%m-%d %H:%M}: {row['undo_reason']}"
        )
        view.add_row(
            str(row["import_id"]), str(row["tables"]), str(row["source"]), str(row["file_hash"] or "")[:12],
            f"{row['rows']:,}", f"{row['inserted']:,}", f"{row['imported_at']:%Y-%m-%d %H:%M:%S}", undone,
        )  # fmt: skip
    console.print(view)


def undo_import_command(
    import_id: Annotated[str, typer.Argument(help="The import id shown by `pulsetwin import list`.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the import is removed (goes to the log).")],
    db: DbOption = DEFAULT_DB,
    json_output: JsonFlag = False,
) -> None:
    """Remove exactly the rows one import inserted (and put back rows it revised), atomically, logged.

    Refused, changing nothing, while a later import brings the same rows: undo that one first.
    """
    if not db.is_file():
        raise StoreError(f"store '{db}' does not exist. Fix: pass the right --db")
    with Store(db) as store:
        result = store.undo_import(import_id, reason=reason)
    if json_output:
        print_json(asdict(result))
        return
    for table, deleted in result.deleted.items():
        console.print(
            f"undid import {result.dataset_id}: {table}: {deleted:,} rows removed, "
            f"{result.restored.get(table, 0):,} revised rows restored"
        )
    if result.categories_removed:
        console.print(f"unregistered categories: {', '.join(result.categories_removed)}")


def export_command(
    table: Annotated[
        str,
        typer.Argument(
            help=f"Canonical table: {', '.join(TABLES)}; or hotspots (the latest hotspot map).",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out", help="Target .csv or .parquet (areas, forecasts and hotspots also .gpkg/.geojson)."
        ),
    ],
    db: DbOption = DEFAULT_DB,
    public: Annotated[
        bool,
        typer.Option(
            "--public",
            help="A release for publication: refuses audit-only tables; incidents get small-cell and secondary "
            "suppression, rounding and optional differential privacy.",
        ),
    ] = False,
    threshold: Annotated[
        int, typer.Option("--threshold", min=1, help="Public: suppress counts below this.")
    ] = 10,
    rounding: Annotated[
        int, typer.Option("--round", min=1, help="Public: round published counts to this.")
    ] = 5,
    dp_epsilon: Annotated[
        float | None, typer.Option("--dp-epsilon", help="Public: add discrete-Laplace noise with this ε.")
    ] = None,
    epsilon_total: Annotated[
        float | None,
        typer.Option("--epsilon-total", help="Public: the dataset's total ε budget (first release)."),
    ] = None,
    freq: Annotated[Freq | None, typer.Option("--freq", help="Public: W or M when both are stored.")] = None,
    rows: Annotated[str, typer.Option("--rows", help="Public: rows per 'area' or per 'wijk'.")] = "area",
    columns: Annotated[str, typer.Option("--columns", help="Public: columns per 'category' or 'period'.")] = (
        "category"
    ),
    run: Annotated[
        str | None,
        typer.Option("--run", help="forecasts / hotspots: only this run (default: all / the latest)."),
    ] = None,
    canonical: Annotated[
        bool,
        typer.Option(
            "--canonical",
            help="forecasts: only the canonical columns (for re-import), without area name, category label and "
            "the skill and release status.",
        ),
    ] = False,
) -> None:
    """Write TABLE to a file, rows sorted by key; written to a temp file first, then renamed.

    Forecasts and hotspot maps carry the area (cell) name, the category label, the run id and the run's skill
    and release status; as .gpkg / .geojson also the geometry.
    """
    if not db.is_file():
        raise StoreError(f"store '{db}' does not exist. Fix: import data first or pass the right --db")
    if table == "hotspots" or (table == "forecasts" and not canonical and not public):
        from pulsetwin.reports.exports import forecast_frame, hotspot_frame, write_frame

        with Store(db, read_only=True) as store:
            frame = hotspot_frame(store, run) if table == "hotspots" else forecast_frame(store, run)
        write_frame(frame, out, layer=table)
        console.print(f"wrote {len(frame):,} rows of '{table}' with skill and release status to {out}")
        return
    with Store(db) as store:
        if public and table == "incidents":
            from pulsetwin.audit.privacy import public_export

            release = public_export(
                store, table, out, threshold=threshold, rounding=rounding, dp_epsilon=dp_epsilon, freq=freq,
                rows=_choice(rows, ("area", "wijk"), "rows"),
                columns=_choice(columns, ("category", "period"), "columns"), epsilon_total=epsilon_total,
            )  # fmt: skip
            console.print(
                f"wrote a public release of {release.rows:,} rows to {release.out}: "
                f"{release.suppressed_primary} small cells and {release.suppressed_secondary} complementary cells "
                f"suppressed, counts rounded to {rounding}"
                + (f", ε = {dp_epsilon} spent" if dp_epsilon is not None else "")
            )
            return
        path = store.export(table, out, public=public)
        count = store.count(table)
    console.print(f"wrote {count:,} rows of '{table}' to {path}")


def _choice(value: str, allowed: tuple[str, ...], name: str) -> Any:
    """Check an option against its allowed values."""
    if value not in allowed:
        from pulsetwin.exceptions import bad_parameter

        raise bad_parameter(name, "pulsetwin export", " or ".join(repr(a) for a in allowed), value)
    return value


def register(app: typer.Typer) -> None:
    """Add ``import``, ``export`` and the ``log`` group (see :mod:`pulsetwin.cli.log`) to ``app``."""
    from pulsetwin.cli import log

    import_app = typer.Typer(
        help="Import a canonical table from a file (`import TABLE FILE`), list imports, undo one.",
        no_args_is_help=True,
    )
    for table in IMPORTABLE:
        import_app.command(table)(_table_importer(table))
    import_app.command("list")(list_imports_command)
    import_app.command("undo")(undo_import_command)
    app.add_typer(import_app, name="import")
    app.command("export")(export_command)
    log.register(app)
