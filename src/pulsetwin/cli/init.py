"""``pulsetwin init``: one command that sets up a municipality from the open sources, in order.

Geometry (PDOK), Kerncijfers (CBS) and police crime and nuisance are fetched one after the other, each with a
progress bar, and each stored as soon as it is complete, so an interruption keeps what was finished. A re-run
resumes: fetched pages come from the response cache and rows already stored are recognised, not duplicated.
Without a network the command fails within seconds and prints the offline route with exact commands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import pandas as pd
import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from pulsetwin.cli.common import DbOption, JsonFlag, console, err_console, print_json
from pulsetwin.cli.fetch import (
    Backoff,
    CacheDir,
    CbsUrl,
    PdokUrl,
    PoliceUrl,
    Refresh,
    Retries,
    Timeout,
    build_settings,
    parse_years,
)
from pulsetwin.exceptions import SourceError, bad_parameter
from pulsetwin.schema.tables import AREA_LEVELS
from pulsetwin.sources.cbs import check_gemeente, fetch_kerncijfers
from pulsetwin.sources.dataset import Dataset
from pulsetwin.sources.http import HttpClient, OfflineError, Response
from pulsetwin.sources.pdok import fetch_geometry, geopackage_route
from pulsetwin.sources.police import fetch_police
from pulsetwin.sources.settings import (
    DEFAULT_CBS_URL,
    DEFAULT_PDOK_URL,
    DEFAULT_POLICE_URL,
    KERNCIJFERS_TABLES,
    PDOK_OGC_YEARS,
    SourceSettings,
)
from pulsetwin.store.database import Store

PROBE_TIMEOUT = 5.0
"""Seconds to wait for a host before the run switches to the cache only (and fails fast on a miss)."""


def init_command(
    gemeente: Annotated[
        str, typer.Option("--gemeente", help="CBS municipality code, e.g. GM0917 (Heerlen).")
    ],
    years: Annotated[
        str, typer.Option("--years", help="Years: 2019-2024 or 2019,2022 (Kerncijfers and police).")
    ],
    db: DbOption = Path("pulsetwin.duckdb"),
    boundary_year: Annotated[
        int | None,
        typer.Option("--boundary-year", help="Boundary year of the geometry (default: the last year)."),
    ] = None,
    keep_latest: Annotated[
        bool, typer.Option("--keep-latest", help="Keep the newest, still incomplete police months.")
    ] = False,
    cbs_url: CbsUrl = DEFAULT_CBS_URL,
    police_url: PoliceUrl = DEFAULT_POLICE_URL,
    pdok_url: PdokUrl = DEFAULT_PDOK_URL,
    cache_dir: CacheDir = None,
    refresh: Refresh = False,
    retries: Retries = 4,
    backoff: Backoff = 1.0,
    timeout: Timeout = 60.0,
    as_json: JsonFlag = False,
) -> None:
    """Set up a municipality: geometry, Kerncijfers, police crime and nuisance, then a summary of the store.

    Each source is stored when it is complete; run the same command again to resume after an interruption.
    """
    check_gemeente(gemeente)
    wanted = parse_years(years)
    unknown = sorted(set(wanted) - set(KERNCIJFERS_TABLES))
    if unknown:
        raise bad_parameter("years", "init", f"years with a Kerncijfers table ({min(KERNCIJFERS_TABLES)}-"
                            f"{max(KERNCIJFERS_TABLES)})", years)  # fmt: skip
    geometry_year = boundary_year if boundary_year is not None else max(wanted)
    settings = build_settings(cache_dir, False, refresh, retries, backoff, timeout,
                              cbs_url=cbs_url, police_url=police_url, pdok_url=pdok_url)  # fmt: skip
    command = f"pulsetwin init --gemeente {gemeente} --years {years} --db {db}"
    if geometry_year not in PDOK_OGC_YEARS:
        raise SourceError(
            f"geometry for boundary year {geometry_year} is not served by the PDOK OGC API "
            f"({PDOK_OGC_YEARS[0]}-{PDOK_OGC_YEARS[-1]}). Fix: pass --boundary-year {PDOK_OGC_YEARS[-1]} (the police "
            f"republish their whole series on the newest boundaries), or import the {geometry_year} GeoPackage and "
            f"fetch the rest with 'pulsetwin fetch cbs' and 'pulsetwin fetch police':\n"
            f"{geopackage_route(gemeente, geometry_year, str(db))}"
        )
    steps: list[tuple[str, Callable[[HttpClient], Dataset]]] = [
        ("geometry", lambda c: fetch_geometry(c, gemeente, geometry_year)),
        ("kerncijfers", lambda c: fetch_kerncijfers(c, gemeente, wanted)),
        ("police", lambda c: fetch_police(c, gemeente, f"{min(wanted)}-01", f"{max(wanted)}-12",
                                          keep_latest=keep_latest, boundary_year=geometry_year)),
    ]  # fmt: skip
    with HttpClient(settings) as probe:
        down = _unreachable(probe, settings, geometry_year)
    if down:
        settings = replace(settings, offline=True)
        err_console.print(f"[yellow]note:[/] {down}; continuing from the response cache only")
    results: dict[str, tuple[Dataset, dict[str, int]]] = {}
    with HttpClient(settings) as client, _progress(as_json) as progress:
        for name, fetch in steps:
            task = progress.add_task(name, total=None, pages=0, cached=0)
            seen = {"pages": 0, "cached": 0}

            def advance(response: Response, task: TaskID = task, seen: dict[str, int] = seen) -> None:
                seen["pages"] += 1
                seen["cached"] += int(response.from_cache)
                progress.update(task, advance=1, pages=seen["pages"], cached=seen["cached"])

            client.observer = advance
            try:
                dataset = fetch(client)
            except OfflineError as error:
                raise SourceError(_offline_message(str(error), down, settings, command, gemeente,
                                                   geometry_year, db)) from None  # fmt: skip
            inserted = _store(dataset, db)
            progress.update(task, total=max(seen["pages"], 1), completed=max(seen["pages"], 1))
            results[name] = (dataset, inserted)
    summary = _summary(results)
    if as_json:
        print_json(summary)
        return
    _print_summary(summary)


def _unreachable(client: HttpClient, settings: SourceSettings, year: int) -> str | None:
    """The first host that cannot be reached, as a sentence; None when all answer."""
    for url in (settings.pdok_root(year), settings.cbs_url, settings.police_url):
        reason = client.unreachable(url, timeout=min(PROBE_TIMEOUT, settings.timeout))
        if reason is not None:
            return f"{urlsplit(url).netloc} cannot be reached ({reason})"
    return None


def _offline_message(
    missing: str, down: str | None, settings: SourceSettings, command: str, gemeente: str, year: int, db: Path
) -> str:
    """Why the run stopped without a network, and the two offline routes with exact commands."""
    cache = settings.cache_dir or Path("pulsetwin-cache")
    return (
        f"no network: {down or 'a host is unreachable'}, and {missing}.\n"
        "Fix: take one of the offline routes.\n"
        "  A. Fill the response cache on a machine with internet, copy it here and run again:\n"
        f"     {command} --cache-dir ./pulsetwin-cache        (on the connected machine)\n"
        f"     {command} --cache-dir {cache}        (here, after copying ./pulsetwin-cache to {cache})\n"
        "  B. Import files downloaded elsewhere: the boundaries from the GeoPackage,\n"
        f"{geopackage_route(gemeente, year, str(db), indent='     ')}\n"
        "     and the Kerncijfers and police counts as canonical CSV files exported from a store filled on a\n"
        "     connected machine (pulsetwin export covariates --out covariates.csv; the same for incidents):\n"
        f"     pulsetwin import covariates covariates.csv --db {db}\n"
        f"     pulsetwin import incidents incidents.csv --db {db}"
    )


def _progress(quiet: bool) -> Progress:
    """One bar per source: pages read so far and how many came from the cache."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<12}"),
        BarColumn(),
        TextColumn("{task.fields[pages]} pages ({task.fields[cached]} from cache)"),
        TimeElapsedColumn(),
        console=err_console,
        disable=quiet,
        transient=False,
    )


