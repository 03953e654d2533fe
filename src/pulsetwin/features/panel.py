"""Dense area x category x period panels built from canonical incidents of one frequency.

Zero-filling rule: a pair (area, category) that has at least one row is *seen*; its periods without a row
count 0 from the first period its category appears anywhere and its area has a row of any category, up to the
period before the origin (sources list only non-zero rows; an area code first listed mid-history, e.g. a buurt
re-coded by CBS, did not exist before, so its earlier periods are unknown rather than zero). Withheld counts
(missing ``count``) stay NaN, and so does every cell of a pair never seen.
Counts of several sources for one cell are summed; one withheld source makes the cell NaN (the total is
unknown). Text columns may be plain or categorical (read through their codes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pulsetwin.exceptions import Location, SchemaError
from pulsetwin.schema.periods import Freq
from pulsetwin.schema.tables import INCIDENTS


@dataclass(frozen=True)
class Panel:
    """Counts as a dense array.

    Attributes
    ----------
    areas, categories
        Sorted codes and category slugs that index axes 0 and 1.
    periods
        Consecutive period starts (axis 2), the last one just before the origin.
    counts
        float64 array (areas, categories, periods); NaN = withheld or never seen.
    seen
        bool array (areas, categories): the pair has at least one row.
    """

    areas: pd.Index
    categories: pd.Index
    periods: pd.DatetimeIndex
    counts: np.ndarray
    seen: np.ndarray

    @property
    def observed(self) -> np.ndarray:
        """bool array like ``counts``: the cell holds a known count."""
        return ~np.isnan(self.counts)


def period_index(freq: Freq, start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    """Period starts from ``start`` up to but excluding ``end``."""
    return pd.date_range(start, end, freq=Freq(freq).pandas_alias, inclusive="left").as_unit("ns")


def _fail(expected: str, frame: pd.DataFrame, bad: np.ndarray, column: str, fix: str) -> SchemaError:
    row = int(np.flatnonzero(bad)[0])
    return SchemaError(
        expected,
        where=Location(file="history.incidents", row=row + 1, column=column, value=frame[column].iloc[row]),
        fix=fix,
    )


def _check(incidents: pd.DataFrame, freq: Freq, origin: pd.Timestamp) -> np.ndarray:
    """Validate what the panel relies on and return the period starts."""
    missing = [c for c in INCIDENTS.column_names if c not in incidents.columns]
    if missing:
        raise SchemaError(
            f"incidents must have the columns {', '.join(INCIDENTS.column_names)}; "
            f"missing {', '.join(missing)}",
            where=Location(file="history.incidents"),
            fix="pass canonical incidents (validate_table('incidents', ...))",
        )
    bad = (incidents["freq"] != freq).to_numpy(dtype=bool)
    if bad.any():
        raise _fail(
            f"every row must have freq '{freq}' (the history's freq)",
            incidents,
            bad,
            "freq",
            "filter incidents to one frequency before building a History",
        )
    starts = pd.to_datetime(incidents["period_start"]).to_numpy(dtype="datetime64[ns]")
    stamps = pd.DatetimeIndex(pd.unique(starts))
    aligned = Freq(freq).is_start(stamps)
    if not aligned.all():
        raise _fail(
            f"period_start must be {Freq(freq).start_rule} for freq '{freq}'",
            incidents,
            np.isin(starts, stamps[~np.asarray(aligned)].to_numpy()),
            "period_start",
            "use canonical period starts",
        )
    late = starts >= origin.to_datetime64()
    if late.any():
        raise _fail(
            f"period_start must be before the origin {origin.date()}",
            incidents,
            late,
            "period_start",
            "give the model only incidents of periods strictly before the origin",
        )
    negative = (pd.to_numeric(incidents["count"], errors="raise") < 0).to_numpy(dtype=bool, na_value=False)
    if negative.any():
        raise _fail(
            "count must be >= 0 (or missing when withheld)",
            incidents,
            negative,
            "count",
            "correct or withhold the negative count",
        )
    return starts


def _codes(incidents: pd.DataFrame, column: str) -> tuple[np.ndarray, pd.Index]:
    """Integer codes of a text column into its sorted distinct values.

    A categorical column is read through its codes (no text is materialised, which matters for the ~10 M
    rows of a national history); its unused categories are dropped.
    """
    values = incidents[column]
    if not isinstance(values.dtype, pd.CategoricalDtype):
        codes, uniques = pd.factorize(values.astype(str), sort=True)
        return codes, pd.Index(uniques, dtype=object)
    raw = values.cat.codes.to_numpy()
    if (raw < 0).any():
        raise _fail(f"{column} must not be missing", incidents, raw < 0, column, f"give every row a {column}")
    labels = values.cat.categories.astype(str)
    used = np.flatnonzero(np.bincount(raw, minlength=len(labels)))
    order = used[np.argsort(labels[used].to_numpy(dtype=object), kind="stable")]
    remap = np.empty(len(labels), dtype=np.int32)
    remap[order] = np.arange(order.size)
    return remap[raw], pd.Index(labels[order], dtype=object)


def build_panel(incidents: pd.DataFrame, freq: Freq, origin: pd.Timestamp) -> Panel:
    """Turn canonical incidents of one ``freq`` into a :class:`Panel` ending just before ``origin``.

    Raises
    ------
    SchemaError
        When a row has another freq, a misaligned or too late period start, a negative count, or when the
        frame has no rows.
    """
    if len(incidents) == 0:
        raise SchemaError(
            "incidents must hold at least one row",
            where=Location(file="history.incidents"),
            fix="give the model a non-empty history",
        )
    starts = _check(incidents, freq, origin)
    area_codes, areas = _codes(incidents, "area_code")
    cat_codes, categories = _codes(incidents, "category")
    periods = period_index(freq, pd.Timestamp(starts.min()), origin)
    n_a, n_c, n_t = len(areas), len(categories), len(periods)
    # One flat cell index per row, built in place: a national history has ~10 M rows, so every temporary
    # array of that length costs ~100 MB.
    flat = area_codes.astype(np.int64)
    del area_codes
    flat *= n_c
    flat += cat_codes
    del cat_codes
    flat *= n_t
    flat += periods.searchsorted(starts)
    size = n_a * n_c * n_t
    counts = pd.to_numeric(incidents["count"]).to_numpy(dtype="float64", na_value=np.nan)
    withheld = np.isnan(counts)
    if withheld.any():
        total = np.bincount(flat, weights=np.where(withheld, 0.0, counts), minlength=size)
        total[np.bincount(flat[withheld], minlength=size) > 0] = np.nan
    else:
        total = np.bincount(flat, weights=counts, minlength=size)
    del counts, withheld
    has_row = np.bincount(flat, minlength=size).reshape(n_a, n_c, n_t) > 0
    del flat
    cube = total.reshape(n_a, n_c, n_t)
    seen = np.asarray(has_row.any(axis=2))
    before_category = np.cumsum(has_row.any(axis=0), axis=1) == 0
    before_area = np.cumsum(has_row.any(axis=1), axis=1) == 0
    cube[~seen] = np.nan
    cube[:, before_category] = np.nan
    cube.transpose(0, 2, 1)[before_area] = np.nan
    return Panel(
        areas=pd.Index(areas, dtype=object),
        categories=pd.Index(categories, dtype=object),
        periods=periods,
        counts=cube,
        seen=seen,
    )
