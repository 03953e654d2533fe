"""Read an areas file in a geographic format (GeoPackage, GeoJSON) into the canonical ``areas`` columns.

The layer is chosen (or refused when the file holds several and none is named), the CRS read from the file, and
the source columns of the CBS wijk- en buurtkaart renamed; every refusal names the file and the fix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
from pyproj.exceptions import ProjError

from pulsetwin.exceptions import CRSError, Location, SchemaError
from pulsetwin.schema.crs import WKT_DECIMALS, is_rd_new, parse_crs
from pulsetwin.schema.tables import AREAS, CRS_EPSG, CRS_NAME
from pulsetwin.schema.water import water_only, water_rows, water_rows_to_drop
from pulsetwin.store.textfile import sniff_format

_LEVEL_WORDS = (("buurt", "buurt"), ("wijk", "wijk"), ("gemeente", "gemeente"), ("cell", "cell"))
_SOURCE_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "buurt": (("buurtcode", "bu_code"), ("buurtnaam", "bu_naam"), ("wijkcode", "wk_code")),
    "wijk": (("wijkcode", "wk_code"), ("wijknaam", "wk_naam"), ("gemeentecode", "gm_code")),
    "gemeente": (("gemeentecode", "gm_code"), ("gemeentenaam", "gm_naam"), ()),
}
"""Source columns (lower-cased) of the CBS wijk- en buurtkaart per level: area_code, name, parent_code.
Both the current names (``buurtcode``) and the pre-2021 ones (``BU_CODE``) are recognised."""


def read_areas_geo(
    path: Path, layer: str | None, *, crs: str | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read one layer of a GeoPackage/GeoJSON as canonical-named areas with WKT geometry in EPSG:28992.

    Source columns of the CBS wijk- en buurtkaart are renamed (see ``_SOURCE_FIELDS``); the level comes from a
    ``level`` column or else from the layer name (``buurten`` -> buurt). Water rows under the code of a land
    row (``water = 'JA'``, as in PDOK's wijk- en buurtkaart) are dropped and counted; water-only areas are kept
    and listed (the rule: :mod:`pulsetwin.schema.water`).
    ``crs`` (declared by the user) is given to a layer without a CRS (or with GDAL's "undefined" SRS) and to a
    GeoJSON without a ``crs`` member; a layer declaring another CRS is refused, never silently overridden.
    """
    import geopandas
    import pyogrio
    import pyogrio.errors
    import shapely

    unreadable = (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, pyogrio.errors.FieldError,
                  pyogrio.errors.GeometryError, pyogrio.errors.FeatureError)  # fmt: skip
    with path.open("rb") as handle:
        head = handle.read(64)
    is_geojson = path.suffix.lower() in (".geojson", ".json")
    if not is_geojson and not head.startswith(b"SQLite format 3\x00"):
        known = sniff_format(head)
        what = known[0] if known is not None else "not a GeoPackage (it lacks the SQLite header)"
        raise SchemaError(f"expected a GeoPackage; the file is {what}", where=file_location(path),
                          fix="export the layer as GeoPackage again")  # fmt: skip
    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
    except unreadable as error:
        raise SchemaError(
            f"a readable {'GeoJSON' if is_geojson else 'GeoPackage'} file; it is damaged or truncated ({error})",
            where=file_location(path), fix="export or download the file again",
        ) from None  # fmt: skip
    if layer is None:
        if len(layers) != 1:
            raise SchemaError(
                f"one layer to read; the file holds {', '.join(layers)}", where=file_location(path),
                fix="pick one with --layer NAME",
            )  # fmt: skip
        layer = layers[0]
    elif layer not in layers:
        raise SchemaError(
            f"a layer named '{layer}'; the file holds {', '.join(layers)}", where=file_location(path),
            fix="pick one of those with --layer NAME",
        )  # fmt: skip
    try:
        gdf = geopandas.read_file(path, layer=layer, engine="pyogrio")
    except unreadable as error:
        raise SchemaError(
            f"a readable layer '{layer}'; it is damaged or truncated ({error})", where=file_location(path),
            fix="export or download the file again",
        ) from None  # fmt: skip
    details: dict[str, Any] = {"layer": layer}
    undefined = gdf.crs is None or gdf.crs.name.lower().startswith("undefined")
    if is_geojson and not _geojson_declares_crs(path):
        undefined = False
        if crs is None:
            gdf = gdf.set_crs(4326, allow_override=True)
            details["crs_assumed"] = "EPSG:4326 (RFC 7946: GeoJSON without a 'crs' member is WGS84)"
        else:
            gdf = gdf.set_crs(crs, allow_override=True)
            details["crs_declared"] = f"{crs} (--crs; the GeoJSON has no 'crs' member)"
    elif undefined and crs is not None:
        gdf = gdf.set_crs(crs, allow_override=True)
        details["crs_declared"] = f"{crs} (--crs; the layer has no defined SRS)"
        undefined = False
    elif crs is not None and not gdf.crs.equals(parse_crs(crs, where=f"file '{path}'")):
        raise CRSError(
            f"file '{path}', layer '{layer}': the file declares {gdf.crs.to_string()} but --crs says {crs}; "
            "a file that can be read two ways is not guessed. Fix: drop --crs (the file's own CRS is used), or "
            "correct the CRS stored in the file"
        )
    if undefined:
        found = "none" if gdf.crs is None else f"'{gdf.crs.name}'"
        raise CRSError(
            f"file '{path}', layer '{layer}': the geometry has no defined CRS (found: {found}); "
            f"PulseTwin needs it to reproject to {CRS_NAME}. Fix: pass --crs EPSG:NNNN with the CRS of the "
            f"coordinates (e.g. --crs {CRS_NAME} for RD New metres), or declare it in the file, e.g. "
            f"`ogr2ogr -a_srs {CRS_NAME} fixed.gpkg '{path.name}'`"
        )
    details["source_crs"] = gdf.crs.to_string()
    if not is_rd_new(gdf.crs):
        try:
            gdf = gdf.to_crs(CRS_EPSG)
        except (ProjError, ValueError) as error:  # a CRS without a transformation to RD New
            raise CRSError(
                f"file '{path}', layer '{layer}': cannot reproject from {gdf.crs.to_string()} to {CRS_NAME} "
                f"({error}). Fix: declare the CRS the coordinates are really in"
            ) from None
        details["reprojected_to"] = CRS_NAME
    attributes = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).reset_index(drop=True)
    frame = _canonical_area_columns(attributes, layer, path)
    frame["geometry"] = shapely.to_wkt(
        gdf.geometry.to_numpy(), rounding_precision=WKT_DECIMALS, trim=True, output_dimension=2
    )
    water = water_rows(attributes)
    drop = water_rows_to_drop(frame["area_code"], water)
    if drop.any():
        merged = sorted(set(frame.loc[drop, "area_code"].astype("str")))
        details["water_rows_dropped"] = {"count": int(drop.sum()), "codes": merged[:50]}
        frame, water = frame[~drop].reset_index(drop=True), water[~drop]
    only = sorted(frame.loc[water_only(frame["area_code"], water), "area_code"].astype("str"))
    if only:
        details["water_only_areas"] = {"count": len(only), "codes": only[:50]}
    return frame[list(AREAS.column_names)], details


