"""Files in and out of the store: CSV, Parquet, and GeoPackage/GeoJSON for areas.

Reading keeps raw values for the validator (CSV columns are read as strings). A file is first checked to be
what its suffix says (:mod:`pulsetwin.store.textfile` for CSV: GZIP decompressed, encodings detected, binary
refused; the ``PAR1`` magic for Parquet); anything a reader cannot parse becomes a SchemaError naming the file.
Writing is deterministic (rows sorted by key, ISO dates, WKT geometry, shortest round-trip floats) and atomic
(temp file, then rename), so a canonical CSV written here survives CSV -> store -> CSV byte for byte.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from pyproj.exceptions import ProjError

from pulsetwin.exceptions import CRSError, Location, SchemaError, StoreError
from pulsetwin.schema.checker import refuse_duplicate_columns
from pulsetwin.schema.crs import WKT_DECIMALS, is_rd_new, parse_crs
from pulsetwin.schema.geometry import empty_geometry
from pulsetwin.schema.tables import AREAS, CRS_EPSG, CRS_NAME, TableSpec
from pulsetwin.schema.water import water_only, water_rows, water_rows_to_drop
from pulsetwin.store.provenance import file_sha256
from pulsetwin.store.textfile import decode_bytes, read_file_bytes, sniff_format

SQL_TYPES = {
    "str": "VARCHAR",
    "wkt": "VARCHAR",
    "json": "VARCHAR",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "int": "BIGINT",
    "float": "DOUBLE",
}
TABLE_SUFFIXES = (".csv", ".parquet")
GEO_SUFFIXES = (".gpkg", ".geojson", ".json")

_LEVEL_WORDS = (("buurt", "buurt"), ("wijk", "wijk"), ("gemeente", "gemeente"), ("cell", "cell"))
_SOURCE_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "buurt": (("buurtcode", "bu_code"), ("buurtnaam", "bu_naam"), ("wijkcode", "wk_code")),
    "wijk": (("wijkcode", "wk_code"), ("wijknaam", "wk_naam"), ("gemeentecode", "gm_code")),
    "gemeente": (("gemeentecode", "gm_code"), ("gemeentenaam", "gm_naam"), ()),
}
"""Source columns (lower-cased) of the CBS wijk- en buurtkaart per level: area_code, name, parent_code.
Both the current names (``buurtcode``) and the pre-2021 ones (``BU_CODE``) are recognised."""


@dataclass(frozen=True)
class LoadedFile:
    """A file read for import: the raw frame, the SHA-256 of the file, and notes for the provenance record."""

    frame: pd.DataFrame
    file_hash: str
    details: dict[str, Any] = field(default_factory=dict)


def load_file(spec: TableSpec, path: Path, *, layer: str | None = None, crs: str | None = None) -> LoadedFile:
    """Read ``path`` for import into ``spec``'s table, choosing the reader by suffix.

    ``crs`` is the user's declaration of the file's CRS: it is checked here (an unknown code is refused naming
    the file) and, for GeoPackage/GeoJSON, given to a layer without one; CSV/Parquet coordinates are reprojected
    by the validator.

    Raises
    ------
    StoreError
        When the file is missing or its format is not supported for the table.
    SchemaError
        When the file is not what its suffix says, or cannot be parsed; the message names the file.
    CRSError
        When an areas file has no declared CRS (GeoJSON excepted: RFC 7946 fixes it to WGS84), when ``crs`` is
        unknown, or contradicts the CRS the file declares.
    """
    if not path.is_file():
        raise StoreError(f"file '{path}' does not exist. Fix: check the path")
    suffix = path.suffix.lower()
    supported = TABLE_SUFFIXES + (GEO_SUFFIXES if spec.name == AREAS.name else ())
    if suffix not in supported:
        raise StoreError(
            f"file '{path}': cannot import '{suffix}' files into table '{spec.name}'; "
            f"expected one of {', '.join(supported)}. Fix: convert the file to CSV or Parquet"
        )
    if layer is not None and suffix not in GEO_SUFFIXES:
        raise StoreError(
            f"file '{path}': --layer only applies to GeoPackage/GeoJSON files. Fix: drop --layer"
        )
    declared = None if crs is None else parse_crs(crs, where=f"file '{path}'")
    file_hash = file_sha256(path)
    details: dict[str, Any] = {} if crs is None else {"declared_crs": crs}
    if suffix == ".csv":
        frame, notes = read_csv_text(path)
        return LoadedFile(frame, file_hash, details | ({"reading": list(notes)} if notes else {}))
    if suffix == ".parquet":
        return LoadedFile(read_parquet_frame(path), file_hash, details)
    frame, geo = read_areas_geo(path, layer, crs=None if declared is None else crs)
    return LoadedFile(frame, file_hash, details | geo)


def read_csv_strings(path: Path) -> pd.DataFrame:
    """Read a CSV with every column as text (empty fields stay ``""``); ``;`` is accepted as delimiter."""
    return read_csv_text(path)[0]


def read_csv_text(path: Path) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Read a CSV with every column as text, and notes on how it was read (decompressed, decoded).

    The bytes go through :func:`pulsetwin.store.textfile.read_file_bytes` (GZIP decompressed, binary
    refused) and are decoded by :func:`~pulsetwin.store.textfile.decode_bytes` unless they are plain ASCII or
    UTF-8; ``;`` is accepted as delimiter when the header has more of them than commas.
    """
    file = str(path)
    raw = read_file_bytes(path)
    data, notes = raw.data, raw.notes
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.isascii():
        decoded = decode_bytes(data, file=file)
        notes += decoded.notes
        if decoded.encoding != "utf-8":
            data = decoded.text.encode("utf-8")
    header_line = data[: data.find(b"\n") if b"\n" in data else len(data)].decode("utf-8").rstrip("\r")
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    names = next(csv.reader([header_line], delimiter=delimiter), [])
    if not names or names == [""]:
        raise SchemaError("a header row with the column names", where=_where(path), fix="add the header row")
    refuse_duplicate_columns(names, file=file)
    try:
        table = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string())),
        )
    except pa.ArrowInvalid as error:
        raise SchemaError(f"a well-formed CSV ({error})", where=_where(path), fix="repair the CSV") from None
    text = pd.StringDtype(na_value=np.nan)
    return table.to_pandas(types_mapper={pa.string(): text, pa.large_string(): text}.get), notes


