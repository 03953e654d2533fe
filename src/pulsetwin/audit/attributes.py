"""Per-area audit inputs: one protected attribute of one year (respecting the CBS 2022/2023 origin break),
covariates by name (the roles' names: :mod:`pulsetwin.schema.variables`).

CBS changed its origin classification in 2023 (``westers``/``niet-westers`` up to 2022, ``herkomst`` with
Nederland / Europa / buiten Europa from 2023). An audit grouping therefore always reads one attribute of one
year: values are never filled in from another year, so the two definitions can never be mixed in one grouping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from pulsetwin.exceptions import Location, SchemaError

BREAK_YEAR = 2023
DEFINITION_OLD = "CBS migratieachtergrond westers/niet-westers (t/m 2022)"
DEFINITION_NEW = "CBS herkomst Nederland/Europa/buiten Europa (vanaf 2023)"
_OLD_NAMES = re.compile(r"westers", re.IGNORECASE)
_NEW_NAMES = re.compile(r"(^nederland|europa|herkomst)", re.IGNORECASE)


@dataclass(frozen=True)
class AttributeValues:
    """One attribute of one year per area, and which CBS origin definition it follows."""

    attribute: str
    year: int
    definition: str
    values: pd.Series
    missing: tuple[str, ...]


def definition_of(attribute: str, year: int) -> str:
    """The CBS origin definition an attribute of ``year`` follows; refuses names of the other definition."""
    old_name = bool(_OLD_NAMES.search(attribute))
    new_name = bool(_NEW_NAMES.search(attribute))
    if (old_name and year >= BREAK_YEAR) or (new_name and year < BREAK_YEAR):
        raise SchemaError(
            f"attribute '{attribute}' belongs to the CBS origin definition of the other side of the "
            f"{BREAK_YEAR - 1}/{BREAK_YEAR} break than its year {year}",
            where=Location(file="protected", column="attribute", value=attribute),
            fix="check the attribute name and year of the protected rows; never relabel across the break",
        )
    return DEFINITION_NEW if year >= BREAK_YEAR else DEFINITION_OLD


def audit_year(years: pd.Series, at: pd.Timestamp, table: str) -> int:
    """The latest year ``<= at.year`` present in ``years``, else the earliest one present."""
    present = sorted({int(y) for y in years.unique()})
    if not present:
        raise SchemaError(
            f"table '{table}' has no rows to audit with",
            where=Location(file=table),
            fix=f"import the {table} table (e.g. CBS Kerncijfers wijken en buurten) first",
        )
    before = [y for y in present if y <= at.year]
    return before[-1] if before else present[0]


def attribute_values(protected: pd.DataFrame, attribute: str, year: int, codes: pd.Index) -> AttributeValues:
    """The values of ``attribute`` in ``year`` for ``codes`` (areas without a value listed in ``missing``)."""
    rows = protected[(protected["attribute"] == attribute) & (protected["year"] == year)]
    if rows.empty:
        raise SchemaError(
            f"no protected values of '{attribute}' in {year}",
            where=Location(file="protected", column="attribute", value=attribute),
            fix="choose an attribute and year present in the protected table",
        )
    series = rows.set_index("area_code")["value"].astype("float64").reindex(codes)
    missing = tuple(str(c) for c in series.index[series.isna()])
    return AttributeValues(attribute, year, definition_of(attribute, year), series.dropna(), missing)


def covariate_values(covariates: pd.DataFrame, variable: str, at: pd.Timestamp, codes: pd.Index) -> pd.Series:
    """``variable`` per area in one year (the latest ``<= at.year`` that has it); missing areas are NaN."""
    rows = covariates[covariates["variable"] == variable]
    if rows.empty:
        raise SchemaError(
            f"the covariates hold no '{variable}'",
            where=Location(file="covariates", column="variable", value=variable),
            fix=f"import {variable} for the forecast areas, or name another variable in the audit policy",
        )
    year = audit_year(rows["year"], at, "covariates")
    chosen = rows[rows["year"] == year].set_index("area_code")["value"].astype("float64")
    return chosen.reindex(codes).rename(f"{variable}_{year}")
