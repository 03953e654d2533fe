"""Carry series across boundary years with a mapping file ``old_code,new_code,weight``.

File format (CSV, header required)::

    old_code,new_code,weight
    BU09170101,BU09170111,0.6     # 60 % of old buurt 0101 lies in new buurt 0111
    BU09170101,BU09170112,0.4
    BU09170205,BU09170207,1       # a renamed buurt

Weights are the share of the old area's quantity that goes to the new area (e.g. by addresses or population);
the weights of one ``old_code`` must sum to 1. Codes absent from the file are kept as they are when they exist
in the target boundary year (``target_codes``) and reported as unmappable otherwise.

Counts (incidents) are split with largest-remainder apportionment so they stay whole numbers and every old
total is preserved exactly; a withheld (missing) count stays missing in every new area it feeds. Covariates:
extensive variables (counts such as inhabitants) are split and summed by weight; intensive ones (densities,
means, shares) are copied only where a new area receives from exactly one old area, otherwise reported.

Notes
-----
Largest-remainder (Hamilton) apportionment: Balinski & Young (1982), *Fair Representation*.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from pulsetwin.exceptions import Location, SchemaError
from pulsetwin.schema.codes import code_levels
from pulsetwin.schema.tables import AREA_LEVELS

COLUMNS: Final = ("old_code", "new_code", "weight")
TOLERANCE: Final = 1e-6


@dataclass(frozen=True)
class BoundaryReport:
    """What could not be carried over, for the analyst to resolve."""

    unmapped_codes: tuple[str, ...] = ()
    unmapped_rows: int = 0
    intensive_not_mapped: tuple[tuple[str, str], ...] = field(default=())

    @property
    def complete(self) -> bool:
        """True when every row was carried over."""
        return not self.unmapped_rows and not self.intensive_not_mapped


def load_boundary_map(path: Path) -> pd.DataFrame:
    """Read and check a mapping file; SchemaError names the file, row, column and value."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, comment="#", skipinitialspace=True)
    raw.columns = [str(c).strip() for c in raw.columns]
    file = str(path)
    if tuple(raw.columns) != COLUMNS:
        raise SchemaError(
            f"the header {','.join(COLUMNS)}; found {','.join(raw.columns)}",
            where=Location(file=file),
            fix="write the columns old_code,new_code,weight",
        )
    frame = raw.apply(lambda s: s.str.strip())
    for column in ("old_code", "new_code"):
        bad = ~code_levels(frame[column]).isin(AREA_LEVELS).to_numpy()
        if bad.any():
            raise _row_error(file, frame, bad, column, "a CBS area or grid-cell code", "correct the code")
    weight = pd.to_numeric(frame["weight"], errors="coerce")
    bad = (weight.isna() | (weight <= 0) | (weight > 1 + TOLERANCE)).to_numpy()
    if bad.any():
        raise _row_error(file, frame, bad, "weight", "a share in (0, 1]", "correct the weight")
    frame["weight"] = weight.astype("float64")
    if frame.duplicated(["old_code", "new_code"]).any():
        dup = frame.duplicated(["old_code", "new_code"]).to_numpy()
        raise _row_error(file, frame, dup, "new_code", "one row per old_code and new_code", "merge the rows")
    sums = frame.groupby("old_code")["weight"].transform("sum")
    off = (sums - 1).abs().gt(TOLERANCE).to_numpy()
    if off.any():
        raise _row_error(
            file, frame, off, "weight", f"weights of one old_code summing to 1 (sum {sums[off].iloc[0]:g})",
            "rescale the weights of this old_code",
        )  # fmt: skip
    return frame[list(COLUMNS)].reset_index(drop=True)


