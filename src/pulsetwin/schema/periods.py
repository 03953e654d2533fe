"""Dates, timestamps and periods: strict ISO parsing, the :class:`Freq` of a period and its calendar rules.

A weekly period (``W``) starts on a Monday, a monthly period (``M``) on the 1st of the month. Every rule that
differs by period length (alignment, pandas offset, periods per year, default horizon and folds, words) is an
attribute of :class:`Freq`; a ``freq`` from outside (command line, API, YAML, file) is parsed once with
:meth:`Freq.parse`, which refuses anything else by name. Dates are ISO
``YYYY-MM-DD``; timestamps are ISO 8601 local time without an offset (``YYYY-MM-DDTHH:MM[:SS[.fff]]``, a space
instead of ``T`` and a bare date, meaning midnight, are accepted too). Parsers take text values (usually the
distinct values of a column) and return the parsed values plus a mask of values that failed, so callers can
point at the offending row.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pulsetwin.exceptions import bad_parameter

DATE_PATTERN: Final = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
TIMESTAMP_PATTERN: Final = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?)?"
)
OFFSET_PATTERN: Final = r".*(?:Z|[+-][0-9]{2}:?[0-9]{2})"


@dataclass(frozen=True)
class Calendar:
    """The calendar rules of one period length.

    Attributes
    ----------
    pandas_alias
        The pandas offset alias whose dates are the period starts (``W-MON``, ``MS``).
    start_rule
        Where a period starts, in words for messages (``a Monday``).
    periods_per_year
        One season: the default minimum training length, the seasonal naive lag.
    default_horizon, default_folds
        Periods ahead and rolling origins when none are given: about a month in weeks (4, 3 folds), a quarter
        in months (3, 4 folds, so the origins span a year of seasons).
    words
        The plural in English (``weeks``).
    units
        The singular per language (``week``/``week``, ``month``/``maand``).
    """

    pandas_alias: str
    start_rule: str
    periods_per_year: int
    default_horizon: int
    default_folds: int
    words: str
    units: dict[str, str]


class Freq(StrEnum):
    """The period length of incidents and forecasts: ``W`` (weeks from Monday) or ``M`` (calendar months).

    A member equals its letter (``Freq.W == "W"``), so it is stored, written to JSON and compared as the
    letter; every per-length rule is an attribute (``Freq.M.periods_per_year == 12``).
    """

    W = "W"
    M = "M"

    @classmethod
    def parse(cls, value: object, owner: str = "pulsetwin") -> Freq:
        """``value`` as a Freq; anything but ``W``, ``M`` (or a member) is refused with the choices.

        ``owner`` names who received it (a command, a function, a file) in the message.
        """
        if isinstance(value, str) and value in _CALENDARS:
            return cls(value)
        raise bad_parameter("freq", owner, "'W' (weeks from Monday) or 'M' (months)", value)

    @property
    def calendar(self) -> Calendar:
        """The calendar rules of this period length."""
        return _CALENDARS[self.value]

    @property
    def pandas_alias(self) -> str:
        """The pandas offset alias of the period starts (``W-MON``, ``MS``)."""
        return self.calendar.pandas_alias

    @property
    def start_rule(self) -> str:
        """Where a period starts, in words (``a Monday``, ``the 1st of a month``)."""
        return self.calendar.start_rule

    @property
    def periods_per_year(self) -> int:
        """52 weeks or 12 months: one season."""
        return self.calendar.periods_per_year

    @property
    def default_horizon(self) -> int:
        """Periods ahead when none is given (4 weeks, 3 months)."""
        return self.calendar.default_horizon

    @property
    def default_folds(self) -> int:
        """Rolling origins when none are given (3 in weeks, 4 in months)."""
        return self.calendar.default_folds

    @property
    def words(self) -> str:
        """``weeks`` or ``months``."""
        return self.calendar.words

    def unit(self, lang: str = "en") -> str:
        """One period in ``lang`` (``en``, ``nl``): week/week, month/maand."""
        return self.calendar.units[lang]

    @property
    def offset(self) -> pd.DateOffset:
        """One period as a calendar offset (a week, a month)."""
        return pd.DateOffset(weeks=1) if self is Freq.W else pd.DateOffset(months=1)

    def is_start(self, dates: pd.Series | pd.DatetimeIndex) -> np.ndarray:
        """True where a date starts a period (a Monday, the 1st of a month)."""
        return is_monday(dates) if self is Freq.W else is_month_start(dates)

    def start(self, dates: pd.Series | pd.DatetimeIndex) -> pd.DatetimeIndex:
        """Snap each date (or timestamp) to the start of its period."""
        return week_start(dates) if self is Freq.W else month_start(dates)

    def periods(self, first: pd.Timestamp, count: int) -> pd.DatetimeIndex:
        """``count`` period starts from ``first`` on."""
        return pd.date_range(first, periods=count, freq=self.pandas_alias)

    def periods_between(self, first: pd.Timestamp, last: pd.Timestamp) -> int:
        """Number of periods from the period starting ``first`` to the one starting ``last``, inclusive."""
        if self is Freq.W:
            return int((last - first).days // 7) + 1
        return (last.year - first.year) * 12 + last.month - first.month + 1


_CALENDARS: Final[dict[str, Calendar]] = {
    "W": Calendar("W-MON", "a Monday", 52, 4, 3, "weeks", {"en": "week", "nl": "week"}),
    "M": Calendar("MS", "the 1st of a month", 12, 3, 4, "months", {"en": "month", "nl": "maand"}),
}


def _as_text(values: pd.Series | pd.Index) -> pd.Series:
    """Text values as a str Series with a fresh RangeIndex (str input is taken as is, not via Python objects)."""
    if values.dtype == "str":
        return pd.Series(values.array, dtype="str")
    return pd.Series(np.asarray(values, dtype=object), dtype="str")


def _in_ns_range(parsed: pd.Series) -> pd.Series:
    """``parsed`` as datetime64[ns], NaT where a value lies outside what nanoseconds can hold (1677-2262)."""
    inside = parsed.isna() | ((parsed >= pd.Timestamp.min) & (parsed <= pd.Timestamp.max))
    return parsed.where(inside).astype("datetime64[ns]")


def parse_dates(values: pd.Series | pd.Index) -> tuple[pd.Series, np.ndarray]:
    """Parse ISO ``YYYY-MM-DD`` text into datetime64[ns].

    Returns
    -------
    (dates, bad)
        ``dates`` with NaT where parsing failed and ``bad``, a boolean array marking text that is not an ISO
        calendar date (wrong shape or impossible day such as 2023-02-30). Missing values are not ``bad``.
    """
    text = _as_text(values)
    missing = text.isna().to_numpy()
    shaped = text.str.fullmatch(DATE_PATTERN).fillna(False).to_numpy(dtype=bool)
    parsed = _in_ns_range(pd.to_datetime(text.where(shaped), format="%Y-%m-%d", errors="coerce"))
    bad = ~missing & parsed.isna().to_numpy()
    return parsed, bad


def parse_timestamps(values: pd.Series | pd.Index) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Parse ISO 8601 local timestamps (no offset) into datetime64[ns].

    Returns
    -------
    (timestamps, bad, has_offset)
        ``bad`` marks text that is no ISO timestamp (wrong shape, impossible day or time, outside 1677-2262),
        ``has_offset`` the subset that carries a UTC offset or ``Z`` (refused: convert to local time first so
        all timestamps share one clock).

    Notes
    -----
    When every value has the ISO shape, Arrow's cast parses the whole column in C++ (an order of magnitude
    faster than pandas on a million distinct timestamps). The cast is all or nothing: it fails on any value it
    cannot read (an impossible day, out of range), and then pandas parses value by value to find the bad ones.
    Both accept the same strings within :data:`TIMESTAMP_PATTERN` with the same instants (tested).
    """
    text = _as_text(values)
    missing = text.isna().to_numpy()
    shaped = text.str.fullmatch(TIMESTAMP_PATTERN).fillna(False).to_numpy(dtype=bool)
    if (shaped | missing).all():
        try:
            cast = pc.cast(pa.array(text.array), pa.timestamp("ns"))
            none = np.zeros(len(text), dtype=bool)
            return pd.Series(cast.to_pandas(), dtype="datetime64[ns]"), none, none.copy()
        except pa.ArrowInvalid:
            pass  # some value is unreadable: find which, value by value, below
    parsed = _in_ns_range(pd.to_datetime(text.where(shaped), format="ISO8601", errors="coerce"))
    bad = ~missing & parsed.isna().to_numpy()
    has_offset = bad & text.str.fullmatch(OFFSET_PATTERN).fillna(False).to_numpy(dtype=bool)
    return parsed, bad, has_offset


