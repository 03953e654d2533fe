"""Checks on converted values: category slugs, period starts per freq, non-negative counts, plausible years,
ordered quantiles, RD coordinates and unique keys within a file.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from pulsetwin.schema.area_checks import RD_X_RANGE, RD_Y_RANGE, outside_rd
from pulsetwin.schema.categories import SLUG_PATTERN
from pulsetwin.schema.checker import CodedColumn, RowChecker
from pulsetwin.schema.periods import Freq, is_monday, is_month_start, is_monthly, is_weekly
from pulsetwin.schema.tables import TableSpec

YEAR_RANGE: Final = (1900, 2100)
NON_NEGATIVE_FLOATS: Final = frozenset({"intensity", "offence_intensity", "mean", "q05", "q50", "q95"})
MAX_LISTED: Final = 10
_WEEKDAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def check_categories(chk: RowChecker, column: CodedColumn) -> None:
    """Refuse category values that are no lowercase slug (unknown valid slugs are accepted)."""
    ok = column.uniques.str.fullmatch(SLUG_PATTERN.pattern.strip("^$")).to_numpy(dtype=bool)
    chk.check(
        "category",
        column.rows(~ok),
        "expected a lowercase category slug (a letter, then 1-47 letters, digits or '_')",
        "map source categories to slugs like burglary_residential; new slugs such as 'overlast_jeugd' are "
        "registered automatically",
    )


def check_periods(chk: RowChecker, dates: CodedColumn, freq: CodedColumn | None) -> None:
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


def check_numbers(
    chk: RowChecker, spec: TableSpec, values: dict[str, pd.Series], cols: dict[str, CodedColumn]
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
            chk.check(name, outside, *outside_rd(chk, f"{name} in [{low:.0f}, {high:.0f}] metres"))


def _key_codes(spec: TableSpec, cols: dict[str, CodedColumn]) -> np.ndarray:
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


def check_keys(
    chk: RowChecker, spec: TableSpec, values: dict[str, pd.Series], cols: dict[str, CodedColumn]
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
