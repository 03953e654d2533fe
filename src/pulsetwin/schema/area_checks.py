"""Checks on where rows are: area codes (no totals rows), the areas table's levels, parents and names, and
geometry and coordinates inside the Netherlands in RD New (EPSG:28992), reprojected from a declared CRS.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd
import shapely

from pulsetwin.schema.checker import CodedColumn, RowChecker, expand_codes
from pulsetwin.schema.codes import CODE_EXAMPLES, ancestor_codes, code_levels
from pulsetwin.schema.crs import WKT_DECIMALS, geometries_to_rd, to_rd
from pulsetwin.schema.tables import AREA_LEVELS

RD_X_RANGE: Final = (-7000.0, 300000.0)
RD_Y_RANGE: Final = (289000.0, 629000.0)
"""Bounding box of the Netherlands in EPSG:28992 (RD New), in metres."""
TOTAL_WORDS: Final = (
    r"(?i)\s*(?:totaal|totalen|total|totals|grand total|eindtotaal|subtotaal|subtotal|som|sum|alle .*)\s*"
)
"""An ``area_code`` that is one of these words marks a spreadsheet's totals row, not an area."""


def check_codes(chk: RowChecker, name: str, column: CodedColumn) -> pd.Series:
    """Refuse totals rows and area codes that are no CBS or grid-cell code; return each distinct code's level."""
    totals = column.uniques.str.fullmatch(TOTAL_WORDS).to_numpy(dtype=bool)
    chk.check(
        name,
        column.rows(totals),
        "an area code; this row looks like a spreadsheet's totals row, not an area",
        "remove the totals row: PulseTwin sums areas itself, and a total stored as an area would be counted twice",
    )
    levels = code_levels(column.uniques)
    chk.check(
        name,
        column.rows(levels.isna().to_numpy()),
        f"expected a CBS area code or grid-cell code such as {CODE_EXAMPLES}",
        "strip padding spaces (CBS keys are right-padded to 10 characters) and use the full code",
    )
    return levels


def check_areas(
    chk: RowChecker, values: dict[str, pd.Series], cols: dict[str, CodedColumn], levels: pd.Series
) -> None:
    """Level matches the code prefix, parent follows from the code, names present, geometry valid in RD."""
    level = values["level"]
    chk.check(
        "level",
        ~level.isin(AREA_LEVELS).to_numpy(dtype=bool),
        f"expected one of {', '.join(AREA_LEVELS)}",
        "write the level in lowercase",
    )
    code_level = pd.Series(pd.api.extensions.take(levels.array, cols["area_code"].codes, allow_fill=True))
    mismatch = (code_level != level).to_numpy(dtype=bool)
    if mismatch.any():
        row = int(np.flatnonzero(mismatch)[0])
        chk.fail(
            "level",
            mismatch,
            f"level must match the code prefix (GM gemeente, WK wijk, BU buurt, C cell); "
            f"area_code {values['area_code'].iloc[row]} is a {code_level.iloc[row]}",
            f"set level to '{code_level.iloc[row]}' or fix area_code",
        )
    _check_parents(chk, values, code_level)
    chk.check(
        "name",
        (values["name"].isna() & (code_level != "cell")).to_numpy(dtype=bool),
        "expected the area's name (only grid cells may have an empty name)",
        "fill in the CBS name of the gemeente, wijk or buurt",
    )
    missing = cols["geometry"].missing
    if missing.all():
        return  # a list of named areas without boundaries (see pulsetwin.schema.geometry)
    chk.check(
        "geometry",
        missing,
        "expected a geometry on every row once any row has one (or on none: areas listed by name only)",
        "fill in the geometry of every area, or leave the column empty on every row",
    )
    _check_geometry(chk, cols["geometry"])


