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
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import yaml

from pulsetwin.exceptions import CRSError, Location, SchemaError
from pulsetwin.schema.categories import is_valid_slug
from pulsetwin.schema.codes import CODE_EXAMPLES, code_levels
from pulsetwin.schema.periods import Freq, is_monthly, is_weekly, parse_timestamps
from pulsetwin.schema.pii import guard_personal_data
from pulsetwin.schema.tables import FREQS
from pulsetwin.sources.dataset import Dataset
from pulsetwin.sources.spatial import assign_areas, to_rd
from pulsetwin.store.provenance import file_sha256
from pulsetwin.store.textfile import read_text

READERS: Final = (".csv", ".parquet", ".xlsx")
CHOICES: Final = ("error", "drop")
READ_KEYS: Final = ("sheet", "delimiter", "encoding", "decimal")
DELIMITERS: Final = (",", ";", "\t")
"""CSV delimiters recognised from the header (the most frequent wins; a tie goes to the first)."""
DAY_DIRECTIVES: Final = re.compile(r"%[-#]?[dejaAwuUWVGgcx]")
"""strftime directives that fix a day; a date.format without any (``%m-%Y``) names a month."""


@dataclass(frozen=True)
class FileMapping:
    """A parsed mapping file (see the module docstring for the YAML form)."""

    source: str
    freq: Freq | None
    date_column: str
    date_format: str | None = None
    area_column: str | None = None
    x: str | None = None
    y: str | None = None
    crs: str | None = None
    level: str = "buurt"
    outside: str = "error"
    category_value: str | None = None
    category_column: str | None = None
    category_map: dict[str, str] = field(default_factory=dict)
    unmapped: str = "error"
    count_column: str | None = None
    read: dict[str, Any] = field(default_factory=dict)
    fill_zeros: bool = True

    @property
    def columns(self) -> list[str]:
        """The raw columns this mapping reads."""
        named = (self.area_column, self.x, self.y, self.date_column, self.category_column, self.count_column)
        return [c for c in named if c is not None]