def _canonical_area_columns(raw: pd.DataFrame, layer: str, path: Path) -> pd.DataFrame:
    """Rename source columns to ``area_code, name, level, parent_code`` (geometry is added by the caller)."""
    lower = {str(c).lower(): c for c in raw.columns}
    if "area_code" in lower:
        frame = raw.rename(
            columns={lower[c]: c for c in ("area_code", "name", "level", "parent_code") if c in lower}
        )
        if "level" not in frame.columns:
            frame["level"] = _level_from_name(layer, path)
        return frame.reset_index(drop=True)
    level = _level_from_name(layer, path, lower)
    code_fields, name_fields, parent_fields = _SOURCE_FIELDS[level]
    out = pd.DataFrame(index=raw.index)
    out["area_code"] = _pick(raw, lower, code_fields, "area_code", path)
    out["name"] = _pick(raw, lower, name_fields, "name", path)
    out["level"] = level
    out["parent_code"] = _pick(raw, lower, parent_fields, "parent_code", path) if parent_fields else ""
    return out.reset_index(drop=True)


def _pick(
    raw: pd.DataFrame, lower: dict[str, Any], fields: tuple[str, ...], target: str, path: Path
) -> pd.Series:
    """The first source column among ``fields`` in ``raw``, or a SchemaError naming what was looked for."""
    for name in fields:
        if name in lower:
            return raw[lower[name]]
    raise SchemaError(
        f"a column for '{target}' (one of {', '.join(fields)}); found {', '.join(map(str, raw.columns))}",
        where=file_location(path),
        fix=f"rename the column to '{target}'",
    )


def _level_from_name(layer: str, path: Path, lower: dict[str, Any] | None = None) -> str:
    """The area level named by a layer (``buurten``, ``cbs_wijken_2024``...), else by its CBS code columns."""
    lowered = layer.lower()
    for word, level in _LEVEL_WORDS:
        if word in lowered:
            return level
    for level, (code_fields, _, _) in _SOURCE_FIELDS.items():
        if lower is not None and any(name in lower for name in code_fields):
            return level
    raise SchemaError(
        f"a 'level' column or a layer name saying the level (buurten, wijken, gemeenten); got '{layer}'",
        where=file_location(path),
        fix="add a 'level' column or rename the layer",
    )


def _geojson_declares_crs(path: Path) -> bool:
    """True when the GeoJSON document has a top-level (pre-RFC 7946) ``crs`` member."""
    try:
        with path.open(encoding="utf-8") as handle:
            document = json.load(handle)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SchemaError(
            f"a complete GeoJSON document in UTF-8 ({error})", where=file_location(path),
            fix="export or download the file again",
        ) from None  # fmt: skip
    return isinstance(document, dict) and "crs" in document


def file_location(path: Path) -> Location:
    """A Location naming only the file."""
    return Location(file=str(path))