def is_monday(dates: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """True where the date is a Monday (the start of a ``W`` period)."""
    return np.asarray(pd.DatetimeIndex(dates).day_of_week == 0)


def is_month_start(dates: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """True where the date is the 1st of a month (the start of an ``M`` period)."""
    return np.asarray(pd.DatetimeIndex(dates).day == 1)


def is_midnight(stamps: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """True where a timestamp has no time-of-day part (a plain date)."""
    index = pd.DatetimeIndex(stamps)
    return np.asarray(index == index.normalize())


def week_start(dates: pd.Series | pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Snap each date (or timestamp) to the Monday that starts its week."""
    index = pd.DatetimeIndex(dates).normalize()
    return pd.DatetimeIndex((index - pd.to_timedelta(index.day_of_week, unit="D")).astype("datetime64[ns]"))


def month_start(dates: pd.Series | pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Snap each date (or timestamp) to the 1st of its month."""
    index = pd.DatetimeIndex(dates).normalize()
    return pd.DatetimeIndex((index - pd.to_timedelta(index.day - 1, unit="D")).astype("datetime64[ns]"))


def infer_freq(dates: pd.Series | pd.DatetimeIndex) -> Freq | None:
    """``W`` when every date is a Monday, ``M`` when every date is a 1st, None when neither or both hold."""
    monday = bool(is_monday(dates).all())
    first = bool(is_month_start(dates).all())
    if monday == first:
        return None
    return Freq.W if monday else Freq.M


def is_monthly(dates: pd.Series | pd.DatetimeIndex) -> bool:
    """True when the dates name months: at least two distinct dates, every one the 1st of a month.

    Weekly periods cannot all start on a 1st (two weeks apart at most one does in a month), so such dates under
    ``W`` are monthly data that would put each month's total on one week.
    """
    distinct = pd.DatetimeIndex(dates).dropna().unique()
    return len(distinct) >= 2 and bool(is_month_start(distinct).all())


def is_weekly(dates: pd.Series | pd.DatetimeIndex) -> bool:
    """True when the dates name weeks: at least three distinct dates, all Mondays, not all the 1st of a month."""
    distinct = pd.DatetimeIndex(dates).dropna().unique()
    return len(distinct) >= 3 and bool(is_monday(distinct).all()) and not is_monthly(distinct)