def load_mapping(path: Path) -> FileMapping:
    """Read and check a YAML mapping; SchemaError names the mapping file and the key that is wrong."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise SchemaError(f"a readable YAML mapping ({error})", where=Location(file=str(path))) from None
    if not isinstance(raw, dict):
        raise SchemaError("a YAML mapping (key: value)", where=Location(file=str(path)))

    def fail(key: str, expected: str, value: object = None) -> SchemaError:
        return SchemaError(
            expected, where=Location(file=str(path), column=key, value=value), fix="edit the mapping"
        )

    def block(key: str, *, required: bool) -> dict[str, Any]:
        value = raw.get(key)
        if value is None and not required:
            return {}
        if not isinstance(value, dict):
            raise fail(key, f"'{key}' must be a mapping of settings", value)
        return value

    unknown = sorted(set(raw) - {"source", "freq", "area", "date", "category", "count", "read", "fill_zeros"})
    if unknown:
        raise fail(unknown[0], "a known key (source, freq, area, date, category, count, read, fill_zeros)")
    if not isinstance(raw.get("source"), str) or not raw["source"].strip():
        raise fail("source", "a non-empty 'source' naming the data set", raw.get("source"))
    if raw.get("freq") is not None and raw.get("freq") not in FREQS:
        raise fail(
            "freq", "'freq' W (weeks from Monday) or M (months), or no freq to infer it", raw.get("freq")
        )
    area, date, category = (
        block("area", required=True),
        block("date", required=True),
        block("category", required=True),
    )
    count, read = block("count", required=False), block("read", required=False)
    if not isinstance(date.get("column"), str):
        raise fail("date.column", "the name of the date column", date.get("column"))
    unknown_read = sorted(set(map(str, read)) - set(READ_KEYS))
    if unknown_read:
        raise fail(f"read.{unknown_read[0]}", f"a known reader setting ({', '.join(READ_KEYS)})")
    if read.get("decimal", ".") not in (".", ","):
        raise fail("read.decimal", "'.' or ','", read.get("decimal"))
    if ("column" in area) == ("x" in area or "y" in area):
        raise fail("area", "either area.column (an area code) or area.x and area.y (coordinates)", area)
    if "x" in area and not ("y" in area and area.get("crs")):
        raise fail("area", "area.x with area.y and area.crs (EPSG:28992 or EPSG:4326)", area)
    for key, choice in (
        ("area.outside", area.get("outside", "error")),
        ("category.unmapped", category.get("unmapped", "error")),
    ):
        if choice not in CHOICES:
            raise fail(key, "'error' or 'drop'", choice)
    if ("value" in category) == ("column" in category):
        raise fail(
            "category", "either category.value (one slug) or category.column with category.map", category
        )
    mapping = {str(k): str(v) for k, v in (category.get("map") or {}).items()}
    if "column" in category and not mapping:
        raise fail("category.map", "a value map from the column's values to category slugs")
    for slug in [*mapping.values(), *([str(category["value"])] if "value" in category else [])]:
        if not is_valid_slug(slug):
            raise fail(
                "category", "category slugs in lowercase letters, digits and _ (e.g. youth_nuisance)", slug
            )
    return FileMapping(
        source=raw["source"].strip(),
        freq=None if raw.get("freq") is None else Freq(raw["freq"]),
        date_column=date["column"],
        date_format=date.get("format"),
        area_column=area.get("column"),
        x=area.get("x"),
        y=area.get("y"),
        crs=area.get("crs"),
        level=area.get("level", "buurt"),
        outside=area.get("outside", "error"),
        category_value=str(category["value"]) if "value" in category else None,
        category_column=category.get("column"),
        category_map=mapping,
        unmapped=category.get("unmapped", "error"),
        count_column=count.get("column"),
        read=read,
        fill_zeros=bool(raw.get("fill_zeros", True)),
    )


@dataclass(frozen=True)
class RawFile:
    """A file as read: the frame, the decimal mark of its numbers, and notes on how it was read."""

    frame: pd.DataFrame
    decimal: str = "."
    notes: tuple[str, ...] = ()


def read_raw(path: Path, read: dict[str, Any] | None = None) -> RawFile:
    """The file as read, CSV cells as text; the PII guard sees exactly this.

    CSV text is decoded by :func:`pulsetwin.store.textfile.read_text` (encoding detected unless
    ``read.encoding`` names it) and split on ``read.delimiter`` or, without it, on the delimiter the header
    holds most (a tab too: Excel's "Unicode text"); the decimal mark is ``read.decimal``, else ``,`` in a ``;``
    file. Workbooks: see :func:`_sheet`.
    """
    options = read or {}
    suffix = path.suffix.lower()
    if suffix == ".csv":
        decoded = read_text(path, encoding=options.get("encoding"))
        header = decoded.text.split("\n", 1)[0]
        delimiter = options.get("delimiter") or max(DELIMITERS, key=header.count)
        frame = pd.read_csv(io.StringIO(decoded.text), dtype=str, keep_default_na=False, sep=delimiter)
        decimal = options.get("decimal", "," if delimiter == ";" else ".")
        return RawFile(frame, decimal, decoded.notes)
    if suffix == ".parquet":
        return RawFile(pd.read_parquet(path), options.get("decimal", "."))
    if suffix == ".xlsx":
        sheet = _sheet(path, options.get("sheet"))
        return RawFile(pd.read_excel(path, sheet_name=sheet, engine="openpyxl"), options.get("decimal", "."))
    raise SchemaError(
        f"a file ending in {', '.join(READERS)}",
        where=Location(file=str(path)),
        fix="save it as CSV or Parquet",
    )


def _sheet(path: Path, sheet: object) -> str:
    """The workbook sheet to read: ``read.sheet`` when it exists, the only sheet when there is one.

    A sheet that does not exist, or several sheets and no ``read.sheet``, is refused listing the sheets.
    """
    with pd.ExcelFile(path, engine="openpyxl") as workbook:
        names = [str(name) for name in workbook.sheet_names]
    listed = ", ".join(f"'{name}'" for name in names)
    where = Location(file=str(path), column="read.sheet", value=sheet)
    if sheet is None:
        if len(names) > 1:
            raise SchemaError(
                f"one sheet to read; the workbook holds {len(names)} sheets: {listed}",
                where=where,
                fix="name the sheet in the mapping, e.g. read: {sheet: " + names[0] + "}",
            )
        return names[0]
    if str(sheet) not in names:
        raise SchemaError(
            f"a sheet named '{sheet}'; the workbook holds {listed}",
            where=where,
            fix="set read.sheet in the mapping to one of those",
        )
    return str(sheet)


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