def _store(dataset: Dataset, db: Path) -> dict[str, int]:
    """Import one complete source in one call; returns rows inserted per table (0 on a resumed run)."""
    with Store(db) as store:
        report = store.import_frames(
            dataset.frames, source=dataset.source, file=str(dataset.provenance.get("url")),
            file_hash=dataset.file_hash, details=dataset.provenance,
        )  # fmt: skip
    return report.inserted


def _summary(results: dict[str, tuple[Dataset, dict[str, int]]]) -> dict[str, Any]:
    """Areas per level, years/months and categories per source, and what is missing and why."""
    out: dict[str, Any] = {"missing": []}
    if "geometry" in results:
        dataset, inserted = results["geometry"]
        levels = dataset.frames["areas"]["level"].value_counts()
        order = [level for level in AREA_LEVELS if level in levels.index]
        out["areas"] = {"per_level": {level: int(levels[level]) for level in order}, "inserted": inserted}
    if "kerncijfers" in results:
        dataset, inserted = results["kerncijfers"]
        cov = dataset.frames["covariates"]
        out["kerncijfers"] = {
            "years": sorted(int(y) for y in cov["year"].unique()),
            "variables": int(cov["variable"].nunique()),
            "areas": int(cov["area_code"].nunique()),
            "inserted": inserted,
        }
    if "police" in results:
        dataset, inserted = results["police"]
        incidents = dataset.frames["incidents"]
        per_source = {}
        for source, part in incidents.groupby("source", sort=True):
            months = pd.DatetimeIndex(part["period_start"].unique()).sort_values()
            per_source[str(source)] = {
                "months": len(months),
                "first": months[0].strftime("%Y-%m"),
                "last": months[-1].strftime("%Y-%m"),
                "categories": sorted(str(c) for c in part["category"].unique()),
                "withheld_cells": int(part["count"].isna().sum()),
            }
        out["police"] = {"per_source": per_source, "inserted": inserted}
        withheld = int(dataset.provenance["details"].get("withheld_cells", 0))
        if withheld:
            out["missing"].append(
                f"police: {withheld} cell(s) withheld by the publisher (stored as missing, not 0)"
            )
    for name, (dataset, _) in results.items():
        out["missing"].extend(f"{name}: {message}" for message in dataset.messages)
    return out


def _print_summary(summary: dict[str, Any]) -> None:
    """The summary as a few compact tables."""
    view = Table(title="pulsetwin init: what is stored")
    for column in ("source", "coverage", "detail"):
        view.add_column(column)
    if "areas" in summary:
        levels = ", ".join(f"{n} {level}" for level, n in summary["areas"]["per_level"].items())
        view.add_row("geometry", levels, f"{sum(summary['areas']['inserted'].values())} rows new")
    if "kerncijfers" in summary:
        k = summary["kerncijfers"]
        view.add_row("kerncijfers", f"{k['years'][0]}-{k['years'][-1]} ({len(k['years'])} years)",
                     f"{k['variables']} variables for {k['areas']} areas")  # fmt: skip
    for source, p in summary.get("police", {}).get("per_source", {}).items():
        view.add_row(source, f"{p['first']}..{p['last']} ({p['months']} months)", ", ".join(p["categories"]))
    console.print(view)
    if summary["missing"]:
        console.print("[bold]missing, and why:[/]")
        for line in summary["missing"]:
            console.print(f"  - {line}")


def register(app: typer.Typer) -> None:
    """Add ``init`` to the root app."""
    app.command("init")(init_command)