def read_parquet_frame(path: Path) -> pd.DataFrame:
    """Read a Parquet file; dates come back as ``datetime64`` and dictionary columns as plain values."""
    with path.open("rb") as handle:
        head = handle.read(64)
    if not head.startswith(b"PAR1"):
        known = sniff_format(head)
        what = known[0] if known is not None else "not Parquet (it lacks the 'PAR1' magic bytes)"
        raise SchemaError(
            f"expected a Parquet file; the file is {what}",
            where=_where(path),
            fix="export the table as Parquet again, or give the file the suffix of its real format",
        )
    try:
        schema = pq.read_schema(path)
        refuse_duplicate_columns(schema.names, file=str(path))
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as error:
        raise SchemaError(
            f"a readable Parquet file ({error})", where=_where(path), fix="re-export it"
        ) from None
    for index, column in enumerate(table.schema):
        if pa.types.is_dictionary(column.type):  # categorical columns: validate the values, not the codes
            table = table.set_column(index, column.name, table.column(index).cast(column.type.value_type))
    return table.to_pandas(date_as_object=False)


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
        raise SchemaError(f"expected a GeoPackage; the file is {what}", where=_where(path),
                          fix="export the layer as GeoPackage again")  # fmt: skip
    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
    except unreadable as error:
        raise SchemaError(
            f"a readable {'GeoJSON' if is_geojson else 'GeoPackage'} file; it is damaged or truncated ({error})",
            where=_where(path), fix="export or download the file again",
        ) from None  # fmt: skip
    if layer is None:
        if len(layers) != 1:
            raise SchemaError(
                f"one layer to read; the file holds {', '.join(layers)}", where=_where(path),
                fix="pick one with --layer NAME",
            )  # fmt: skip
        layer = layers[0]
    elif layer not in layers:
        raise SchemaError(
            f"a layer named '{layer}'; the file holds {', '.join(layers)}", where=_where(path),
            fix="pick one of those with --layer NAME",
        )  # fmt: skip
    try:
        gdf = geopandas.read_file(path, layer=layer, engine="pyogrio")
    except unreadable as error:
        raise SchemaError(
            f"a readable layer '{layer}'; it is damaged or truncated ({error})", where=_where(path),
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
        where=_where(path),
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
        where=_where(path),
        fix="add a 'level' column or rename the layer",
    )


