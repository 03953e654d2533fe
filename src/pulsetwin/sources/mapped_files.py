"""Municipal and social-organisation files (CSV, Parquet, Excel) mapped by a small YAML file to incidents.

The PII guard runs on the raw file before anything else. Then the mapping picks the area (a code column, or
x/y coordinates joined to the store's areas), the date, the category (fixed, or from a column through a value
map) and the count (a column, or 1 per row for point records); rows are summed per area × period × category.
Zeros are filled over the areas × periods × categories the file covers: "no report" reads as 0.

Mapping format (YAML)::

    source: gemeente:overlast-jeugd       # recorded in incidents.source
    freq: W                               # W (weeks from Monday) or M (months); inferred from the dates when absent
    area: {column: buurtcode}   # or {x: x_rd, y: y_rd, crs: EPSG:28992, level: buurt, outside: error}
    date: {column: datum, format: "%d-%m-%Y"}   # format optional: ISO 8601 when absent
    category: {value: youth_nuisance}     # or {column: soort, map: {Jeugd: youth_nuisance}, unmapped: error}
    count: {column: aantal}               # optional: one per row when absent
    read: {sheet: Blad1, delimiter: ";", encoding: utf-8, decimal: ","}   # optional reader settings
    fill_zeros: true                      # optional, default true

The dates must agree with ``freq``: dates that name months (all the 1st of a month, or a ``date.format``
without a day such as ``%m-%Y``) under ``freq: W`` are refused (each month would land on one week, the other
weeks filled with 0), as are weekly counts (all Mondays) under ``freq: M``. Without ``freq`` it is inferred
from such dates and the inference is noted; single days (event records) need an explicit ``freq``.

CSV: the encoding is detected (byte-order mark, UTF-8, else clean Windows-1252, noted) unless
``read.encoding`` names it; the delimiter is ``,``, ``;`` or a tab as the header shows unless ``read.delimiter``
names it; ``read.decimal`` (default ``,`` in a ``;`` file, else ``.``) is the decimal mark of counts.
Excel: a workbook with several sheets needs ``read.sheet``; a sheet that does not exist is refused with the
list of sheets that do.

The mapping is parsed in :mod:`~pulsetwin.sources.file_mapping`, the file read in
:mod:`~pulsetwin.sources.raw_files`; this module turns the rows into incidents.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from pulsetwin.exceptions import CRSError, Location, SchemaError
from pulsetwin.schema.codes import CODE_EXAMPLES, code_levels
from pulsetwin.schema.periods import Freq, is_monthly, is_weekly, parse_timestamps
from pulsetwin.schema.pii import guard_personal_data
from pulsetwin.sources.dataset import Dataset
from pulsetwin.sources.file_mapping import FileMapping
from pulsetwin.sources.raw_files import read_raw
from pulsetwin.sources.spatial import assign_areas, to_rd
from pulsetwin.store.provenance import file_sha256

DAY_DIRECTIVES: Final = re.compile(r"%[-#]?[dejaAwuUWVGgcx]")
"""strftime directives that fix a day; a date.format without any (``%m-%Y``) names a month."""


def map_file(path: Path, mapping: FileMapping, *, areas: pd.DataFrame | None = None) -> Dataset:
    """Guard, map and aggregate one file into canonical incidents (nothing is written here).

    ``areas`` are the store's areas: required for coordinates, and when given every area code must be among
    them.
    """
    file = str(path)
    read = read_raw(path, mapping.read)
    raw, notes = read.frame, list(read.notes)
    guard_personal_data(raw, file=file)
    missing = [c for c in mapping.columns if c not in raw.columns]
    if missing:
        raise SchemaError(
            f"the columns the mapping names; missing {', '.join(missing)} "
            f"(found {', '.join(map(str, raw.columns))})",
            where=Location(file=file, column=missing[0]),
            fix="correct the column names in the mapping",
        )
    keep = np.ones(len(raw), dtype=bool)
    level_areas = None if areas is None else areas[areas["level"] == mapping.level]
    area = _area_codes(raw, mapping, level_areas, file, keep, notes)
    when = _dates(raw, mapping, file)
    freq = _freq(when, mapping, file, notes)
    category = _categories(raw, mapping, file, keep, notes)
    count = _counts(raw, mapping, file, read.decimal)
    rows = pd.DataFrame(
        {
            "area_code": area,
            "period_start": freq.start(when),
            "category": category,
            "count": count,
        }
    )[keep]
    incidents = rows.groupby(["area_code", "period_start", "category"], as_index=False, sort=True).agg(
        count=("count", "sum")
    )
    if mapping.fill_zeros and len(incidents):
        incidents = _fill_zeros(incidents, freq, level_areas)
    incidents.insert(2, "freq", freq.value)
    incidents["source"] = mapping.source
    incidents["count"] = incidents["count"].astype("int64")
    provenance = {
        "dataset": "mapped-file",
        "file": file,
        "hash": file_sha256(path),
        "rows_read": len(raw),
        "rows_used": int(keep.sum()),
        "mapping": {"freq": freq.value, "level": mapping.level, "fill_zeros": mapping.fill_zeros},
        "details": {"notes": notes},
    }
    return Dataset({"incidents": incidents}, mapping.source, provenance, tuple(notes))


def _bad(file: str, values: pd.Series, mask: np.ndarray, column: str, expected: str, fix: str) -> SchemaError:
    """A SchemaError at the first row where ``mask`` holds (1-based data row), counting all such rows."""
    rows = np.flatnonzero(mask)
    more = f" ({len(rows)} rows in all)" if len(rows) > 1 else ""
    where = Location(file=file, row=int(rows[0]) + 1, column=column, value=values.iloc[rows[0]])
    return SchemaError(expected + more, where=where, fix=fix)


def _area_codes(
    raw: pd.DataFrame,
    mapping: FileMapping,
    areas: pd.DataFrame | None,
    file: str,
    keep: np.ndarray,
    notes: list[str],
) -> np.ndarray:
    if mapping.area_column is not None:
        column = mapping.area_column
        text = raw[column].astype("string").str.strip().str.upper()
        invalid = code_levels(text.fillna("")).ne(mapping.level).to_numpy()
        if invalid.any():
            raise _bad(file, raw[column], invalid, column, f"a {mapping.level} code such as {CODE_EXAMPLES}",
                       "correct the code or set area.level in the mapping")  # fmt: skip
        if areas is not None and len(areas):
            unknown = ~text.isin(set(areas["area_code"])).to_numpy()
            if unknown.any():
                raise _bad(file, raw[column], unknown, column, "an area code present in the store's areas",
                           "fetch the right boundary year first, or remap old text")  # fmt: skip
        return text.to_numpy(dtype=object)
    assert mapping.x is not None and mapping.y is not None and mapping.crs is not None
    if areas is None or not len(areas):
        raise CRSError(
            f"file '{file}': coordinates need {mapping.level} areas in the store for the spatial join. "
            "Fix: run `pulsetwin fetch geometry` (or import areas) first"
        )
    xy = []
    for column in (mapping.x, mapping.y):
        value = pd.to_numeric(
            raw[column].astype("string").str.strip().str.replace(",", ".", regex=False), errors="coerce"
        )
        if value.isna().any():
            raise _bad(
                file,
                raw[column],
                value.isna().to_numpy(),
                column,
                "a number (coordinate)",
                "fill in or drop the row",
            )
        xy.append(value.to_numpy(dtype="float64"))
    x, y = to_rd(xy[0], xy[1], mapping.crs, where=f"file '{file}'")
    codes = assign_areas(x, y, areas)
    outside = np.array([c is None for c in codes])
    if outside.any():
        if mapping.outside == "error":
            raise _bad(file, raw[mapping.x], outside, mapping.x, f"a point in a {mapping.level} of the store",
                       "check the coordinates and area.crs, or set area.outside: drop")  # fmt: skip
        keep &= ~outside
        notes.append(
            f"{int(outside.sum())} row(s) outside every {mapping.level} dropped (area.outside: drop)"
        )
    return codes


def _dates(raw: pd.DataFrame, mapping: FileMapping, file: str) -> pd.Series:
    column = mapping.date_column
    if pd.api.types.is_datetime64_any_dtype(raw[column]):
        parsed = pd.Series(raw[column]).astype("datetime64[ns]").reset_index(drop=True)
        bad = parsed.isna().to_numpy()
    elif mapping.date_format:
        text = raw[column].astype("string").str.strip()
        parsed = pd.to_datetime(text, format=mapping.date_format, errors="coerce").astype("datetime64[ns]")
        bad = parsed.isna().to_numpy()
    else:
        parsed, bad, _ = parse_timestamps(raw[column].astype("string").str.strip())
        bad = bad | parsed.isna().to_numpy()
    if bad.any():
        shown = mapping.date_format or "ISO 8601 (YYYY-MM-DD)"
        raise _bad(
            file, raw[column], bad, column, f"a date written as {shown}", "correct it or set date.format"
        )
    return parsed


def _freq(when: pd.Series, mapping: FileMapping, file: str, notes: list[str]) -> Freq:
    """The mapping's freq checked against the dates, or inferred from them (noted) when the mapping has none.

    Refused: dates naming months under W (each month would become one week plus weeks of 0), weekly counts
    under M, and single days without a freq (they can be counted per week or per month).
    """
    column = mapping.date_column
    no_day = mapping.date_format is not None and not DAY_DIRECTIVES.search(mapping.date_format)
    monthly = no_day or is_monthly(when)
    weekly = not monthly and is_weekly(when)
    why = (
        f"date.format '{mapping.date_format}' has no day"
        if no_day
        else f"all {when.nunique()} distinct dates are the 1st of a month"
    )
    where = Location(file=file, column=column, value=None if when.empty else str(when.iloc[0].date()))
    if mapping.freq == "W" and monthly:
        raise SchemaError(
            f"dates of weeks for freq: W; these are months ({why}): read as weeks, each month's total would "
            "land on one week and every other week would be filled with 0",
            where=where,
            fix="set freq: M in the mapping",
        )
    if mapping.freq == "M" and weekly and mapping.count_column is not None:
        raise SchemaError(
            f"dates of months for freq: M; these are weekly counts (all {when.nunique()} distinct dates are "
            "Mondays): summed per month, weeks that straddle two months would count in one",
            where=where,
            fix="set freq: W in the mapping",
        )
    if mapping.freq is not None:
        return mapping.freq
    if monthly or weekly:
        inferred = Freq.M if monthly else Freq.W
        reason = why if monthly else f"all {when.nunique()} distinct dates are Mondays"
        notes.append(
            f"freq {inferred} inferred from the dates ({reason}); "
            f"write freq: {inferred} in the mapping to make it explicit"
        )
        return inferred
    raise SchemaError(
        "a freq: the mapping has none and the dates are single days, which can be counted per week or per month",
        where=where,
        fix="set freq: W (weeks from Monday) or freq: M (months) in the mapping",
    )


def _categories(
    raw: pd.DataFrame, mapping: FileMapping, file: str, keep: np.ndarray, notes: list[str]
) -> np.ndarray:
    if mapping.category_value is not None:
        return np.full(len(raw), mapping.category_value, dtype=object)
    assert mapping.category_column is not None
    column = mapping.category_column
    values = raw[column].astype("string").str.strip()
    slugs = values.map(mapping.category_map)
    unmapped = slugs.isna().to_numpy()
    if unmapped.any():
        if mapping.unmapped == "error":
            distinct = sorted(set(values[unmapped].fillna("<empty>")))
            raise _bad(file, raw[column], unmapped, column, f"a value in category.map; not: {distinct[:10]}",
                       "add the values to category.map or set category.unmapped: drop")  # fmt: skip
        keep &= ~unmapped
        notes.append(
            f"{int(unmapped.sum())} row(s) with unmapped categories dropped (category.unmapped: drop)"
        )
    return slugs.to_numpy(dtype=object)


def _counts(raw: pd.DataFrame, mapping: FileMapping, file: str, decimal: str) -> np.ndarray:
    """Whole non-negative counts; text uses the decimal mark ``decimal`` (``12,0`` is 12 with ``,``).

    A count written with the other mark (``1.234`` where the mark is ``,``) is refused: it could be a
    thousands separator or a decimal, and only the file's author knows which.
    """
    column = mapping.count_column
    if column is None:
        return np.ones(len(raw), dtype="int64")
    values = raw[column]
    if pd.api.types.is_numeric_dtype(values):
        numbers = pd.to_numeric(values, errors="coerce")
    else:
        text = values.astype("string").str.strip()
        other = "." if decimal == "," else ","
        foreign = text.str.contains(other, regex=False).fillna(False).to_numpy(dtype=bool)
        if foreign.any():
            raise _bad(
                file, values, foreign, column,
                f"a whole number with decimal mark '{decimal}'; '{other}' is a thousands separator or a "
                "decimal mark of another convention",
                f"write counts without thousands separators, or set read.decimal: '{other}' in the mapping",
            )  # fmt: skip
        numbers = pd.to_numeric(text.str.replace(decimal, ".", regex=False), errors="coerce")
    bad = (numbers.isna() | (numbers < 0) | (numbers % 1 != 0)).to_numpy()
    if bad.any():
        raise _bad(file, values, bad, column, "a non-negative whole number", "correct the count")
    return numbers.to_numpy(dtype="int64")


def _fill_zeros(incidents: pd.DataFrame, freq: Freq, areas: pd.DataFrame | None) -> pd.DataFrame:
    """Complete the area × period × category grid over the file's span with zero counts."""
    starts = incidents["period_start"]
    periods = pd.date_range(starts.min(), starts.max(), freq=freq.pandas_alias).astype("datetime64[ns]")
    codes = sorted(
        set(areas["area_code"]) if areas is not None and len(areas) else set(incidents["area_code"])
    )
    grid = pd.MultiIndex.from_product(
        [codes, periods, sorted(incidents["category"].unique())],
        names=["area_code", "period_start", "category"],
    )
    full = incidents.set_index(["area_code", "period_start", "category"])["count"].reindex(grid, fill_value=0)
    return full.reset_index()
