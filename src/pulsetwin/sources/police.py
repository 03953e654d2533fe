"""Police-registered crime (47022NED) and nuisance (47024NED) per buurt and month into canonical incidents.

Host dataderden.cbs.nl serves OData v3 only. Its ``ODataApi`` endpoint answers HTTP 500 above 10,000 cells,
so rows are read from the ``ODataFeed`` endpoint, which pages with ``odata.nextLink``; queries filter on the
buurt prefix (``startswith(WijkenEnBuurten,'BU0917')``) and on enumerated month codes (``2023MM01``; a range
filter on ``Perioden`` would also match the yearly ``2023JJ00`` totals), one year of months per query.
47024NED has an extra dimension ``Overlast``: a total row ("Totaal registraties overlast") plus its subtypes;
only the total is read (summing every key would double the count). Any other unexpected dimension stops the
fetch rather than being summed over. Offence codes map to the category vocabulary;
roll-up codes (``0.0.0`` and any code with a zero part) are dropped; a code outside the vocabulary is kept as
``police_<code>`` (``3.7.4`` -> ``police_3_7_4``); codes that share a slug are summed, and a sum with a
withheld (null) part is missing, not a smaller number. The newest months are incomplete (reporting lag) and
dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from pulsetwin.exceptions import ParameterError, SourceError, bad_parameter
from pulsetwin.schema.categories import POLICE_TOTAL_CODE, is_valid_slug, slug_for_police_code
from pulsetwin.sources.cbs import REGION, check_gemeente
from pulsetwin.sources.dataset import Dataset, provenance_of
from pulsetwin.sources.http import HttpClient, Response
from pulsetwin.sources.odata import (
    data_properties,
    dimension_keys,
    fetch_rows,
    quote,
    resolve_key,
    startswith_any,
)
from pulsetwin.sources.settings import (
    INCOMPLETE_MONTHS,
    POLICE_CRIME_TABLE,
    POLICE_NUISANCE_TABLE,
    feed_root,
)

MONTH_CODE: Final = re.compile(r"^(\d{4})MM(0[1-9]|1[0-2])$")
MONTH_ARG: Final = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
OFFENCE: Final = "SoortMisdrijf"
PERIOD: Final = "Perioden"
NUISANCE_CATEGORY: Final = "nuisance_registered"
NUISANCE_KIND: Final = "Overlast"
TOTAL_TITLE: Final = "totaal"
"""A dimension key whose Title starts with this (case-insensitive) is the roll-up of the other keys."""
MONTHS_PER_QUERY: Final = 12


@dataclass(frozen=True)
class _Table:
    """One police table and how to read it."""

    table: str
    measure: str
    has_offence: bool
    total_of: str | None = None
    """A dimension of which only the total key is read (the other keys are its parts)."""


CRIME: Final = _Table(POLICE_CRIME_TABLE, "GeregistreerdeMisdrijven", has_offence=True)
NUISANCE: Final = _Table(
    POLICE_NUISANCE_TABLE, "GeregistreerdeOverlast", has_offence=False, total_of=NUISANCE_KIND
)
KNOWN_DIMENSIONS: Final = frozenset({REGION, PERIOD, OFFENCE})


def parse_month(text: str, name: str) -> pd.Period:
    """``2019-01`` as a monthly Period; ParameterError otherwise."""
    if not MONTH_ARG.match(text):
        raise bad_parameter(name, "fetch police", "a month written as YYYY-MM (e.g. 2019-01)", text)
    return pd.Period(text, freq="M")


def month_code(period: pd.Period) -> str:
    """The CBS period key of a month, e.g. ``2023MM01``."""
    return f"{period.year:04d}MM{period.month:02d}"


def months_text(periods: Sequence[pd.Period]) -> str:
    """Months as text, runs of three or more shortened: ``2023-01..2023-12 (12 months), 2024-03``."""
    runs: list[list[pd.Period]] = []
    for period in sorted(periods):
        if runs and period == runs[-1][-1] + 1:
            runs[-1].append(period)
        else:
            runs.append([period])
    parts = [
        f"{run[0]}..{run[-1]} ({len(run)} months)" if len(run) >= 3 else ", ".join(map(str, run))
        for run in runs
    ]
    return ", ".join(parts)


def slug_for_code(code: str) -> str | None:
    """Vocabulary slug of an offence code; ``police_<code>`` outside the vocabulary; None for roll-ups."""
    code = code.strip()
    if code == POLICE_TOTAL_CODE or "0" in code.split("."):
        return None
    return slug_for_police_code(code)


def fetch_police(
    client: HttpClient,
    gemeente: str,
    start: str,
    end: str,
    *,
    keep_latest: bool = False,
    incomplete_months: int = INCOMPLETE_MONTHS,
    nuisance: bool = True,
    boundary_year: int | None = None,
) -> Dataset:
    """Fetch monthly crime (and nuisance) per buurt of ``gemeente`` from ``start`` to ``end`` (``YYYY-MM``).

    Everything is fetched before anything is returned; the caller imports the result in one call.
    ``incomplete_months`` months counted back from the newest published period are dropped unless
    ``keep_latest``. ``boundary_year`` defaults to the year of the newest period (the police republish the
    whole series on the newest neighbourhood boundaries).
    """
    check_gemeente(gemeente)
    first, last = parse_month(start, "from"), parse_month(end, "to")
    if last < first:
        raise ParameterError(f"The 'to' month ({end}) of fetch police must not precede 'from' ({start}).")
    if incomplete_months < 0:
        raise bad_parameter("incomplete_months", "fetch police", "a non-negative integer", incomplete_months)
    root = client.settings.police_url.rstrip("/")
    wanted = pd.period_range(first, last, freq="M")
    frames, responses, messages = [], [], []
    newest_overall: pd.Period | None = None
    kept_months: dict[str, list[str]] = {}
    selected: dict[str, str] = {}
    for spec in (CRIME, NUISANCE) if nuisance else (CRIME,):
        reader = _Reader(client, root, spec, gemeente)
        months, newest, notes = reader.months(wanted, keep_latest, incomplete_months)
        messages.extend(notes)
        kept_months[spec.table] = [str(m) for m in months]
        if reader.total is not None:
            selected[spec.table] = f"{spec.total_of} = {reader.total[0].strip()!r} ({reader.total[1]})"
        newest_overall = newest if newest_overall is None else max(newest_overall, newest)
        raw = reader.rows(months)
        frames.append(_to_incidents(raw, spec, reader.measure_key))
        responses.extend(reader.responses)
    incidents = pd.concat(frames, ignore_index=True)
    assert newest_overall is not None
    year = boundary_year if boundary_year is not None else newest_overall.year
    tables = [s.table for s in ((CRIME, NUISANCE) if nuisance else (CRIME,))]
    provenance = provenance_of(
        "politie-geregistreerde-criminaliteit",
        tables=tables,
        boundary_years=[year],
        url=root,
        responses=responses,
        gemeente=gemeente,
        months=[str(first), str(last)],
        newest_period=str(newest_overall),
        boundary_year_inferred=boundary_year is None,
        dropped_incomplete_months=0 if keep_latest else incomplete_months,
        withheld_cells=int(incidents["count"].isna().sum()),
        months_stored=kept_months,
        dimension_selected=selected,
    )
    return Dataset({"incidents": incidents}, "politie:" + "+".join(tables), provenance, tuple(messages))


class _Reader:
    """Reads one police table for one municipality from the paged feed."""

    def __init__(self, client: HttpClient, root: str, spec: _Table, gemeente: str) -> None:
        self.client, self.root, self.spec = client, root, spec
        self.prefix = "BU" + gemeente[2:]
        self.responses: list[Response] = []
        properties, found = data_properties(client, root, spec.table)
        self.responses.extend(found)
        key = resolve_key(properties, spec.measure)
        if key is None:
            raise SourceError(
                f"{spec.table}: DataProperties has no '{spec.measure}' measure. Fix: check the table"
            )
        self.measure_key = key
        kinds = properties["Type"].astype("string").fillna("")
        dimensions = set(properties.loc[kinds.str.endswith("Dimension"), "Key"].astype(str))
        unexpected = sorted(dimensions - KNOWN_DIMENSIONS - {spec.total_of})
        if unexpected:
            raise SourceError(
                f"{spec.table}: unexpected dimension(s) {', '.join(unexpected)}: summing over their keys could "
                "count the same registrations twice. Fix: report this; the connector must select one key"
            )
        self.total = self._total_key() if spec.total_of in dimensions else None

    def _total_key(self) -> tuple[str, str]:
        """The (padded) key and title of the one total row of the ``total_of`` dimension."""
        dimension = str(self.spec.total_of)
        result = fetch_rows(self.client, f"{self.root}/{self.spec.table}/{dimension}")
        self.responses.extend(result.responses)
        totals = [
            (str(row["Key"]), str(row.get("Title", "")))
            for row in result.rows
            if str(row.get("Title", "")).strip().casefold().startswith(TOTAL_TITLE)
        ]
        if len(totals) != 1:
            titles = ", ".join(repr(str(r.get("Title"))) for r in result.rows)
            raise SourceError(
                f"{self.spec.table}/{dimension}: expected exactly one total key (title starting 'Totaal'), "
                f"found {len(totals)} among {titles}. Fix: report this; the subtypes must not be summed with "
                "their total"
            )
        return totals[0]

    def months(
        self, wanted: pd.PeriodIndex, keep_latest: bool, incomplete: int
    ) -> tuple[list[pd.Period], pd.Period, list[str]]:
        """Requested months that are published and complete, the newest period, and what was dropped."""
        keys, found = dimension_keys(self.client, self.root, self.spec.table, PERIOD)
        self.responses.extend(found)
        published = sorted(pd.Period(f"{m[1]}-{m[2]}", freq="M") for k in keys if (m := MONTH_CODE.match(k)))
        if not published:
            raise SourceError(f"{self.spec.table}: no monthly periods published. Fix: check the table id")
        newest = published[-1]
        notes = []
        cutoff = newest if keep_latest else newest - incomplete
        dropped = [p for p in wanted if cutoff < p <= newest]
        if dropped:
            notes.append(
                f"{self.spec.table}: dropped {months_text(dropped)}: newest {incomplete} month(s) "
                f"up to {newest} are incomplete (reporting lag); use --keep-latest to keep them"
            )
        absent = [p for p in wanted if p not in set(published) and p <= newest]
        if absent:
            notes.append(f"{self.spec.table}: not published: {months_text(absent)}")
        months = [p for p in wanted if p in set(published) and p <= cutoff]
        if not months:
            raise SourceError(
                f"{self.spec.table}: no complete published month between {wanted[0]} and {wanted[-1]} "
                f"(newest period {newest}). Fix: choose other months or pass --keep-latest"
            )
        return months, newest, notes

    def rows(self, months: Sequence[pd.Period]) -> pd.DataFrame:
        """All rows of ``months`` (one query per ``MONTHS_PER_QUERY`` months, each paged by the feed)."""
        codes = [month_code(p) for p in months]
        select = [REGION, PERIOD, self.measure_key, *([OFFENCE] if self.spec.has_offence else [])]
        only = f" and {self.spec.total_of} eq {quote(self.total[0])}" if self.total is not None else ""
        collected: list[dict[str, object]] = []
        for first in range(0, len(codes), MONTHS_PER_QUERY):
            periods = " or ".join(f"{PERIOD} eq {quote(m)}" for m in codes[first : first + MONTHS_PER_QUERY])
            result = fetch_rows(
                self.client,
                f"{feed_root(self.root)}/{self.spec.table}/TypedDataSet",
                {"$filter": f"{startswith_any(REGION, [self.prefix])} and ({periods}){only}",
                 "$select": ",".join(select)},
            )  # fmt: skip
            self.responses.extend(result.responses)
            collected.extend(result.rows)
        return pd.DataFrame(collected, columns=select)


def _to_incidents(raw: pd.DataFrame, spec: _Table, measure: str) -> pd.DataFrame:
    """Raw police rows to canonical monthly incidents (area, month, category summed; null stays missing)."""
    where = f"{spec.table} TypedDataSet"
    for column in raw.columns:
        if column != measure and raw[column].isna().any():
            raise SourceError(f"{where}: a row without '{column}'. Fix: report the table to the publisher")
    area = raw[REGION].astype(str).str.strip()
    period = raw[PERIOD].astype(str).str.strip()
    parts = period.str.extract(MONTH_CODE)
    if parts.isna().any(axis=None):
        bad = period[parts[0].isna()].iloc[0]
        raise SourceError(f"{where}: period {bad!r} is not a month code like 2023MM01. Fix: report this")
    counts = pd.to_numeric(raw[measure], errors="coerce")
    bad_count = raw[measure].notna() & (counts.isna() | (counts < 0) | (counts % 1 != 0))
    if bool(bad_count.fillna(False).any()):
        row = int(np.flatnonzero(bad_count.fillna(False).to_numpy())[0])
        raise SourceError(
            f"{where}, area {area.iloc[row]!r}, period {period.iloc[row]!r}: "
            f"count {raw[measure].iloc[row]!r} "
            "is not a non-negative integer or null. Fix: report this to the publisher"
        )
    if spec.has_offence:
        codes = raw[OFFENCE].astype(str).str.strip()
        slugs = codes.map({c: slug_for_code(c) for c in codes.unique()})
        invalid = sorted({s for s in slugs.dropna().unique() if not is_valid_slug(s)})
        if invalid:
            raise SourceError(
                f"{where}: offence codes give invalid category slugs {invalid}. Fix: report this"
            )
    else:
        slugs = pd.Series(NUISANCE_CATEGORY, index=raw.index)
    frame = pd.DataFrame(
        {
            "area_code": area,
            "period_start": pd.to_datetime(parts[0] + "-" + parts[1] + "-01").astype("datetime64[ns]"),
            "category": slugs,
            "count": counts.astype("Float64"),
        }
    )
    not_buurt = ~frame["area_code"].str.match(r"^BU[0-9A-Z]{8}$")
    if bool(not_buurt.any()):
        bad = frame.loc[not_buurt, "area_code"].iloc[0]
        raise SourceError(f"{where}: area key {bad!r} is not a buurt code (BU + 8). Fix: report this")
    frame = frame[frame["category"].notna()]
    frame = frame.assign(withheld=frame["count"].isna())
    grouped = frame.groupby(["area_code", "period_start", "category"], as_index=False, sort=True).agg(
        count=("count", "sum"), withheld=("withheld", "any")
    )
    grouped["count"] = grouped["count"].astype("Int64").mask(grouped["withheld"])
    grouped.insert(2, "freq", "M")
    grouped["source"] = f"politie:{spec.table}"
    return grouped[["area_code", "period_start", "freq", "category", "count", "source"]]
