"""Columns as distinct values with per-row codes, and the checker that points an error at the first bad row.

Validation checks each distinct value of a column once and maps the verdict back to rows through integer
codes (:class:`CodedColumn`); :class:`RowChecker` turns a row mask into a
:class:`~pulsetwin.exceptions.SchemaError` naming file, 1-based row, column, value, the rule and the fix. The
header and text-length refusals that file readers share live here too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, NoReturn

import numpy as np
import pandas as pd

from pulsetwin.exceptions import Location, SchemaError
from pulsetwin.schema.tables import TABLES

MAX_CHARS: Final = {"str": 500, "int": 20, "float": 40, "date": 40, "timestamp": 40}
"""Longest text accepted per logical type (WKT and JSON unbounded): a longer cell is no value but an accident
(a shifted column, a pasted document), refused before any parsing."""
SAMPLE_ROWS: Final = 100_000


@dataclass(frozen=True)
class CodedColumn:
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


class RowChecker:
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


def distinct_values(chk: RowChecker, name: str, raw: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Factorize a column into per-row codes and distinct values; refuse unhashable cells."""
    try:
        codes, uniques = factorize_column(raw)
    except TypeError:
        nested = raw.map(lambda v: isinstance(v, list | tuple | dict | set | np.ndarray)).to_numpy(dtype=bool)
        chk.fail(name, nested, "expected a single value per cell, got a list or array", "flatten the column")
    return codes, uniques


def require_text(chk: RowChecker, name: str, codes: np.ndarray, uniques: pd.Index, what: str) -> pd.Series:
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


def drop_blank(codes: np.ndarray, text: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Treat empty or whitespace-only text as missing (code -1)."""
    blank = (text.str.strip() == "").to_numpy(dtype=bool)
    if not blank.any():
        return codes, text
    new_index = np.cumsum(~blank) - 1
    keep = np.append(~blank, False)[codes]
    return np.where(keep, np.append(new_index, -1)[codes], -1), text[~blank].reset_index(drop=True)


def expand_codes(uniques: pd.Series, codes: np.ndarray) -> pd.Series:
    """Rebuild a full column from distinct values and codes (missing where the code is -1)."""
    return pd.Series(pd.api.extensions.take(uniques.array, codes, allow_fill=True))