def _geojson_declares_crs(path: Path) -> bool:
    """True when the GeoJSON document has a top-level (pre-RFC 7946) ``crs`` member."""
    try:
        with path.open(encoding="utf-8") as handle:
            document = json.load(handle)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SchemaError(
            f"a complete GeoJSON document in UTF-8 ({error})", where=_where(path),
            fix="export or download the file again",
        ) from None  # fmt: skip
    return isinstance(document, dict) and "crs" in document


def _where(path: Path) -> Location:
    """A Location naming only the file."""
    return Location(file=str(path))


def export_relation(
    connection: duckdb.DuckDBPyConnection, spec: TableSpec, relation_sql: str, out_path: Path
) -> None:
    """Write the rows of ``relation_sql`` (already in canonical column order and key order) to ``out_path``.

    The format follows the suffix: ``.csv``, ``.parquet``, and for areas ``.gpkg`` / ``.geojson`` (GeoJSON is
    written per RFC 7946 in WGS84). Written to a temp file next to the target, then renamed.
    """
    suffix = out_path.suffix.lower()
    supported = TABLE_SUFFIXES + (GEO_SUFFIXES if spec.name == AREAS.name else ())
    if suffix not in supported:
        raise StoreError(
            f"cannot export table '{spec.name}' to '{suffix}'; expected one of {', '.join(supported)}. "
            "Fix: choose another file name"
        )
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.stem}.{os.getpid()}.tmp{out_path.suffix}")
    try:
        if suffix == ".csv":
            select = ", ".join(_csv_expression(name, kind) for name, kind in spec.columns)
            connection.execute(
                f"COPY (SELECT {select} FROM ({relation_sql})) TO '{_sql_path(tmp)}' (FORMAT CSV, HEADER)"
            )
        elif suffix == ".parquet":
            connection.execute(f"COPY ({relation_sql}) TO '{_sql_path(tmp)}' (FORMAT PARQUET)")
        else:
            _write_geo(connection.execute(relation_sql).df(), tmp, geojson=suffix != ".gpkg")
        tmp.replace(out_path)
    finally:
        tmp.unlink(missing_ok=True)


def _csv_expression(name: str, kind: str) -> str:
    """SQL rendering one column for canonical CSV: ISO date, ISO timestamp (``T``; microseconds if any)."""
    column = f'"{name}"'
    if kind == "date":
        return f"strftime({column}, '%Y-%m-%d') AS {column}"
    if kind == "timestamp":
        return (
            f"CASE WHEN microsecond({column}) % 1000000 = 0 THEN strftime({column}, '%Y-%m-%dT%H:%M:%S') "
            f"ELSE strftime({column}, '%Y-%m-%dT%H:%M:%S.%f') END AS {column}"
        )
    return column


def _write_geo(frame: pd.DataFrame, tmp: Path, *, geojson: bool) -> None:
    """Write areas with WKT geometry as a GeoPackage layer ``areas`` or an RFC 7946 GeoJSON."""
    import geopandas

    wkt = frame["geometry"].mask(empty_geometry(frame["geometry"]), None)  # names-only areas: null geometry
    gdf = geopandas.GeoDataFrame(
        frame.drop(columns="geometry"), geometry=geopandas.GeoSeries.from_wkt(wkt), crs=CRS_EPSG
    )
    if geojson:
        gdf.to_crs(4326).to_file(tmp, driver="GeoJSON", engine="pyogrio", RFC7946="YES")
    else:
        gdf.to_file(tmp, layer="areas", driver="GPKG", engine="pyogrio")


def _sql_path(path: Path) -> str:
    """A path quoted for a SQL string literal."""
    return str(path).replace("'", "''")


def table_ddl(spec: TableSpec) -> str:
    """CREATE TABLE statement for a canonical table (no spatial extension: geometry is VARCHAR WKT)."""
    columns = ", ".join(f'"{name}" {SQL_TYPES[kind]}' for name, kind in spec.columns)
    return f'CREATE TABLE IF NOT EXISTS "{spec.name}" ({columns})'
