"""The PII guard: refuse person-level data before anything is stored.

PulseTwin handles places, never persons. :func:`guard_personal_data` inspects every column by NAME (e.g.
``bsn``, ``voornaam``, ``geboortedatum``, ``email``, ``telefoon``, ``kenteken``, ``adres``, ``foto``) and by
CONTENT (BSNs, person names, birth dates, e-mail addresses, phone numbers, licence plates, street addresses,
free text, image/audio/video/biometric payloads) and raises
:class:`~pulsetwin.exceptions.PersonalDataError` for the first column that holds any. It writes nothing.

Content rules work on the distinct values of a column (vectorised ``.str`` regexes, cheap pre-filters), so
ten-million-row frames are checked in seconds. Specific patterns (e-mail, formatted phone number, dashed
licence plate, street + house number, data URI, media magic bytes, long prose) refuse a column on a single
hit. Ambiguous patterns are decided per column, by the share of distinct values that match:

- BSN: a column is refused when at least half its values are 8- or 9-digit numbers (8 digits: a leading
  zero lost in a spreadsheet) and more than half of those pass the BSN 11-check (weights 9..2 and -1 for
  the last digit; sum divisible by 11 and not 0) with at least ``BSN_MIN_VALID`` passing values. Random
  identifiers pass with probability about 1/11, so a passing majority does not happen by chance.
- Person names ("Jan de Vries", "J.P. Jansen", "Vries, Jan de", "Mohammed El Amrani": a known given name or
  initials, optional tussenvoegsels, a surname): refused when at least ``NAME_SHARE`` of the distinct values
  look like names. Area names ("Heerlen-Centrum", "Meezenbroek en Schaesbergveld") do not start with a given
  name; a street-like ending ("Jan van Galenstraat") is a place, not a person.
- Bare given names ("Anna", "Pieter"): refused when ``GIVEN_NAME_SHARE`` of 3+ distinct values are.
- Bare 10-digit phone numbers and dash-less plates: refused when ``WEAK_SHARE`` of the values match.
- Birth dates: a date column whose name mentions a person (``verdachte``, ``client``, ``person``...) with
  ``WEAK_SHARE`` of its dates in a plausible birth range (1900 to 10 years ago).

Column-level shares cannot catch ONE person planted among many harmless values, so every text value is also
checked on its own (in :mod:`~pulsetwin.schema.pii_content`), in every column:

- a 9-digit number (also written ``1234.56.782``) passing the BSN 11-check anywhere in a value, unless the
  column mostly holds 8/9-digit numbers (then the share rule above decides: numeric ids pass by chance);
- a value that is a person's name as a whole ("Jan de Vries", "J.P. Jansen") or holds one ("melder Pieter
  Jansen": a capitalised given name + surname), unless the name is a place ("Jan van Galenstraat", "Sint Jan
  Centrum", "Anna Paulowna": see ``PLACE_ENDING``);
- a date after a birth word ("geboren 12-03-1985", "dob: 1985-03-12"); and, in canonical label columns
  (``source``, ``variable``, ``name``, ``event_id``...: text that is never a date), a value that is a date in
  the plausible birth range.

UUIDs, hashes and plain identifiers (``pol-20230000001``: see ``PLAIN_ID``) skip the content rules: their
digits are random, not phone numbers or BSNs, and skipping them keeps id columns of millions of distinct
values fast. With ``table`` given, values longer than the column's limit are refused first (as a SchemaError naming row,
column and length, never echoing the value).

Float columns are not inspected by content (they hold measures, not names); integer columns only for BSNs.

This module runs the guard; the column-name rules live in :mod:`~pulsetwin.schema.pii_column_names`, the
patterns in :mod:`~pulsetwin.schema.pii_patterns`, the content rules and their thresholds in
:mod:`~pulsetwin.schema.pii_content`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from pulsetwin.exceptions import Location, PersonalDataError
from pulsetwin.schema.checker import factorize_column, refuse_overlong
from pulsetwin.schema.pii_column_names import PERSON_TOKENS, column_tokens, name_finding
from pulsetwin.schema.pii_content import (
    WEAK_SHARE,
    bsn_column,
    plain_values,
    plausible_birth,
    single_bsns,
    text_findings,
)
from pulsetwin.schema.tables import TABLES

FIX: Final = (
    "PulseTwin stores places, never persons: drop the column, or aggregate to counts per area and period "
    "before import"
)
LABEL_KINDS: Final = frozenset({"str"})
"""Logical types of canonical label columns: text that is never a date, a number or a geometry."""


@dataclass(frozen=True)
class _Text:
    """Distinct text values of a column and the per-row codes into them (-1: missing or not text)."""

    codes: np.ndarray
    values: pd.Series

    def first_row(self, hits: np.ndarray) -> int | None:
        """0-based first row whose value is a hit."""
        rows = np.flatnonzero(np.append(hits, False)[self.codes])
        return int(rows[0]) if len(rows) else None


def _mask(value: object) -> str:
    """Show only the first two characters of an offending value."""
    return f"{str(value)[:2]}***"


def _refuse(column: str, kind: str, why: str, series: pd.Series, row: int | None, file: str | None) -> None:
    """Raise the PersonalDataError for one column."""
    value = _mask(series.iloc[row]) if row is not None else None
    raise PersonalDataError(
        f"person-level data refused: column '{column}' holds {kind} ({why})",
        where=Location(file=file, row=None if row is None else row + 1, column=column, value=value),
        fix=FIX,
    )


def _birth_dates(series: pd.Series, column: str) -> np.ndarray | None:
    """Per-row hits when a person-named column holds mostly plausible birth dates, else None."""
    if not PERSON_TOKENS.intersection(column_tokens(column)):
        return None
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        dates = pd.Series(series.to_numpy(), dtype="datetime64[ns]") if series.dt.tz is None else series
    else:
        text = series.astype("str")
        dates = pd.to_datetime(text, format="ISO8601", errors="coerce")
        dates = dates.fillna(pd.to_datetime(text, format="%d-%m-%Y", errors="coerce"))
    dates = pd.Series(pd.DatetimeIndex(dates).tz_localize(None), dtype="datetime64[ns]")
    present = series.notna().to_numpy()
    plausible = plausible_birth(dates).to_numpy()
    if present.sum() and plausible.sum() >= WEAK_SHARE * present.sum():
        return plausible
    return None


def _as_text(series: pd.Series, column: str, file: str | None) -> _Text | None:
    """Distinct text values of a string-like column; refuse bytes and array cells; None when not text."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    try:
        codes, uniques = factorize_column(series)
    except TypeError:  # unhashable cells: lists or arrays (e.g. embeddings)
        nested = series.map(lambda v: isinstance(v, list | tuple | dict | set | np.ndarray)).to_numpy(
            dtype=bool
        )
        _refuse(
            column,
            "an image, audio, video or biometric payload",
            "array-valued cells (e.g. an embedding)",
            series,
            int(np.flatnonzero(nested)[0]),
            file,
        )
        return None
    kind = pd.api.types.infer_dtype(uniques, skipna=True)
    if kind not in ("string", "empty"):
        binary = np.array([isinstance(u, bytes | bytearray | memoryview) for u in uniques], dtype=bool)
        if binary.any():
            row = int(np.flatnonzero(np.append(binary, False)[codes])[0])
            _refuse(
                column,
                "an image, audio, video or biometric payload",
                "binary (bytes) cells",
                series,
                row,
                file,
            )
        is_text = np.array([isinstance(u, str) for u in uniques], dtype=bool)
        remap = np.where(is_text, np.cumsum(is_text) - 1, -1)
        codes = np.append(remap, -1)[codes]
        uniques = uniques[is_text]
    return _Text(np.asarray(codes, dtype=np.int64), pd.Series(uniques, dtype="str"))