def remap_incidents(
    incidents: pd.DataFrame, mapping: pd.DataFrame, *, target_codes: set[str] | None = None
) -> tuple[pd.DataFrame, BoundaryReport]:
    """Incidents on old codes carried to new codes (whole counts, totals preserved); unmappable rows reported.

    Rows whose code is in ``mapping`` are split; others are kept when ``target_codes`` is None or holds
    them, and dropped into the report otherwise.
    """
    keys = ["period_start", "freq", "category", "source"]
    mapped, kept, report = _split(incidents, mapping, target_codes)
    if len(mapped):
        counts = mapped["count"].astype("Float64")
        exact = counts.to_numpy(dtype="float64", na_value=np.nan) * mapped["weight"].to_numpy()
        base = np.floor(exact)
        remainder = exact - base
        group = mapped.groupby(["area_code", *keys], sort=False, dropna=False).ngroup().to_numpy()
        totals = pd.Series(counts.to_numpy(dtype="float64", na_value=np.nan))
        shortfall = totals - pd.Series(base).groupby(group).transform("sum")
        # rank remainders per old row (ties by new code); the top ones get one extra unit
        order = pd.DataFrame({"g": group, "r": -remainder, "c": mapped["new_code"].to_numpy()})
        rank = order.sort_values(["g", "r", "c"]).groupby("g").cumcount().reindex(order.index).to_numpy()
        share = base + (rank < shortfall.to_numpy())
        mapped = mapped.assign(area_code=mapped["new_code"], count=pd.array(share, dtype="Float64"))
        mapped["count"] = mapped["count"].mask(counts.isna().to_numpy())
    combined = pd.concat([kept, mapped[incidents.columns]], ignore_index=True)
    combined = combined.assign(withheld=combined["count"].isna())
    out = combined.groupby(["area_code", *keys], as_index=False, sort=True, dropna=False).agg(
        count=("count", "sum"), withheld=("withheld", "any")
    )
    out["count"] = out["count"].astype("Int64").mask(out["withheld"])
    return out[list(incidents.columns)], report


def remap_covariates(
    covariates: pd.DataFrame,
    mapping: pd.DataFrame,
    *,
    extensive: set[str],
    target_codes: set[str] | None = None,
) -> tuple[pd.DataFrame, BoundaryReport]:
    """Covariates carried to new codes: ``extensive`` variables by weighted sums; intensive ones copied only
    where one old area feeds the new one (the rest is listed in the report)."""
    mapped, kept, report = _split(covariates, mapping, target_codes)
    mapped = mapped.assign(area_code=mapped["new_code"])
    is_ext = mapped["variable"].isin(extensive)
    ext = mapped[is_ext].assign(value=lambda f: f["value"] * f["weight"])
    ext = ext.groupby(["area_code", "year", "variable"], as_index=False).agg(value=("value", "sum"))
    intensive = mapped[~is_ext]
    feeders = intensive.groupby(["area_code", "year", "variable"])["old_code"].transform("nunique")
    single = intensive[feeders.eq(1).to_numpy()]
    lost = intensive[feeders.gt(1).to_numpy()][["area_code", "variable"]].drop_duplicates()
    columns = list(covariates.columns)
    out = pd.concat([kept[columns], ext[columns], single[columns]], ignore_index=True)
    out = out.sort_values(["area_code", "year", "variable"]).reset_index(drop=True)
    report = BoundaryReport(
        report.unmapped_codes,
        report.unmapped_rows,
        tuple(sorted(map(tuple, lost.to_numpy(dtype=str).tolist()))),  # type: ignore[arg-type]
    )
    return out, report


def _split(
    frame: pd.DataFrame, mapping: pd.DataFrame, target_codes: set[str] | None
) -> tuple[pd.DataFrame, pd.DataFrame, BoundaryReport]:
    """Rows to remap (joined to their weights), rows kept as they are, and the unmappable ones reported."""
    in_map = frame["area_code"].isin(set(mapping["old_code"]))
    mapped = frame[in_map].merge(mapping, left_on="area_code", right_on="old_code", how="inner")
    rest = frame[~in_map]
    ok = (
        rest["area_code"].isin(target_codes)
        if target_codes is not None
        else pd.Series(True, index=rest.index)
    )
    lost = rest.loc[~ok, "area_code"]
    report = BoundaryReport(tuple(sorted(set(lost))), len(lost))
    return mapped, rest[ok], report


def _row_error(
    file: str, frame: pd.DataFrame, mask: np.ndarray, column: str, expected: str, fix: str
) -> SchemaError:
    row = int(np.flatnonzero(mask)[0])
    return SchemaError(
        expected,
        where=Location(file=file, row=row + 1, column=column, value=frame[column].iloc[row]),
        fix=fix,
    )
