"""Commands that bring real data in: ``fetch cbs|police|geometry``, ``import-mapped`` and ``import-sensors``.

Each command fetches or reads everything first, validates it, and then writes it with one all-or-nothing
``Store.import_frames`` call, so a failure midway stores nothing (fetched pages stay in the cache).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from pulsetwin.cli.common import (
    AlsoSourceFlag,
    DbOption,
    JsonFlag,
    ReviseFlag,
    console,
    err_console,
    print_json,
)
from pulsetwin.exceptions import bad_parameter
from pulsetwin.schema.periods import Freq
from pulsetwin.sources.cbs import fetch_kerncijfers
from pulsetwin.sources.dataset import Dataset
from pulsetwin.sources.file_mapping import load_mapping
from pulsetwin.sources.http import HttpClient
from pulsetwin.sources.mapped_files import map_file
from pulsetwin.sources.pdok import fetch_geometry
from pulsetwin.sources.police import fetch_police
from pulsetwin.sources.sensors import map_sensors, read_sensor_locations
from pulsetwin.sources.settings import (
    DEFAULT_CBS_URL,
    DEFAULT_PDOK_URL,
    DEFAULT_POLICE_URL,
    ENV_CACHE_DIR,
    ENV_CBS_URL,
    ENV_PDOK_URL,
    ENV_POLICE_URL,
    INCOMPLETE_MONTHS,
    SourceSettings,
)
from pulsetwin.store.database import Store

fetch_app = typer.Typer(
    name="fetch",
    help="Fetch open Dutch data (CBS, police, PDOK) into the store; everything or nothing is stored.",
    no_args_is_help=True,
)

Gemeente = Annotated[str, typer.Option("--gemeente", help="CBS municipality code, e.g. GM0917 (Heerlen).")]
CacheDir = Annotated[
    Path | None,
    typer.Option("--cache-dir", envvar=ENV_CACHE_DIR, help="Response cache (default ~/.cache/pulsetwin)."),
]
NoCache = Annotated[bool, typer.Option("--no-cache", help="Do not read or write the response cache.")]
Refresh = Annotated[bool, typer.Option("--refresh", help="Ignore cached responses and fetch again.")]
Retries = Annotated[
    int, typer.Option("--retries", envvar="PULSETWIN_HTTP_RETRIES", help="Extra attempts per request.")
]
Backoff = Annotated[
    float,
    typer.Option(
        "--backoff", envvar="PULSETWIN_HTTP_BACKOFF", help="First wait in seconds; doubles per retry."
    ),
]
Timeout = Annotated[
    float, typer.Option("--timeout", envvar="PULSETWIN_HTTP_TIMEOUT", help="Seconds per request.")
]
CbsUrl = Annotated[str, typer.Option("--cbs-url", envvar=ENV_CBS_URL, help="OData v3 root.")]
PoliceUrl = Annotated[
    str, typer.Option("--police-url", envvar=ENV_POLICE_URL, help="OData v3 root of dataderden.cbs.nl.")
]
PdokUrl = Annotated[
    str, typer.Option("--pdok-url", envvar=ENV_PDOK_URL, help="OGC API root with a {year} placeholder.")
]


def build_settings(
    cache_dir: Path | None,
    no_cache: bool,
    refresh: bool,
    retries: int,
    backoff: float,
    timeout: float,
    **urls: str,
) -> SourceSettings:
    """Settings from CLI options (Typer already resolved the environment variables)."""
    base = SourceSettings.from_env(cache_dir=cache_dir, **urls)  # type: ignore[arg-type]
    return SourceSettings(
        cbs_url=base.cbs_url,
        police_url=base.police_url,
        pdok_url=base.pdok_url,
        cache_dir=None if no_cache else base.cache_dir,
        refresh=refresh,
        retries=retries,
        backoff=backoff,
        timeout=timeout,
    )


def parse_years(text: str) -> list[int]:
    """``2019-2024`` or ``2019,2021,2024`` as a list of years."""
    if m := re.fullmatch(r"(\d{4})-(\d{4})", text.strip()):
        first, last = int(m[1]), int(m[2])
        if first <= last:
            return list(range(first, last + 1))
    elif re.fullmatch(r"\d{4}(,\d{4})*", text.strip()):
        return sorted({int(y) for y in text.split(",")})
    raise bad_parameter("years", "fetch cbs", "a range like 2019-2024 or a list like 2019,2022", text)


def write_dataset(
    dataset: Dataset,
    db: Path,
    *,
    file: str | None,
    as_json: bool,
    revise: bool = False,
    also_source: bool = False,
) -> None:
    """Import a fully fetched dataset in one call and print what happened.

    ``revise`` accepts a re-publication: stored rows with other values are replaced (and logged).
    ``also_source`` accepts incidents whose counts coincide with another stored source's.
    """
    with Store(db) as store:
        report = store.import_frames(
            dataset.frames,
            source=dataset.source,
            file=file,
            file_hash=dataset.file_hash,
            details=dataset.provenance,
            revise=revise,
            also_source=also_source,
        )
    if as_json:
        print_json(
            {
                "source": dataset.source,
                "rows": dataset.rows,
                "inserted": report.inserted,
                "already_present": report.already_present,
                "revised": report.revised,
                "dataset_id": report.dataset_id,
                "messages": list(dataset.messages),
                "provenance": dataset.provenance,
            }
        )
        return
    for message in dataset.messages:
        err_console.print(f"[yellow]note:[/] {message}")
    for table, rows in dataset.rows.items():
        revised = f", {report.revised.get(table, 0)} revised" if revise else ""
        console.print(
            f"{table}: {rows} rows from {dataset.source} "
            f"({report.inserted.get(table, 0)} new, {report.already_present.get(table, 0)} already stored"
            f"{revised})"
        )


@fetch_app.command("cbs")
def fetch_cbs_command(
    gemeente: Gemeente,
    years: Annotated[str, typer.Option("--years", help="Boundary years: 2019-2024 or 2019,2022.")],
    db: DbOption = Path("pulsetwin.duckdb"),
    cbs_url: CbsUrl = DEFAULT_CBS_URL,
    cache_dir: CacheDir = None,
    no_cache: NoCache = False,
    refresh: Refresh = False,
    retries: Retries = 4,
    backoff: Backoff = 1.0,
    timeout: Timeout = 60.0,
    revise: ReviseFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """CBS Kerncijfers wijken en buurten into covariates (origin shares into audit-only protected)."""
    settings = build_settings(cache_dir, no_cache, refresh, retries, backoff, timeout, cbs_url=cbs_url)
    with HttpClient(settings) as client:
        dataset = fetch_kerncijfers(client, gemeente, parse_years(years))
    write_dataset(dataset, db, file=settings.cbs_url, as_json=as_json, revise=revise)


@fetch_app.command("police")
def fetch_police_command(
    gemeente: Gemeente,
    start: Annotated[str, typer.Option("--from", help="First month, YYYY-MM.")],
    end: Annotated[str, typer.Option("--to", help="Last month, YYYY-MM.")],
    db: DbOption = Path("pulsetwin.duckdb"),
    keep_latest: Annotated[
        bool, typer.Option("--keep-latest", help="Keep the newest, still incomplete months.")
    ] = False,
    incomplete_months: Annotated[
        int, typer.Option("--incomplete-months", help="Months counted back from the newest period to drop.")
    ] = INCOMPLETE_MONTHS,
    nuisance: Annotated[
        bool, typer.Option("--nuisance/--no-nuisance", help="Also fetch registered nuisance (47024NED).")
    ] = True,
    boundary_year: Annotated[
        int | None,
        typer.Option("--boundary-year", help="Boundary year of the series (default: newest period)."),
    ] = None,
    police_url: PoliceUrl = DEFAULT_POLICE_URL,
    cache_dir: CacheDir = None,
    no_cache: NoCache = False,
    refresh: Refresh = False,
    retries: Retries = 4,
    backoff: Backoff = 1.0,
    timeout: Timeout = 60.0,
    revise: ReviseFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Police-registered crime and nuisance per buurt and month into incidents (freq M).

    The police re-publish earlier months with corrected counts; a later fetch of those months is refused
    until --revise accepts the corrections (logged with old -> new counts).
    """
    settings = build_settings(cache_dir, no_cache, refresh, retries, backoff, timeout, police_url=police_url)
    with HttpClient(settings) as client:
        dataset = fetch_police(
            client, gemeente, start, end, keep_latest=keep_latest, incomplete_months=incomplete_months,
            nuisance=nuisance, boundary_year=boundary_year,
        )  # fmt: skip
    write_dataset(dataset, db, file=settings.police_url, as_json=as_json, revise=revise)


