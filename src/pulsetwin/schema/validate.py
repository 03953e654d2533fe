"""Validate a frame against a canonical table and return it normalised.

Checks, in order: the column set (required present, unknown refused), types (ISO dates and timestamps,
integers, finite floats, text, WKT, JSON), codes (CBS ``GM``/``WK``/``BU`` or grid cell; ``areas.level``
matches the code and ``parent_code`` follows from it), period rules (``W`` starts on a Monday, ``M`` on the
1st), non-negative integer counts (``incidents.count`` may be missing: withheld), category slugs, RD New
plausibility of coordinates and geometry, and unique keys within the file. Text input (a CSV read with
``dtype=str``) and typed input are both accepted; the result has the canonical column order and dtypes.

Every check runs on the distinct values of a column and maps back to rows through integer codes, so ten
million incident rows validate in seconds. Every error is a :class:`~pulsetwin.exceptions.SchemaError` naming
file, 1-based data row, column, value, what was expected and how to fix it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, NoReturn

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from pulsetwin.exceptions import Location, ParameterTypeError, SchemaError
from pulsetwin.schema.categories import BY_SLUG, SLUG_PATTERN
from pulsetwin.schema.codes import CODE_EXAMPLES, ancestor_codes, code_levels
from pulsetwin.schema.crs import WKT_DECIMALS, geometries_to_rd, to_rd
from pulsetwin.schema.periods import (
    Freq,
    infer_freq,
    is_midnight,
    is_monday,
    is_month_start,
    is_monthly,
    is_weekly,
    parse_dates,
    parse_timestamps,
)
from pulsetwin.schema.tables import (
    AREA_LEVELS,
    FORECAST_LABELS,
    FORECASTS,
    FREQS,
    TABLES,
    TableSpec,
    table_spec,
)

RD_X_RANGE: Final = (-7000.0, 300000.0)
RD_Y_RANGE: Final = (289000.0, 629000.0)
"""Bounding box of the Netherlands in EPSG:28992 (RD New), in metres."""
YEAR_RANGE: Final = (1900, 2100)
NULLABLE: Final = frozenset(
    {
        ("incidents", "count"),  # withheld by the source (a secret value is missing, never zero)
        ("covariates", "value"),  # CBS secret or not yet published
        ("protected", "value"),
        ("truth", "offence_intensity"),
        ("areas", "parent_code"),  # empty for gemeenten and optional for cells
        ("areas", "name"),  # may be empty for grid cells only (checked per row)
        ("areas", "geometry"),  # empty on every row (named areas without boundaries) or on none (checked)
        ("log", "prev_hash"),  # empty for the first record
    }
)
WITHHELD: Final = ("incidents", "count")
"""The one cell a source may leave empty on purpose (a secret value); file imports refuse it unless allowed."""
MAX_CHARS: Final = {"str": 500, "int": 20, "float": 40, "date": 40, "timestamp": 40}
"""Longest text accepted per logical type (WKT and JSON unbounded): a longer cell is no value but an accident
(a shifted column, a pasted document), refused before any parsing."""
TOTAL_WORDS: Final = (
    r"(?i)\s*(?:totaal|totalen|total|totals|grand total|eindtotaal|subtotaal|subtotal|som|sum|alle .*)\s*"
)
"""An ``area_code`` that is one of these words marks a spreadsheet's totals row, not an area."""
NON_NEGATIVE_FLOATS: Final = frozenset({"intensity", "offence_intensity", "mean", "q05", "q50", "q95"})
MAX_LISTED: Final = 10
SAMPLE_ROWS: Final = 100_000
_WEEKDAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class _Column:
    """A converted column: canonical values, their distinct values and per-row codes (-1 = missing)."""

    values: pd.Series
    codes: np.ndarray
    uniques: pd.Series

    def rows(self, unique_mask: np.ndarray) -> np.ndarray:
        """Expand a mask over the distinct values to a mask over rows (missing rows are False)."""
        return np.append(np.asarray(unique_mask, dtype=bool), False)[self.codes]

    @property
    def missing(self) -> np.ndarray:
        """Rows without a value."""
        return self.codes < 0