def _check_parents(chk: RowChecker, values: dict[str, pd.Series], code_level: pd.Series) -> None:
    """Gemeenten have no parent; wijken their gemeente; buurten their wijk or gemeente; cells any CBS code."""
    parent = values["parent_code"].fillna("")
    wijk, gemeente = ancestor_codes(values["area_code"])
    parent_level = code_levels(parent)
    empty = (parent == "").to_numpy(dtype=bool)
    is_gemeente = (parent == gemeente).to_numpy(dtype=bool)
    ok = np.select(
        [(code_level == level).to_numpy(dtype=bool) for level in ("gemeente", "wijk", "buurt")],
        [empty, is_gemeente, is_gemeente | (parent == wijk).to_numpy(dtype=bool)],
        default=empty | parent_level.isin(["gemeente", "wijk", "buurt"]).to_numpy(dtype=bool),
    ).astype(bool)
    if not ok.all():
        row = int(np.flatnonzero(~ok)[0])
        want = {
            "gemeente": "empty",
            "wijk": f"'{gemeente.iloc[row]}'",
            "buurt": f"'{wijk.iloc[row]}' (its wijk) or '{gemeente.iloc[row]}'",
        }.get(str(code_level.iloc[row]), "empty or a gemeente/wijk/buurt code")
        chk.fail(
            "parent_code",
            ~ok,
            f"parent_code must follow from area_code {values['area_code'].iloc[row]}: expected {want}",
            f"set parent_code to {want}",
        )


def _check_geometry(chk: RowChecker, column: CodedColumn) -> None:
    """Every geometry parses as WKT, is not empty and lies inside the Netherlands in EPSG:28992."""
    geoms = shapely.from_wkt(column.uniques.to_numpy(dtype=object), on_invalid="ignore")
    unparsed = np.array([g is None for g in geoms], dtype=bool)
    chk.check(
        "geometry", column.rows(unparsed), "expected WKT geometry, e.g. POLYGON ((...))", "export as WKT"
    )
    chk.check(
        "geometry", column.rows(shapely.is_empty(geoms)), "expected a non-empty geometry", "fix the geometry"
    )
    bounds = shapely.bounds(geoms)
    inside = (
        (bounds[:, 0] >= RD_X_RANGE[0])
        & (bounds[:, 2] <= RD_X_RANGE[1])
        & (bounds[:, 1] >= RD_Y_RANGE[0])
        & (bounds[:, 3] <= RD_Y_RANGE[1])
    )
    chk.check("geometry", column.rows(~inside), *outside_rd(chk, f"within x {RD_X_RANGE}, y {RD_Y_RANGE}"))


def outside_rd(chk: RowChecker, bounds: str) -> tuple[str, str]:
    """What was expected and the fix, for coordinates outside the RD New bounds (with or without --crs)."""
    if chk.crs is None:
        return (
            f"expected coordinates in EPSG:28992 (RD New) {bounds}; the file declares no CRS, and these "
            "coordinates are not RD New",
            "declare the file's CRS with --crs EPSG:NNNN (e.g. --crs EPSG:4326 for longitude/latitude) so it is "
            "reprojected to EPSG:28992 on import",
        )
    return (
        f"coordinates inside the Netherlands after reprojecting from {chk.crs} to EPSG:28992 ({bounds})",
        f"check that --crs {chk.crs} is the CRS the file is really in (x = easting or longitude)",
    )


def reproject(chk: RowChecker, values: dict[str, pd.Series], cols: dict[str, CodedColumn]) -> None:
    """Reproject x/y and WKT geometry from the declared CRS to RD New, in place (nothing to do for RD New)."""
    if chk.crs is None:
        return
    where = f"file '{chk.file}'" if chk.file else "input"
    if "x" in values and "y" in values:
        x, y = to_rd(values["x"].to_numpy(), values["y"].to_numpy(), chk.crs, where=where)
        values["x"], values["y"] = pd.Series(x), pd.Series(y)
    if "geometry" in cols:
        column = cols["geometry"]
        geoms = shapely.from_wkt(column.uniques.to_numpy(dtype=object), on_invalid="ignore")
        wkt = shapely.to_wkt(
            geometries_to_rd(geoms, chk.crs, where=where), rounding_precision=WKT_DECIMALS, trim=True,
            output_dimension=2,
        )  # fmt: skip
        parsed = np.array([g is not None for g in geoms], dtype=bool)
        uniques = column.uniques.where(~parsed, pd.Series(wkt, dtype="str"))
        cols["geometry"] = CodedColumn(
            expand_codes(uniques, column.codes).astype("str"), column.codes, uniques
        )
        values["geometry"] = cols["geometry"].values
