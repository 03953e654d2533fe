"""``assert_table_equal``: compare canonical tables by content, not by row order or storage dtype.

The store returns rows in key order, a backtest in model order, a CSV round trip as text columns, a compact frame
with categoricals: the same table can arrive in many shapes. Tests compare what the rows say (geopandas'
``assert_geodataframe_equal`` habit): both sides are sorted by the table's key (then by every other column, so
duplicate keys still compare deterministically), categoricals become their values, datetimes nanoseconds, and
numbers are compared with a relative tolerance.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from pulsetwin.schema.tables import table_spec


def assert_table_equal(
    left: pd.DataFrame,
    right: pd.DataFrame,
    *,
    table: str | None = None,
    keys: Sequence[str] | None = None,
    check_dtype: bool = False,
    check_column_order: bool = True,
    rtol: float = 1e-9,
) -> None:
    """Assert that ``left`` and ``right`` hold the same rows, whatever their order.

    Parameters
    ----------
    left, right
        The tables to compare.
    table
        A canonical table name (``incidents``, ``forecasts``, ...): its key orders the rows.
    keys
        Columns that order the rows (default: the table's key, else every column in ``left``'s order).
    check_dtype
        Also require identical dtypes (after categoricals are decoded).
    check_column_order
        Require the columns in the same order (else only the same set).
    rtol
        Relative tolerance of numeric columns.

    Raises
    ------
    AssertionError
        Naming the differing columns, or pandas' description of the first differing values.
    """
    missing, extra = (
        sorted(set(left.columns) - set(right.columns)),
        sorted(set(right.columns) - set(left.columns)),
    )
    assert not missing and not extra, f"columns differ: only left {missing}, only right {extra}"
    if check_column_order:
        assert list(left.columns) == list(right.columns), (
            f"column order {list(left.columns)} != {list(right.columns)}"
        )
    order = list(keys) if keys is not None else list(table_spec(table).key) if table is not None else []
    absent = [k for k in order if k not in left.columns]
    assert not absent, f"key columns {absent} are not in the tables; pass keys= naming columns they hold"
    order += [c for c in left.columns if c not in order]
    assert len(left) == len(right), f"{len(left)} rows != {len(right)} rows"
    pd.testing.assert_frame_equal(
        _canonical(left, order),
        _canonical(right[list(left.columns)], order),
        check_dtype=check_dtype,
        check_exact=False,
        rtol=rtol,
        check_categorical=False,
        check_index_type=False,
    )


def _canonical(frame: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Categoricals decoded, datetimes in nanoseconds, rows sorted by ``order``, a fresh 0..n-1 index."""
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            out[name] = column.astype(column.cat.categories.dtype)
        elif pd.api.types.is_datetime64_any_dtype(column.dtype):
            out[name] = column.astype("datetime64[ns]")
    return out.sort_values(order, kind="stable", na_position="last").reset_index(drop=True)
