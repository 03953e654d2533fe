"""Read a mapped file as it is (CSV, Parquet or Excel), with the reader settings of its mapping.

CSV: the encoding is detected unless named and the delimiter taken from the header; Excel: a workbook with
several sheets needs the sheet named. What was detected is returned as notes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pandas as pd

from pulsetwin.exceptions import Location, SchemaError
from pulsetwin.store.textfile import read_text

READERS: Final = (".csv", ".parquet", ".xlsx")
DELIMITERS: Final = (",", ";", "\t")
"""CSV delimiters recognised from the header (the most frequent wins; a tie goes to the first)."""


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