@fetch_app.command("geometry")
def fetch_geometry_command(
    gemeente: Gemeente,
    year: Annotated[int, typer.Option("--year", help="Boundary year of the wijk- en buurtkaart.")],
    db: DbOption = Path("pulsetwin.duckdb"),
    pdok_url: PdokUrl = DEFAULT_PDOK_URL,
    cache_dir: CacheDir = None,
    no_cache: NoCache = False,
    refresh: Refresh = False,
    retries: Retries = 4,
    backoff: Backoff = 1.0,
    timeout: Timeout = 60.0,
    as_json: JsonFlag = False,
) -> None:
    """The gemeente, its wijken and buurten (EPSG:28992) from PDOK into areas.

    The OGC API serves boundary years 2022-2025; for an older year the error names the GeoPackage commands.
    """
    settings = build_settings(cache_dir, no_cache, refresh, retries, backoff, timeout, pdok_url=pdok_url)
    with HttpClient(settings) as client:
        dataset = fetch_geometry(client, gemeente, year)
    write_dataset(dataset, db, file=settings.pdok_root(year), as_json=as_json)


def import_mapped_command(
    file: Annotated[
        Path, typer.Argument(help="CSV, Parquet or Excel (.xlsx) file.", exists=True, dir_okay=False)
    ],
    mapping: Annotated[
        Path, typer.Option("--mapping", help="YAML mapping (see examples/).", exists=True, dir_okay=False)
    ],
    db: DbOption = Path("pulsetwin.duckdb"),
    as_json: JsonFlag = False,
    also_source: AlsoSourceFlag = False,
) -> None:
    """A municipal or social-organisation file, mapped by YAML, into incidents per area and period."""
    spec = load_mapping(mapping)
    with Store(db) as store:
        areas = store.read("areas")
    dataset = map_file(file, spec, areas=areas if len(areas) else None)
    write_dataset(dataset, db, file=str(file), as_json=as_json, also_source=also_source)


