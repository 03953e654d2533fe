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

This module runs the steps; each lives in its own module: column conversions in
:mod:`~pulsetwin.schema.converters`, code, area and geometry checks in :mod:`~pulsetwin.schema.area_checks`,
value, period and key checks in :mod:`~pulsetwin.schema.row_checks`, the row-pointing checker in
:mod:`~pulsetwin.schema.checker`.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from pulsetwin.exceptions import Location, ParameterTypeError, SchemaError
from pulsetwin.schema.area_checks import check_areas, check_codes, reproject
from pulsetwin.schema.categories import BY_SLUG
from pulsetwin.schema.checker import CodedColumn, RowChecker, refuse_duplicate_columns
from pulsetwin.schema.converters import (
    datetime_column,
    float_column,
    integer_column,
    json_column,
    text_column,
)
from pulsetwin.schema.periods import Freq, infer_freq
from pulsetwin.schema.row_checks import check_categories, check_keys, check_numbers, check_periods
from pulsetwin.schema.tables import FORECAST_LABELS, FORECASTS, FREQS, TableSpec, table_spec

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
    chk: RowChecker, spec: TableSpec, frame: pd.DataFrame
) -> tuple[dict[str, pd.Series], dict[str, CodedColumn]]:
    """Convert every present column to its canonical dtype; refuse missing cells where not allowed."""
    values: dict[str, pd.Series] = {}
    columns: dict[str, CodedColumn] = {}
    for name, kind in spec.columns:
        if name not in frame.columns:
            continue
        raw = frame[name]
        if kind == "float":
            values[name] = float_column(chk, name, raw)
            missing = values[name].isna().to_numpy()
        else:
            if kind in ("str", "wkt"):
                column = text_column(chk, name, raw)
            elif kind == "json":
                column = json_column(chk, name, raw)
            elif kind in ("date", "timestamp"):
                column = datetime_column(chk, name, raw, kind)
            else:
                column = integer_column(chk, name, raw)
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
    chk = RowChecker(spec.name, frame, file, withheld=allow_withheld, crs=crs)
    values, cols = _convert(chk, spec, frame)
    reproject(chk, values, cols)
    levels = check_codes(chk, "area_code", cols["area_code"]) if "area_code" in cols else None
    if "category" in cols:
        check_categories(chk, cols["category"])
    if "freq" in cols:
        chk.check(
            "freq",
            cols["freq"].rows(~cols["freq"].uniques.isin(FREQS).to_numpy()),
            "expected freq 'W' (weekly) or 'M' (monthly)",
            "write W or M",
        )
    if spec.name == "truth" and "freq" not in values:
        values["freq"] = _inferred_freq(chk, cols["period_start"])
        cols["freq"] = text_column(chk, "freq", values["freq"])
    if "period_start" in cols:
        check_periods(chk, cols["period_start"], cols.get("freq"))
    check_numbers(chk, spec, values, cols)
    if spec.name == "areas" and levels is not None:
        check_areas(chk, values, cols, levels)
    check_keys(chk, spec, values, cols)
    return _assemble(spec, values)


def _inferred_freq(chk: RowChecker, dates: CodedColumn) -> pd.Series:
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
