"""A corpus of municipal-style files that can be read with the wrong meaning, and what each one means.

Files are made the way a municipal office makes them: monthly counts of nuisance reports per buurt with Dutch
column names, a semicolon CSV with decimal commas, the same table saved by Excel (Windows-1252, UTF-8 with a
byte-order mark, UTF-16 "Unicode text"), workbooks with a notes sheet, weekly counts, one row per report. Each
case pairs a file with a mapping (right or wrong) and the expected outcome: read with its true meaning (the
stored rows, freq and total are known), or refused naming the file and the fix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

CODES = tuple(f"BU091701{i:02d}" for i in range(1, 7))
NAMES = ("Oude Kërk", "Zuid", "Noord", "Café Plein", "Heksenberg", "Meezenbroek")
MONTHS = pd.date_range("2023-01-01", periods=12, freq="MS")
WEEKS = pd.date_range("2024-01-01", periods=10, freq="W-MON")
CATEGORY = "youth_nuisance"


def _square(i: int) -> str:
    x0, y0 = 190000 + 1000 * i, 320000
    return f"POLYGON (({x0} {y0}, {x0 + 1000} {y0}, {x0 + 1000} {y0 + 1000}, {x0} {y0 + 1000}, {x0} {y0}))"


AREAS = pd.DataFrame(
    {
        "area_code": list(CODES),
        "name": list(NAMES),
        "level": "buurt",
        "parent_code": "WK091701",
        "geometry": [_square(i) for i in range(len(CODES))],
    }
)


def monthly() -> pd.DataFrame:
    """Monthly report counts per buurt (some 0), with the Dutch column names of a municipal export."""
    rows = [
        {"buurtcode": code, "buurtnaam": NAMES[b], "maand": month, "aantal": (3 * b + 5 * m) % 11}
        for b, code in enumerate(CODES)
        for m, month in enumerate(MONTHS)
    ]
    return pd.DataFrame(rows)


def weekly() -> pd.DataFrame:
    """Weekly report counts per buurt, dated by the Monday of the week."""
    rows = [
        {"buurtcode": code, "week": week, "aantal": (2 * b + 7 * w) % 5}
        for b, code in enumerate(CODES)
        for w, week in enumerate(WEEKS)
    ]
    return pd.DataFrame(rows)


def reports() -> pd.DataFrame:
    """One row per report on single days in January-February 2024, with a Dutch category column."""
    days = pd.date_range("2024-01-02", "2024-02-27", freq="D")
    rows = [
        {
            "buurtcode": CODES[i % len(CODES)],
            "gemeld_op": day,
            "soort": ("Jeugdoverlast", "Overlast café")[i % 2],
        }
        for i, day in enumerate(days[::2])
    ]
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Expected:
    """A file read with its true meaning: stored rows, their freq and the total count of its source."""

    rows: int
    freq: str
    total: int
    note: str | None = None


@dataclass(frozen=True)
class Refused:
    """A refusal: the message names the file and holds ``fix`` (the fix) and every text of ``names``."""

    fix: str
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Case:
    """One corpus file, how it is imported, and what must happen."""

    name: str
    write: Callable[[Path], None]
    args: tuple[str, ...]
    outcome: Expected | Refused
    mapping: str | None = None
    setup: tuple[tuple[str, ...], ...] = field(default=())


MAPPING = (
    "source: {source}\n{freq}area: {{column: buurtcode}}\ndate: {{column: {date}{format}}}\n"
    "category: {{value: youth_nuisance}}\ncount: {{column: aantal}}\n{read}"
)


def mapping(
    *,
    freq: str | None,
    date: str = "maand",
    fmt: str | None = None,
    read: str = "",
    source: str = "gemeente:overlast",
) -> str:
    """A YAML mapping of the monthly/weekly count files."""
    return MAPPING.format(
        source=source,
        freq="" if freq is None else f"freq: {freq}\n",
        date=date,
        format="" if fmt is None else f', format: "{fmt}"',
        read=f"read: {{{read}}}\n" if read else "",
    )


REPORTS_MAPPING = (
    "source: gemeente:meldingen\n{freq}area: {{column: buurtcode}}\n"
    'date: {{column: gemeld_op, format: "%d-%m-%Y"}}\n'
    "category: {{column: soort, map: {{Jeugdoverlast: youth_nuisance, 'Overlast café': public_space_reports}}}}\n"
    "{read}"
)


def reports_mapping(freq: str | None, read: str = "") -> str:
    """A YAML mapping of the one-row-per-report file (every row counts one)."""
    return REPORTS_MAPPING.format(
        freq="" if freq is None else f"freq: {freq}\n", read=f"read: {{{read}}}\n" if read else ""
    )


def _text(frame: pd.DataFrame, *, sep: str, date: str, fmt: str, decimal: bool = False) -> str:
    """The frame as CSV text with dates in ``fmt`` and, with ``decimal``, counts written as ``3,0``."""
    out = frame.copy()
    out[date] = out[date].dt.strftime(fmt)
    if "aantal" in out and decimal:
        out["aantal"] = out["aantal"].map(lambda n: f"{n},0")
    return out.to_csv(sep=sep, index=False, lineterminator="\r\n")


def csv(
    frame: Callable[[], pd.DataFrame],
    *,
    sep: str = ",",
    date: str = "maand",
    fmt: str = "%Y-%m-%d",
    encoding: str = "utf-8",
    decimal: bool = False,
    edit: Callable[[str], str] | None = None,
) -> Callable[[Path], None]:
    """A writer of ``frame`` as CSV in an encoding (``utf-8-sig``: with BOM; ``utf-16``: with BOM)."""

    def write(path: Path) -> None:
        text = _text(frame(), sep=sep, date=date, fmt=fmt, decimal=decimal)
        path.write_bytes((edit or str)(text).encode(encoding))

    return write


def excel(
    frame: Callable[[], pd.DataFrame], sheets: tuple[str, ...] = ("Blad1",), data: int = 0
) -> Callable[[Path], None]:
    """A workbook with ``frame`` (real Excel dates) on sheet ``sheets[data]`` and a notes sheet on the others."""

    def write(path: Path) -> None:
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            for i, sheet in enumerate(sheets):
                content = (
                    frame() if i == data else pd.DataFrame({"toelichting": ["Bron: wijkteams", "Peildatum"]})
                )
                content.to_excel(writer, sheet_name=sheet, index=False)

    return write


def parquet(frame: Callable[[], pd.DataFrame]) -> Callable[[Path], None]:
    """``frame`` as Parquet (dates as timestamps)."""

    def write(path: Path) -> None:
        frame().to_parquet(path, index=False)

    return write


def canonical(freq: str, dates: pd.DatetimeIndex, source: str = "gemeente:canon") -> Callable[[Path], None]:
    """A canonical incidents CSV with the given freq column over ``dates``."""

    def write(path: Path) -> None:
        rows = [
            f"{code},{day:%Y-%m-%d},{freq},{CATEGORY},{(b + d) % 4},{source}"
            for b, code in enumerate(CODES)
            for d, day in enumerate(dates)
        ]
        path.write_text(
            "area_code,period_start,freq,category,count,source\n" + "\n".join(rows) + "\n", encoding="utf-8"
        )

    return write


def areas_csv(encoding: str, sep: str = ",") -> Callable[[Path], None]:
    """The buurten table as canonical areas CSV, saved by Excel in ``encoding``."""

    def write(path: Path) -> None:
        path.write_bytes(AREAS.to_csv(sep=sep, index=False, lineterminator="\r\n").encode(encoding))

    return write


def _month_total() -> int:
    return int(monthly()["aantal"].sum())


def _week_total() -> int:
    return int(weekly()["aantal"].sum())


def _reports_rows(freq: str) -> int:
    """Stored rows of the reports file: every buurt x period x category over the file's span."""
    days = reports()["gemeld_op"]
    step = "W-MON" if freq == "W" else "MS"
    first = (
        days.min() - pd.to_timedelta(days.min().day_of_week, unit="D")
        if freq == "W"
        else days.min().replace(day=1)
    )
    periods = len(pd.date_range(first, days.max(), freq=step))
    return len(CODES) * periods * 2