class _Checker:
    """Raises SchemaErrors that point at the first offending row of a column."""

    def __init__(
        self,
        table: str,
        frame: pd.DataFrame,
        file: str | None,
        *,
        withheld: bool = True,
        crs: str | None = None,
    ) -> None:
        self.table = table
        self.frame = frame
        self.file = file
        self.withheld = withheld
        self.crs = crs

    def fail(self, column: str | None, rows: np.ndarray | None, expected: str, fix: str) -> NoReturn:
        """Raise for the first True row of ``rows`` (None: a problem of the whole file)."""
        if rows is None or not rows.any():
            raise SchemaError(expected, where=Location(file=self.file, column=column), fix=fix)
        hits = np.flatnonzero(rows)
        row = int(hits[0])
        value = self.frame[column].iloc[row] if column in self.frame else None
        if len(hits) > 1:
            expected += f" ({len(hits) - 1} more rows like this)"
        raise SchemaError(expected, where=Location(self.file, row + 1, column, value), fix=fix)

    def check(self, column: str, rows: np.ndarray, expected: str, fix: str) -> None:
        """Raise when any row is True."""
        if rows.any():
            self.fail(column, rows, expected, fix)


def factorize_column(series: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Per-row int64 codes (-1: missing) and the values they point to, for checks on distinct values.

    Text columns whose first ``SAMPLE_ROWS`` rows are mostly distinct (identifiers) skip the hashing: each row
    is its own code and missing rows point nowhere, so the "distinct" values may repeat; checks stay correct.
    Raises TypeError for unhashable cells (lists, arrays).
    """
    if isinstance(series.dtype, pd.StringDtype) and len(series) > 5 * SAMPLE_ROWS:
        head = series.iloc[:SAMPLE_ROWS]
        if head.nunique() > 0.5 * len(head):
            missing = series.isna().to_numpy()
            codes = np.where(missing, -1, np.arange(len(series), dtype=np.int64))
            return codes, pd.Index(series.fillna("").reset_index(drop=True))
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64), uniques


def _distinct(chk: _Checker, name: str, raw: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Factorize a column into per-row codes and distinct values; refuse unhashable cells."""
    try:
        codes, uniques = factorize_column(raw)
    except TypeError:
        nested = raw.map(lambda v: isinstance(v, list | tuple | dict | set | np.ndarray)).to_numpy(dtype=bool)
        chk.fail(name, nested, "expected a single value per cell, got a list or array", "flatten the column")
    return codes, uniques


def _require_text(chk: _Checker, name: str, codes: np.ndarray, uniques: pd.Index, what: str) -> pd.Series:
    """The distinct values as a str Series; refuse non-text values and absurdly long ones."""
    if pd.api.types.infer_dtype(uniques, skipna=True) not in ("string", "empty"):
        bad = np.array([not isinstance(u, str) for u in uniques], dtype=bool)
        chk.fail(name, np.append(bad, False)[codes], f"expected {what}", f"write {what} in column '{name}'")
    text = pd.Series(uniques, dtype="str")
    refuse_overlong(chk.table, name, text.str.len().to_numpy(dtype=np.int64), codes, file=chk.file)
    return text


def text_limit(table: str | None, column: str) -> int | None:
    """The longest text accepted in a canonical column (None: unbounded, or not a canonical column)."""
    spec = TABLES.get(table or "")
    kind = spec.types.get(column) if spec is not None else None
    return None if kind is None else MAX_CHARS.get(kind)


def refuse_overlong(
    table: str | None, column: str, lengths: np.ndarray, codes: np.ndarray, *, file: str | None
) -> None:
    """Refuse a column whose distinct values (``lengths``, mapped to rows by ``codes``) exceed its limit.

    The message gives the row, column and length, never the value: a pasted document may hold anything.
    """
    limit = text_limit(table, column)
    if limit is None or not len(lengths) or int(lengths.max()) <= limit:
        return
    over = np.append(lengths > limit, False)[codes]
    rows = np.flatnonzero(over)
    longest = int(lengths.max())
    raise SchemaError(
        f"a value of at most {limit:,} characters; row {int(rows[0]) + 1} holds {int(lengths[codes[rows[0]]]):,}"
        f" (the longest {longest:,}; {len(rows):,} rows too long)",
        where=Location(file=file, row=int(rows[0]) + 1, column=column),
        fix="check that the columns are not shifted and the cell holds one value, then fix the value",
    )


def refuse_duplicate_columns(names: Iterable[object], *, file: str | None, table: str | None = None) -> None:
    """Refuse a header that names a column more than once (a reader would silently keep one of them)."""
    present = [str(c) for c in names]
    duplicated = sorted({c for c in present if present.count(c) > 1})
    if duplicated:
        owner = f"table '{table}': " if table else ""
        raise SchemaError(
            f"{owner}column(s) {', '.join(duplicated)} appear more than once",
            where=Location(file=file),
            fix="keep one column of each name",
        )


def _drop_blank(codes: np.ndarray, text: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Treat empty or whitespace-only text as missing (code -1)."""
    blank = (text.str.strip() == "").to_numpy(dtype=bool)
    if not blank.any():
        return codes, text
    new_index = np.cumsum(~blank) - 1
    keep = np.append(~blank, False)[codes]
    return np.where(keep, np.append(new_index, -1)[codes], -1), text[~blank].reset_index(drop=True)


def _take(uniques: pd.Series, codes: np.ndarray) -> pd.Series:
    """Rebuild a full column from distinct values and codes (missing where the code is -1)."""
    return pd.Series(pd.api.extensions.take(uniques.array, codes, allow_fill=True))


def _text(chk: _Checker, name: str, raw: pd.Series) -> _Column:
    """Convert a text column; blank cells become missing."""
    codes, uniques = _distinct(chk, name, raw)
    text = _require_text(chk, name, codes, uniques, "text")
    kept, text = _drop_blank(codes, text)
    if kept is codes and raw.dtype == "str":  # already canonical: reuse the column instead of rebuilding it
        return _Column(raw, codes, text)
    return _Column(_take(text, kept).astype("str"), kept, text)


def _datetimes(chk: _Checker, name: str, raw: pd.Series, kind: str) -> _Column:
    """Convert a date or timestamp column from text (strict ISO) or datetime values (tz-naive)."""
    example = "2023-01-02" if kind == "date" else "2023-01-02T13:45:00"
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        chk.fail(
            name, raw.notna().to_numpy(), "expected a local date/time without timezone", "drop the offset"
        )
    if pd.api.types.is_datetime64_dtype(raw.dtype):
        codes, uniques = _distinct(chk, name, raw.astype("datetime64[ns]"))
        parsed = pd.Series(uniques, dtype="datetime64[ns]")
    else:
        codes, found = _distinct(chk, name, raw)
        if pd.api.types.infer_dtype(found, skipna=True) in ("date", "datetime", "datetime64"):
            parsed = pd.Series(pd.to_datetime(pd.Series(found, dtype=object)), dtype="datetime64[ns]")
        else:
            codes, text = _drop_blank(codes, _require_text(chk, name, codes, found, f"an ISO {kind}"))
            if kind == "date":
                parsed, bad = parse_dates(text)
            else:
                parsed, bad, offset = parse_timestamps(text)
                chk.check(
                    name,
                    np.append(offset, False)[codes],
                    "expected a local ISO 8601 timestamp without timezone offset",
                    f"convert to Europe/Amsterdam local time and drop the offset, e.g. {example}",
                )
            chk.check(
                name, np.append(bad, False)[codes], f"expected an ISO {kind} like {example}", "fix the value"
            )
    column = _Column(_take(parsed, codes).astype("datetime64[ns]"), codes, parsed)
    if kind == "date":
        chk.check(
            name,
            column.rows(~is_midnight(parsed)),
            "expected a date without time of day",
            f"write the date only, e.g. {example}",
        )
    return column


def _integers(chk: _Checker, name: str, raw: pd.Series) -> _Column:
    """Convert an integer column from ints, integral floats or text such as ``12`` or ``12.0``."""
    dtype = raw.dtype
    if pd.api.types.is_bool_dtype(dtype):
        chk.fail(name, raw.notna().to_numpy(), "expected an integer, got a boolean", "write whole numbers")
    if pd.api.types.is_integer_dtype(dtype):
        codes, uniques = _distinct(chk, name, raw)
        return _int_column(codes, np.asarray(uniques, dtype=np.int64))
    codes, found = _distinct(chk, name, raw)
    if pd.api.types.is_float_dtype(dtype):
        number = np.asarray(found, dtype=np.float64)
        exact: np.ndarray = np.zeros(len(number), dtype=np.int64)
        whole = np.zeros(len(number), dtype=bool)
    else:
        codes, text = _drop_blank(codes, _require_text(chk, name, codes, found, "an integer"))
        whole = text.str.fullmatch(r"[+-]?[0-9]{1,18}(?:\.0*)?").to_numpy(dtype=bool)
        number = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
        digits = text.where(pd.Series(whole), "0").str.replace(r"\.0*$", "", regex=True).str.lstrip("+")
        exact = digits.astype("int64").to_numpy(dtype=np.int64)
    fractional = ~whole & np.isfinite(number) & (number != np.floor(number))
    chk.check(
        name,
        np.append(fractional, False)[codes],
        "expected a whole number, got a fractional one",
        "counts and years are integers; round at the source or fix the value",
    )
    integral = ~whole & np.isfinite(number) & ~fractional
    if pd.api.types.is_float_dtype(dtype):
        exact = np.where(integral, number, 0).astype(np.int64)
        whole = integral
    chk.check(
        name,
        np.append(~whole, False)[codes],
        "expected a whole number",
        "write plain integers (digits only, no thousands separators or exponents)",
    )
    return _int_column(codes, exact)


def _int_column(codes: np.ndarray, uniques: np.ndarray) -> _Column:
    """Assemble an integer column (nullable Int64 values; the caller decides on missing)."""
    missing = codes < 0
    values = pd.arrays.IntegerArray(np.append(uniques, 0)[codes].astype(np.int64), missing)
    return _Column(pd.Series(values), codes, pd.Series(uniques, dtype="int64"))


def _floats(chk: _Checker, name: str, raw: pd.Series) -> pd.Series:
    """Convert a float column from numbers or text; missing stays NaN, infinities are refused."""
    dtype = raw.dtype
    if pd.api.types.is_bool_dtype(dtype):
        chk.fail(name, raw.notna().to_numpy(), "expected a number, got a boolean", "write numbers")
    if pd.api.types.is_numeric_dtype(dtype):
        values = pd.Series(raw.astype("float64").to_numpy(dtype=np.float64, na_value=np.nan))
    else:
        codes, found = _distinct(chk, name, raw)
        codes, text = _drop_blank(codes, _require_text(chk, name, codes, found, "a number"))
        number = _read_floats(text)
        nan_word = text.str.lower().isin(["nan", "na", "null", "none"]).to_numpy(dtype=bool)
        chk.check(
            name,
            np.append(np.isnan(number) & ~nan_word, False)[codes],
            "expected a number with a decimal point (e.g. 12.5)",
            "write numbers with '.' as decimal separator and no thousands separators",
        )
        values = pd.Series(np.append(number, np.nan)[codes])
    chk.check(
        name, np.isinf(values.to_numpy()), "expected a finite number", "replace infinities by real values"
    )
    return values


def _read_floats(text: pd.Series) -> np.ndarray:
    """The numbers written in ``text`` (no missing values), NaN where a value is no number.

    Arrow's cast reads a column of numbers in C++, correctly rounded (20x faster than pandas on a million
    distinct coordinates) and, unlike pandas, independently of the other values ('-0' is -0.0 as in Python's
    ``float``). It is all or nothing: when any value is unreadable, pandas reads value by value to find which.
    """
    try:
        return np.array(pc.cast(pa.array(text.array), pa.float64()).to_numpy(zero_copy_only=False))
    except pa.ArrowInvalid:
        return pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)


def _json(chk: _Checker, name: str, raw: pd.Series) -> _Column:
    """Convert a JSON text column; every distinct value must parse."""
    column = _text(chk, name, raw)

    def parses(text: str) -> bool:
        try:
            json.loads(text)
        except ValueError:
            return False
        return True

    ok = np.array([parses(t) for t in column.uniques], dtype=bool)
    chk.check(name, column.rows(~ok), "expected valid JSON text", "write the detail as a JSON object")
    return column


def _check_columns(spec: TableSpec, frame: pd.DataFrame, file: str | None) -> None:
    """Refuse missing required columns and unknown extra columns, listing the expected set."""
    expected = ", ".join(spec.column_names)
    present = [str(c) for c in frame.columns]
    refuse_duplicate_columns(present, file=file, table=spec.name)
    missing = [c for c in spec.required_columns if c not in present]
    labels = FORECAST_LABELS if spec is FORECASTS else ()  # what an export adds for readers: dropped
    unknown = [c for c in present if c not in spec.column_names and c not in labels]
    if missing:
        raise SchemaError(
            f"table '{spec.name}' needs column(s) {', '.join(missing)}; expected columns: {expected}",
            where=Location(file=file),
            fix="add the missing column(s) or rename the file's columns to the canonical names",
        )
    if unknown:
        raise SchemaError(
            f"table '{spec.name}' has unknown column(s) {', '.join(unknown)}; expected columns: {expected}",
            where=Location(file=file),
            fix="drop or rename the extra column(s)",
        )


def _convert(
    chk: _Checker, spec: TableSpec, frame: pd.DataFrame
) -> tuple[dict[str, pd.Series], dict[str, _Column]]:
    """Convert every present column to its canonical dtype; refuse missing cells where not allowed."""
    values: dict[str, pd.Series] = {}
    columns: dict[str, _Column] = {}
    for name, kind in spec.columns:
        if name not in frame.columns:
            continue
        raw = frame[name]
        if kind == "float":
            values[name] = _floats(chk, name, raw)
            missing = values[name].isna().to_numpy()
        else:
            if kind in ("str", "wkt"):
                column = _text(chk, name, raw)
            elif kind == "json":
                column = _json(chk, name, raw)
            elif kind in ("date", "timestamp"):
                column = _datetimes(chk, name, raw, kind)
            else:
                column = _integers(chk, name, raw)
            columns[name] = column
            values[name] = column.values
            missing = column.missing
        if (spec.name, name) == WITHHELD and not chk.withheld:
            chk.check(
                name,
                missing,
                "expected a count, the cell is empty",
                "fill in the count; when the source withheld it on purpose (a secret value), import with "
                "--allow-withheld (allow_withheld=True in Python)",
            )
        elif (spec.name, name) not in NULLABLE:
            chk.check(
                name, missing, "expected a value, the cell is empty", f"fill in column '{name}' on every row"
            )
    return values, columns


def _check_codes(chk: _Checker, name: str, column: _Column) -> pd.Series:
    """Refuse totals rows and area codes that are no CBS or grid-cell code; return each distinct code's level."""
    totals = column.uniques.str.fullmatch(TOTAL_WORDS).to_numpy(dtype=bool)
    chk.check(
        name,
        column.rows(totals),
        "an area code; this row looks like a spreadsheet's totals row, not an area",
        "remove the totals row: PulseTwin sums areas itself, and a total stored as an area would be counted twice",
    )
    levels = code_levels(column.uniques)
    chk.check(
        name,
        column.rows(levels.isna().to_numpy()),
        f"expected a CBS area code or grid-cell code such as {CODE_EXAMPLES}",
        "strip padding spaces (CBS keys are right-padded to 10 characters) and use the full code",
    )
    return levels


def _check_categories(chk: _Checker, column: _Column) -> None:
    """Refuse category values that are no lowercase slug (unknown valid slugs are accepted)."""
    ok = column.uniques.str.fullmatch(SLUG_PATTERN.pattern.strip("^$")).to_numpy(dtype=bool)
    chk.check(
        "category",
        column.rows(~ok),
        "expected a lowercase category slug (a letter, then 1-47 letters, digits or '_')",
        "map source categories to slugs like burglary_residential; new slugs such as 'overlast_jeugd' are "
        "registered automatically",
    )


def _check_periods(chk: _Checker, dates: _Column, freq: _Column | None) -> None:
    """W periods start on a Monday, M periods on the 1st; without freq either start is accepted."""
    monday = dates.rows(is_monday(dates.uniques))
    first = dates.rows(is_month_start(dates.uniques))
    if freq is None:
        chk.check(
            "period_start",
            ~dates.missing & ~monday & ~first,
            "expected a period start: a Monday (freq W) or the 1st of a month (freq M)",
            "snap each date to the start of its week or month",
        )
        return
    weekly = freq.rows((freq.uniques == "W").to_numpy()) & ~dates.missing
    if weekly.any() and is_monthly(dates.values[weekly]):
        chk.fail(
            "freq",
            weekly,
            "expected freq 'M' for monthly data: every period_start of the freq 'W' rows is the 1st of a month, "
            "so these are months; read as weeks each month's count would sit on one week",
            "set freq to M for these rows",
        )
    monthly = freq.rows((freq.uniques == "M").to_numpy()) & ~dates.missing
    if monthly.any() and is_weekly(dates.values[monthly]):
        chk.fail(
            "freq",
            monthly,
            "expected freq 'W' for weekly data: every period_start of the freq 'M' rows is a Monday, so these "
            "are weeks; snapped to months, weeks that straddle two months would count in one",
            "set freq to W for these rows",
        )
    for code, ok in ((Freq.W, monday), (Freq.M, first)):
        is_freq = freq.rows((freq.uniques == code).to_numpy())
        bad = is_freq & ~ok & ~dates.missing
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            day = pd.Timestamp(dates.values.iloc[row])
            start = pd.Timestamp(code.start(pd.DatetimeIndex([day]))[0]).date()
            chk.fail(
                "period_start",
                bad,
                f"expected {code.start_rule} for freq '{code}'; {day.date()} is a "
                f"{_WEEKDAYS[day.day_of_week]}",
                f"use the period start {start}",
            )


def _check_areas(
    chk: _Checker, values: dict[str, pd.Series], cols: dict[str, _Column], levels: pd.Series
) -> None:
    """Level matches the code prefix, parent follows from the code, names present, geometry valid in RD."""
    level = values["level"]
    chk.check(
        "level",
        ~level.isin(AREA_LEVELS).to_numpy(dtype=bool),
        f"expected one of {', '.join(AREA_LEVELS)}",
        "write the level in lowercase",
    )
    code_level = pd.Series(pd.api.extensions.take(levels.array, cols["area_code"].codes, allow_fill=True))
    mismatch = (code_level != level).to_numpy(dtype=bool)
    if mismatch.any():
        row = int(np.flatnonzero(mismatch)[0])
        chk.fail(
            "level",
            mismatch,
            f"level must match the code prefix (GM gemeente, WK wijk, BU buurt, C cell); "
            f"area_code {values['area_code'].iloc[row]} is a {code_level.iloc[row]}",
            f"set level to '{code_level.iloc[row]}' or fix area_code",
        )
    _check_parents(chk, values, code_level)
    chk.check(
        "name",
        (values["name"].isna() & (code_level != "cell")).to_numpy(dtype=bool),
        "expected the area's name (only grid cells may have an empty name)",
        "fill in the CBS name of the gemeente, wijk or buurt",
    )
    missing = cols["geometry"].missing
    if missing.all():
        return  # a list of named areas without boundaries (see pulsetwin.schema.geometry)
    chk.check(
        "geometry",
        missing,
        "expected a geometry on every row once any row has one (or on none: areas listed by name only)",
        "fill in the geometry of every area, or leave the column empty on every row",
    )
    _check_geometry(chk, cols["geometry"])


def _check_parents(chk: _Checker, values: dict[str, pd.Series], code_level: pd.Series) -> None:
    """Gemeenten have no parent; wijken their gemeente; buurten their wijk or gemeente; cells any CBS code."""
    parent = values["parent_code"].fillna("")
    wijk, gemeente = ancestor_codes(values["area_code"])
    parent_level = code_levels(parent)
    empty = (parent == "").to_numpy(dtype=bool)
    is_gemeente = (parent == gemeente).to_numpy(dtype=bool)
    ok = np.select(
        [(code_level == level).to_numpy(dtype=bool) for level in ("gemeente", "wijk", "buurt")],
        [empty, is_gemeente, is_gemeente | (parent == wijk).to_numpy(dtype=bool)],
        default=empty | parent_level.isin(["gemeente", "wijk", "buurt"]).to_numpy(dtype=bool),
    ).astype(bool)
    if not ok.all():
        row = int(np.flatnonzero(~ok)[0])
        want = {
            "gemeente": "empty",
            "wijk": f"'{gemeente.iloc[row]}'",
            "buurt": f"'{wijk.iloc[row]}' (its wijk) or '{gemeente.iloc[row]}'",
        }.get(str(code_level.iloc[row]), "empty or a gemeente/wijk/buurt code")
        chk.fail(
            "parent_code",
            ~ok,
            f"parent_code must follow from area_code {values['area_code'].iloc[row]}: expected {want}",
            f"set parent_code to {want}",
        )


def _check_geometry(chk: _Checker, column: _Column) -> None:
    """Every geometry parses as WKT, is not empty and lies inside the Netherlands in EPSG:28992."""
    geoms = shapely.from_wkt(column.uniques.to_numpy(dtype=object), on_invalid="ignore")
    unparsed = np.array([g is None for g in geoms], dtype=bool)
    chk.check(
        "geometry", column.rows(unparsed), "expected WKT geometry, e.g. POLYGON ((...))", "export as WKT"
    )
    chk.check(
        "geometry", column.rows(shapely.is_empty(geoms)), "expected a non-empty geometry", "fix the geometry"
    )
    bounds = shapely.bounds(geoms)
    inside = (
        (bounds[:, 0] >= RD_X_RANGE[0])
        & (bounds[:, 2] <= RD_X_RANGE[1])
        & (bounds[:, 1] >= RD_Y_RANGE[0])
        & (bounds[:, 3] <= RD_Y_RANGE[1])
    )
    chk.check("geometry", column.rows(~inside), *_outside_rd(chk, f"within x {RD_X_RANGE}, y {RD_Y_RANGE}"))


def _outside_rd(chk: _Checker, bounds: str) -> tuple[str, str]:
    """What was expected and the fix, for coordinates outside the RD New bounds (with or without --crs)."""
    if chk.crs is None:
        return (
            f"expected coordinates in EPSG:28992 (RD New) {bounds}; the file declares no CRS, and these "
            "coordinates are not RD New",
            "declare the file's CRS with --crs EPSG:NNNN (e.g. --crs EPSG:4326 for longitude/latitude) so it is "
            "reprojected to EPSG:28992 on import",
        )
    return (
        f"coordinates inside the Netherlands after reprojecting from {chk.crs} to EPSG:28992 ({bounds})",
        f"check that --crs {chk.crs} is the CRS the file is really in (x = easting or longitude)",
    )


def _reproject(chk: _Checker, values: dict[str, pd.Series], cols: dict[str, _Column]) -> None:
    """Reproject x/y and WKT geometry from the declared CRS to RD New, in place (nothing to do for RD New)."""
    if chk.crs is None:
        return
    where = f"file '{chk.file}'" if chk.file else "input"
    if "x" in values and "y" in values:
        x, y = to_rd(values["x"].to_numpy(), values["y"].to_numpy(), chk.crs, where=where)
        values["x"], values["y"] = pd.Series(x), pd.Series(y)
    if "geometry" in cols:
        column = cols["geometry"]
        geoms = shapely.from_wkt(column.uniques.to_numpy(dtype=object), on_invalid="ignore")
        wkt = shapely.to_wkt(
            geometries_to_rd(geoms, chk.crs, where=where), rounding_precision=WKT_DECIMALS, trim=True,
            output_dimension=2,
        )  # fmt: skip
        parsed = np.array([g is not None for g in geoms], dtype=bool)
        uniques = column.uniques.where(~parsed, pd.Series(wkt, dtype="str"))
        cols["geometry"] = _Column(_take(uniques, column.codes).astype("str"), column.codes, uniques)
        values["geometry"] = cols["geometry"].values


def _check_numbers(
    chk: _Checker, spec: TableSpec, values: dict[str, pd.Series], cols: dict[str, _Column]
) -> None:
    """Non-negative integers, plausible years, non-negative intensities, ordered quantiles, RD coordinates."""
    for name, kind in spec.columns:
        if kind == "int" and name in cols:
            negative = cols[name].rows((cols[name].uniques < 0).to_numpy())
            chk.check(
                name, negative, "expected a non-negative integer", "counts cannot be negative; fix the value"
            )
            if name == "year":
                off = (cols[name].uniques < YEAR_RANGE[0]) | (cols[name].uniques > YEAR_RANGE[1])
                chk.check(
                    name, cols[name].rows(off.to_numpy()), f"expected a year in {YEAR_RANGE}", "fix the year"
                )
        if name in NON_NEGATIVE_FLOATS and name in values:
            chk.check(name, (values[name] < 0).to_numpy(), "expected a non-negative value", "fix the value")
    if spec.name == "forecasts":
        q05, q50, q95 = values["q05"], values["q50"], values["q95"]
        chk.check("q50", (q05 > q50).to_numpy(), "expected q05 <= q50", "sort the quantiles")
        chk.check("q95", (q50 > q95).to_numpy(), "expected q50 <= q95", "sort the quantiles")
    for name, (low, high) in (("x", RD_X_RANGE), ("y", RD_Y_RANGE)):
        if name in values:
            outside = ~((values[name] >= low) & (values[name] <= high)).to_numpy()
            chk.check(name, outside, *_outside_rd(chk, f"{name} in [{low:.0f}, {high:.0f}] metres"))


def _key_codes(spec: TableSpec, cols: dict[str, _Column]) -> np.ndarray:
    """One int64 per row identifying its key: mixed-radix digits of the key columns' value codes.

    Codes are taken from the canonical distinct values (so '2023' and '2023.0' are one year); the running
    code is re-factorized only when the radix product would overflow int64.
    """
    combined = np.zeros(len(cols[spec.key[0]].codes), dtype=np.int64)
    radix = 1
    for name in spec.key:
        column = cols[name]
        # Distinct values already canonical (a million event ids): the codes are the digits. Asking whether
        # they repeat costs half of factorizing them again.
        if column.uniques.is_unique:
            digit, base = column.codes + 1, len(column.uniques) + 1
        else:
            canonical, distinct = pd.factorize(column.uniques)
            digit, base = np.append(canonical, -1)[column.codes] + 1, len(distinct) + 1
        if radix * base >= 2**62:
            combined, seen = pd.factorize(combined)
            radix = len(seen)
        combined = combined * base + digit
        radix *= base
    return combined


def _check_keys(
    chk: _Checker, spec: TableSpec, values: dict[str, pd.Series], cols: dict[str, _Column]
) -> None:
    """Refuse repeated keys within the frame, listing up to MAX_LISTED of them with their rows."""
    if not spec.key or len(values[spec.key[0]]) == 0:
        return
    combined = _key_codes(spec, cols)
    ordered = np.sort(combined)
    if not (ordered[1:] == ordered[:-1]).any():
        return
    repeated = pd.Series(combined).duplicated(keep="first").to_numpy()
    if not repeated.any():
        return
    repeat_keys = pd.unique(combined[repeated])
    listed = []
    for key in repeat_keys[:MAX_LISTED]:
        rows = np.flatnonzero(combined == key)
        first = int(rows[0])
        parts = ", ".join(str(values[c].iloc[first]).removesuffix(" 00:00:00") for c in spec.key)
        listed.append(f"({parts}) at rows {', '.join(str(r + 1) for r in rows[:5])}")
    more = f" and {len(repeat_keys) - MAX_LISTED} more" if len(repeat_keys) > MAX_LISTED else ""
    chk.fail(
        None,
        None,
        f"table '{spec.name}': key ({', '.join(spec.key)}) must be unique within a file; "
        f"{len(repeat_keys)} key(s) repeat: {'; '.join(listed)}{more}",
        "keep one row per key (sum or deduplicate at the source)",
    )


def validate_table(
    table: str,
    frame: pd.DataFrame,
    *,
    file: str | None = None,
    crs: str | None = None,
    allow_withheld: bool = True,
) -> pd.DataFrame:
    """Check ``frame`` against canonical table ``table`` and return a normalised copy.

    Parameters
    ----------
    table
        Canonical table name (see :data:`pulsetwin.schema.tables.TABLES`).
    frame
        Text (CSV read with ``dtype=str``) or typed columns, in any order. Never mutated.
    file
        Name of the source file, quoted in error messages.
    crs
        The declared CRS of x/y and WKT geometry (``EPSG:4326``...): reprojected to EPSG:28992. Without it the
        coordinates must already lie inside the RD New bounds.
    allow_withheld
        Whether ``incidents.count`` may be empty (withheld by the source). File imports pass False unless the
        user says so: an empty cell there is far more often a broken export than a secret value.

    Returns
    -------
    pandas.DataFrame
        Canonical column order and dtypes: dates datetime64[ns], integers int64 (``incidents.count``:
        nullable Int64), floats float64, text str; ``areas.parent_code``/``log.prev_hash`` use '' for empty.
        Optional columns get their default (``truth.freq`` inferred from the dates,
        ``offence_intensity`` NaN).

    Raises
    ------
    SchemaError
        On the first problem, naming file, 1-based row, column, value, the rule and the fix.
    """
    if not isinstance(frame, pd.DataFrame):
        raise ParameterTypeError(
            "The 'frame' parameter of validate_table must be a pandas DataFrame. "
            f"Got {type(frame).__name__} instead."
        )
    spec = table_spec(table)
    _check_columns(spec, frame, file)
    frame = frame.reset_index(drop=True)
    chk = _Checker(spec.name, frame, file, withheld=allow_withheld, crs=crs)
    values, cols = _convert(chk, spec, frame)
    _reproject(chk, values, cols)
    levels = _check_codes(chk, "area_code", cols["area_code"]) if "area_code" in cols else None
    if "category" in cols:
        _check_categories(chk, cols["category"])
    if "freq" in cols:
        chk.check(
            "freq",
            cols["freq"].rows(~cols["freq"].uniques.isin(FREQS).to_numpy()),
            "expected freq 'W' (weekly) or 'M' (monthly)",
            "write W or M",
        )
    if spec.name == "truth" and "freq" not in values:
        values["freq"] = _inferred_freq(chk, cols["period_start"])
        cols["freq"] = _text(chk, "freq", values["freq"])
    if "period_start" in cols:
        _check_periods(chk, cols["period_start"], cols.get("freq"))
    _check_numbers(chk, spec, values, cols)
    if spec.name == "areas" and levels is not None:
        _check_areas(chk, values, cols, levels)
    _check_keys(chk, spec, values, cols)
    return _assemble(spec, values)


def _inferred_freq(chk: _Checker, dates: _Column) -> pd.Series:
    """The truth table's freq when the file has none: W for all-Monday dates, M for all month starts."""
    freq = infer_freq(dates.uniques) if len(dates.uniques) else Freq.W
    if freq is None:
        chk.fail(
            "period_start",
            None,
            "cannot infer freq: period_start dates must be all Mondays (W) or all 1sts of a month (M), "
            "and not both",
            "add a 'freq' column with W or M",
        )
    return pd.Series([freq] * len(dates.values), dtype="str")


def _assemble(spec: TableSpec, values: dict[str, pd.Series]) -> pd.DataFrame:
    """Build the output frame in canonical order with canonical dtypes and defaults."""
    length = len(next(iter(values.values())))
    out: dict[str, pd.Series] = {}
    for name, kind in spec.columns:
        series = values.get(name, pd.Series(np.full(length, np.nan)))
        if kind == "int":
            series = series.astype("Int64") if (spec.name, name) in NULLABLE else series.astype("int64")
        elif kind == "float":
            series = series.astype("float64")
        elif kind in ("str", "wkt", "json"):
            series = series.astype("str")
            if (spec.name, name) in NULLABLE:
                series = series.fillna("")
        out[name] = series.reset_index(drop=True)
    return pd.DataFrame(out, columns=list(spec.column_names))


def new_categories(frame: pd.DataFrame) -> set[str]:
    """Category slugs in ``frame`` that are not in the vocabulary (for the store to register).

    A frame without a ``category`` column has none.
    """
    if "category" not in frame.columns:
        return set()
    found = pd.unique(frame["category"].dropna())
    return {str(c) for c in found if str(c) not in BY_SLUG}
