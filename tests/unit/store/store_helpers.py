"""Helpers for store tests: small valid canonical frames and a full dump of a store file."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd


def dump_store(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every table of a DuckDB file as sorted rows, for before/after comparisons."""
    with duckdb.connect(str(path), read_only=True) as con:
        names = [
            str(n) for (n,) in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()
        ]
        return {name: sorted(con.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr) for name in names}


def incidents_frame(n_areas: int = 3, n_weeks: int = 4, *, count_offset: int = 0) -> pd.DataFrame:
    """Weekly incidents for ``n_areas`` Heerlen buurten (canonical dtypes)."""
    codes = [f"BU0917{i:04d}" for i in range(n_areas)]
    weeks = pd.date_range("2024-01-01", periods=n_weeks, freq="W-MON")
    index = pd.MultiIndex.from_product([codes, weeks], names=["area_code", "period_start"]).to_frame(
        index=False
    )
    index["freq"] = "W"
    index["category"] = "burglary_residential"
    index["count"] = (pd.RangeIndex(len(index)) % 5 + count_offset).astype("int64")
    index["source"] = "politie"
    index["period_start"] = index["period_start"].astype("datetime64[ns]")
    return index


def protected_frame() -> pd.DataFrame:
    """Two protected attribute rows."""
    return pd.DataFrame(
        {
            "area_code": ["BU09170000", "BU09170001"],
            "year": [2023, 2023],
            "attribute": ["migration_background_share", "migration_background_share"],
            "value": [0.21, 0.35],
        }
    )
