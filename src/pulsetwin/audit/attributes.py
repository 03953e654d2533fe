"""Per-area audit inputs: one protected attribute of one year (respecting the CBS 2022/2023 origin break),
covariates by name (the roles' names: :mod:`pulsetwin.schema.variables`).

CBS changed its origin classification in 2023 (``westers``/``niet-westers`` up to 2022, ``herkomst`` with
Nederland / Europa / buiten Europa from 2023). The CBS connector stores the two under different attribute
names whose suffix names the definition (:data:`pulsetwin.schema.variables.ORIGIN_ATTRIBUTES`: ``_2019def`` /
``_2023def``); those names, and only those, carry a CBS definition here, and one read on the wrong side of the
break is refused. Any other attribute (a municipality's own ``share_non_dutch``, the twin's
``migration_background_share``) follows its supplier's definition and is labelled so. An audit grouping
always reads one attribute of one year: values are never filled in from another year, so two definitions can
never be mixed in one grouping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pandas as pd

from pulsetwin.exceptions import Location, SchemaError
from pulsetwin.schema.variables import ORIGIN_ATTRIBUTES

BREAK_YEAR = 2023
DEFINITION_OLD = "CBS migratieachtergrond westers/niet-westers (t/m 2022)"
DEFINITION_NEW = "CBS herkomst Nederland/Europa/buiten Europa (vanaf 2023)"
DEFINITION_OWN = "eigen kenmerk van de gemeente, geen CBS-herkomstdefinitie"
DEFINITION_LABELS: Final[dict[str, str]] = {"2019def": DEFINITION_OLD, "2023def": DEFINITION_NEW}
"""The label of each definition suffix the CBS connector writes."""
CBS_ORIGIN_DEFINITIONS: Final[dict[str, str]] = {
    name: name.rsplit("_", 1)[1] for name in ORIGIN_ATTRIBUTES.values()
}
"""Definition suffix (``2019def``, ``2023def``) of every origin attribute name the CBS connector stores."""


@dataclass(frozen=True)
class AttributeValues:
    """One attribute of one year per area, and which origin definition (CBS or the supplier's own) it follows."""

    attribute: str
    year: int
    definition: str
    values: pd.Series
    missing: tuple[str, ...]


def definition_of(attribute: str, year: int) -> str:
    """The origin definition an attribute of ``year`` follows: a CBS one for the names the CBS connector
    stores (refusing such a name on the other side of the break than its suffix), else the supplier's own."""
    suffix = CBS_ORIGIN_DEFINITIONS.get(attribute)
    if suffix is None:
        return DEFINITION_OWN
    if (int(suffix.removesuffix("def")) >= BREAK_YEAR) != (year >= BREAK_YEAR):
        raise SchemaError(
            f"attribute '{attribute}' belongs to the CBS origin definition of the other side of the "
            f"{BREAK_YEAR - 1}/{BREAK_YEAR} break than its year {year}",
            where=Location(file="protected", column="attribute", value=attribute),
            fix="check the attribute name and year of the protected rows; never relabel across the break",
        )
    return DEFINITION_LABELS[suffix]


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