def _integers(series: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """(per-row values, missing mask) of an integer column, or of the integer cells of an object column."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return None
    if pd.api.types.is_integer_dtype(series.dtype):
        missing = series.isna().to_numpy()
        return series.to_numpy(dtype=np.int64, na_value=-1), missing
    return None


def guard_personal_data(frame: pd.DataFrame, *, file: str | None = None, table: str | None = None) -> None:
    """Refuse person-level data by column name and content; return None when the frame is clean.

    Parameters
    ----------
    frame
        Any frame about to be imported (canonical or raw source columns, text or typed).
    file
        Source file name, quoted in the error.
    table
        The canonical table the frame is for, when it is one: its label columns (``str``) get the birth-date
        rule, and over-long values are refused by their column's limit.

    Raises
    ------
    PersonalDataError
        Naming the column, the first offending row (1-based) and value (masked) and why it was refused.
    SchemaError
        When ``table`` is given and a value is longer than its column allows.
    """
    kinds = TABLES[table].types if table in TABLES else {}
    for column in frame.columns:
        kind = name_finding(str(column))
        if kind is not None:
            series = frame[column].reset_index(drop=True)
            present = np.flatnonzero(series.notna().to_numpy())
            row = int(present[0]) if len(present) else None
            _refuse(str(column), kind, "by its column name", series, row, file)
    for column in frame.columns:
        series = frame[column].reset_index(drop=True)
        name = str(column)
        births = None
        if not pd.api.types.is_float_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
            births = _birth_dates(series, name)
        if births is not None:
            _refuse(
                name,
                "birth dates",
                "plausible birth dates in a person field",
                series,
                int(np.flatnonzero(births)[0]),
                file,
            )
        integers = _integers(series)
        if integers is not None:
            numbers, missing = integers
            distinct, codes = np.unique(numbers[~missing], return_inverse=True)
            hits = bsn_column(distinct, len(distinct))
            if hits is None and kinds.get(name, "str") == "str":
                hits = single_bsns(distinct)
            if hits is not None:
                row = int(np.flatnonzero(~missing)[np.flatnonzero(hits[codes])[0]])
                _refuse(name, "BSNs", "most 8/9-digit values pass the BSN 11-check", series, row, file)
            continue
        if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_datetime64_any_dtype(series.dtype):
            continue
        text = _as_text(series, name, file)
        if text is None or len(text.values) == 0:
            continue
        lengths = text.values.str.len().to_numpy(dtype=np.int64)
        refuse_overlong(table, name, lengths, text.codes, file=file)
        check = np.flatnonzero(~plain_values(text.values, lengths, kinds.get(name)))
        if len(check) == 0:
            continue
        subset = (
            text.values if len(check) == len(text.values) else text.values.iloc[check].reset_index(drop=True)
        )
        finding = text_findings(subset, name, label=kinds.get(name) in LABEL_KINDS)
        if finding is not None:
            kind, why, hits = finding
            found = np.zeros(len(text.values), dtype=bool)
            found[check] = hits
            _refuse(name, kind, why, series, text.first_row(found), file)