def import_sensors_command(
    file: Annotated[
        Path, typer.Argument(help="Hourly counts: sensor_id,hour,metric,count (CSV or Parquet).")
    ],
    sensors: Annotated[Path, typer.Option("--sensors", help="Sensor locations: sensor_id,x,y.")],
    db: DbOption = Path("pulsetwin.duckdb"),
    crs: Annotated[str, typer.Option("--crs", help="CRS of the sensor x/y.")] = "EPSG:28992",
    freq: Annotated[Freq, typer.Option("--freq", help="W (weeks) or M (months).")] = Freq.W,
    source: Annotated[
        str | None, typer.Option("--source", help="Source name (default sensors:<file>).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Anonymous hourly sensor counts (noise peaks, footfall) into incidents per buurt and period."""
    for path in (file, sensors):
        if not path.is_file():
            raise bad_parameter("file", "import-sensors", "an existing file", str(path))
    locations = read_sensor_locations(sensors, crs)
    with Store(db) as store:
        areas = store.read("areas")
    dataset = map_sensors(file, locations, areas, freq=freq, source=source)
    write_dataset(dataset, db, file=str(file), as_json=as_json)


def register(app: typer.Typer) -> None:
    """Add ``fetch`` (cbs, police, geometry), ``import-mapped`` and ``import-sensors`` to the root app."""
    app.add_typer(fetch_app, name="fetch")
    app.command("import-mapped")(import_mapped_command)
    app.command("import-sensors")(import_sensors_command)