MONTH_ROWS = len(CODES) * len(MONTHS)
WEEK_ROWS = len(CODES) * len(WEEKS)
REPORTS = len(reports())
MAPPED = "import-mapped"


def _imp(file: str, *extra: str) -> tuple[str, ...]:
    return (MAPPED, file, "--mapping", "{mapping}", *extra)


def _thousands(text: str) -> str:
    """One count written with a thousands separator, as Excel does for 1234 in a Dutch locale."""
    lines = text.split("\r\n")
    head, *rest = lines
    fields = rest[0].split(";")
    fields[-1] = "1.234"
    return "\r\n".join([head, ";".join(fields), *rest[1:]])


M_TOTAL, W_TOTAL = _month_total(), _week_total()
MONTHLY = Expected(MONTH_ROWS, "M", M_TOTAL)
REFUSE_W = Refused("freq: M", ("freq: W",))

CASES: tuple[Case, ...] = (
    # monthly counts: ISO dates on the 1st
    Case("m_iso.csv", csv(monthly), _imp("m_iso.csv"), MONTHLY, mapping(freq="M")),
    Case("m_iso_as_w.csv", csv(monthly), _imp("m_iso_as_w.csv"), REFUSE_W, mapping(freq="W")),
    Case(
        "m_iso_nofreq.csv",
        csv(monthly),
        _imp("m_iso_nofreq.csv"),
        Expected(MONTH_ROWS, "M", M_TOTAL, "freq M inferred"),
        mapping(freq=None),
    ),
    # monthly counts with a date format without a day (Excel's mm-jjjj), semicolon, Dutch decimals
    Case(
        "m_mY_as_w.csv",
        csv(monthly, sep=";", fmt="%m-%Y"),
        _imp("m_mY_as_w.csv"),
        Refused("freq: M", ("has no day",)),
        mapping(freq="W", fmt="%m-%Y"),
    ),
    Case(
        "m_mY.csv",
        csv(monthly, sep=";", fmt="%m-%Y"),
        _imp("m_mY.csv"),
        MONTHLY,
        mapping(freq="M", fmt="%m-%Y"),
    ),
    Case(
        "m_mY_nofreq.csv",
        csv(monthly, sep=";", fmt="%m-%Y"),
        _imp("m_mY_nofreq.csv"),
        Expected(MONTH_ROWS, "M", M_TOTAL, "has no day"),
        mapping(freq=None, fmt="%m-%Y"),
    ),
    Case(
        "m_decimal_comma.csv",
        csv(monthly, sep=";", fmt="%d-%m-%Y", decimal=True),
        _imp("m_decimal_comma.csv"),
        MONTHLY,
        mapping(freq="M", fmt="%d-%m-%Y"),
    ),
    Case(
        "m_decimal_as_w.csv",
        csv(monthly, sep=";", fmt="%d-%m-%Y", decimal=True),
        _imp("m_decimal_as_w.csv"),
        REFUSE_W,
        mapping(freq="W", fmt="%d-%m-%Y"),
    ),
    Case(
        "m_decimal_point.csv",
        csv(monthly, decimal=False),
        _imp("m_decimal_point.csv"),
        MONTHLY,
        mapping(freq="M", read='decimal: "."'),
    ),
    Case(
        "m_thousands.csv",
        csv(monthly, sep=";", edit=_thousands),
        _imp("m_thousands.csv"),
        Refused("read.decimal", ("1.234",)),
        mapping(freq="M"),
    ),
    # encodings of the same table as Excel saves it
    Case(
        "m_cp1252.csv",
        csv(monthly, sep=";", encoding="cp1252"),
        _imp("m_cp1252.csv"),
        Expected(MONTH_ROWS, "M", M_TOTAL, "Windows-1252"),
        mapping(freq="M"),
    ),
    Case(
        "m_cp1252_as_w.csv",
        csv(monthly, sep=";", encoding="cp1252"),
        _imp("m_cp1252_as_w.csv"),
        REFUSE_W,
        mapping(freq="W"),
    ),
    Case(
        "m_cp1252_declared_utf8.csv",
        csv(monthly, sep=";", encoding="cp1252"),
        _imp("m_cp1252_declared_utf8.csv"),
        Refused("encoding", ("0xEB",)),
        mapping(freq="M", read="encoding: utf-8"),
    ),
    Case(
        "m_cp1252_declared.csv",
        csv(monthly, sep=";", encoding="cp1252"),
        _imp("m_cp1252_declared.csv"),
        MONTHLY,
        mapping(freq="M", read="encoding: cp1252"),
    ),
    Case(
        "m_utf8_bom.csv",
        csv(monthly, sep=";", encoding="utf-8-sig"),
        _imp("m_utf8_bom.csv"),
        MONTHLY,
        mapping(freq="M"),
    ),
    Case(
        "m_utf16.csv",
        csv(monthly, sep="\t", encoding="utf-16"),
        _imp("m_utf16.csv"),
        Expected(MONTH_ROWS, "M", M_TOTAL, "UTF-16"),
        mapping(freq="M", read='delimiter: "\\t"'),
    ),
    Case(
        "m_utf16_as_w.csv",
        csv(monthly, sep="\t", encoding="utf-16"),
        _imp("m_utf16_as_w.csv"),
        REFUSE_W,
        mapping(freq="W", read='delimiter: "\\t"'),
    ),
    # workbooks
    Case("m.xlsx", excel(monthly), _imp("m.xlsx"), MONTHLY, mapping(freq="M")),
    Case("m_as_w.xlsx", excel(monthly), _imp("m_as_w.xlsx"), REFUSE_W, mapping(freq="W")),
    Case(
        "m_sheets.xlsx",
        excel(monthly, ("Toelichting", "Data"), 1),
        _imp("m_sheets.xlsx"),
        MONTHLY,
        mapping(freq="M", read="sheet: Data"),
    ),
    Case(
        "m_sheets_blad1.xlsx",
        excel(monthly, ("Toelichting", "Data"), 1),
        _imp("m_sheets_blad1.xlsx"),
        Refused("read.sheet", ("'Blad1'", "'Toelichting', 'Data'")),
        mapping(freq="M", read="sheet: Blad1"),
    ),
    Case(
        "m_sheets_unnamed.xlsx",
        excel(monthly, ("Toelichting", "Data"), 1),
        _imp("m_sheets_unnamed.xlsx"),
        Refused("read: {sheet:", ("'Toelichting', 'Data'",)),
        mapping(freq="M"),
    ),
    Case("m.parquet", parquet(monthly), _imp("m.parquet"), MONTHLY, mapping(freq="M")),
    Case("m_as_w.parquet", parquet(monthly), _imp("m_as_w.parquet"), REFUSE_W, mapping(freq="W")),
    # the same counts again under another source: a copy, unless it is a different measurement
    Case(
        "m_copy.xlsx",
        excel(monthly),
        _imp("m_copy.xlsx"),
        Refused("--also-source", ("'gemeente:overlast'",)),
        mapping(freq="M", source="gemeente:overlast-excel"),
        setup=((MAPPED, "m_first.csv", "--mapping", "{first}"),),
    ),
    Case(
        "m_also.xlsx",
        excel(monthly),
        _imp("m_also.xlsx", "--also-source"),
        MONTHLY,
        mapping(freq="M", source="gemeente:overlast-excel"),
        setup=((MAPPED, "m_first.csv", "--mapping", "{first}"),),
    ),
    # weekly counts dated by their Monday
    Case(
        "w_iso.csv",
        csv(weekly, date="week"),
        _imp("w_iso.csv"),
        Expected(WEEK_ROWS, "W", W_TOTAL),
        mapping(freq="W", date="week"),
    ),
    Case(
        "w_iso_as_m.csv",
        csv(weekly, date="week"),
        _imp("w_iso_as_m.csv"),
        Refused("freq: W", ("Mondays",)),
        mapping(freq="M", date="week"),
    ),
    Case(
        "w_nofreq.csv",
        csv(weekly, sep=";", date="week", fmt="%d-%m-%Y"),
        _imp("w_nofreq.csv"),
        Expected(WEEK_ROWS, "W", W_TOTAL, "freq W inferred"),
        mapping(freq=None, date="week", fmt="%d-%m-%Y"),
    ),
    Case(
        "w.xlsx",
        excel(weekly),
        _imp("w.xlsx"),
        Expected(WEEK_ROWS, "W", W_TOTAL),
        mapping(freq="W", date="week"),
    ),
    # one row per report on single days
    Case(
        "d_reports_w.csv",
        csv(reports, sep=";", date="gemeld_op", fmt="%d-%m-%Y", encoding="cp1252"),
        _imp("d_reports_w.csv"),
        Expected(_reports_rows("W"), "W", REPORTS),
        reports_mapping("W"),
    ),
    Case(
        "d_reports_m.csv",
        csv(reports, sep=";", date="gemeld_op", fmt="%d-%m-%Y", encoding="cp1252"),
        _imp("d_reports_m.csv"),
        Expected(_reports_rows("M"), "M", REPORTS),
        reports_mapping("M"),
    ),
    Case(
        "d_reports_nofreq.csv",
        csv(reports, sep=";", date="gemeld_op", fmt="%d-%m-%Y"),
        _imp("d_reports_nofreq.csv"),
        Refused("freq: W", ("single days",)),
        reports_mapping(None),
    ),
    Case(
        "d_reports_utf16.csv",
        csv(reports, sep="\t", date="gemeld_op", fmt="%d-%m-%Y", encoding="utf-16"),
        _imp("d_reports_utf16.csv"),
        Expected(_reports_rows("W"), "W", REPORTS),
        reports_mapping("W"),
    ),
    # canonical incidents files: a freq column that contradicts the dates
    Case(
        "inc_months_as_w.csv",
        canonical("W", MONTHS),
        ("import", "incidents", "inc_months_as_w.csv"),
        Refused("set freq to M", ("freq 'M'",)),
    ),
    Case(
        "inc_mondays_on_1sts_as_w.csv",
        canonical("W", pd.DatetimeIndex(["2024-01-01", "2024-04-01", "2024-07-01"])),
        ("import", "incidents", "inc_mondays_on_1sts_as_w.csv"),
        Refused("set freq to M", ("freq 'M'",)),
    ),
    Case(
        "inc_weeks_as_m.csv",
        canonical("M", WEEKS),
        ("import", "incidents", "inc_weeks_as_m.csv"),
        Refused("set freq to W", ("freq 'W'",)),
    ),
    Case(
        "inc_months.csv",
        canonical("M", MONTHS),
        ("import", "incidents", "inc_months.csv"),
        Expected(MONTH_ROWS, "M", sum((b + d) % 4 for b in range(6) for d in range(12))),
    ),
    Case(
        "inc_weeks.csv",
        canonical("W", WEEKS),
        ("import", "incidents", "inc_weeks.csv"),
        Expected(WEEK_ROWS, "W", sum((b + d) % 4 for b in range(6) for d in range(10))),
    ),
)
"""Every corpus case."""

AREAS_CASES: tuple[tuple[str, Callable[[Path], None]], ...] = (
    ("areas_cp1252.csv", areas_csv("cp1252")),
    ("areas_utf8_bom.csv", areas_csv("utf-8-sig")),
    ("areas_utf16.csv", areas_csv("utf-16")),
    ("areas_semicolon_cp1252.csv", areas_csv("cp1252", sep=";")),
)
"""The buurten table saved by Excel in several encodings: each must import with 'Oude Kërk' intact."""

FIRST_MAPPING = mapping(freq="M")
"""The mapping of ``m_first.csv``, the source that the copy cases duplicate."""
WRITE_FIRST = csv(monthly)
