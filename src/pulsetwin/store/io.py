"""Files in and out of the store: CSV, Parquet, and GeoPackage/GeoJSON for areas.

Reading keeps raw values for the validator (CSV columns are read as strings). A file is first checked to be
what its suffix says (:mod:`pulsetwin.store.textfile` for CSV: GZIP decompressed, encodings detected, binary
refused; the ``PAR1`` magic for Parquet); anything a reader cannot parse becomes a SchemaError naming the file.
Writing is deterministic (rows sorted by key, ISO dates, WKT geometry, shortest round-trip floats) and atomic
(temp file, then rename), so a canonical CSV written here survives CSV -> store -> CSV byte for byte.
GeoPackage and GeoJSON areas files are read in :mod:`~pulsetwin.store.area_files`.
"""

from __future__ import annotations

import csv
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

from pulsetwin.exceptions import SchemaError, StoreError
from pulsetwin.schema.checker import refuse_duplicate_columns
from pulsetwin.schema.crs import parse_crs
from pulsetwin.schema.geometry import empty_geometry
from pulsetwin.schema.tables import AREAS, CRS_EPSG, TableSpec
from pulsetwin.store.area_files import file_location, read_areas_geo
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
        raise SchemaError(
            "a header row with the column names", where=file_location(path), fix="add the header row"
        )
    refuse_duplicate_columns(names, file=file)
    try:
        table = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string())),
        )
    except pa.ArrowInvalid as error:
        raise SchemaError(
            f"a well-formed CSV ({error})", where=file_location(path), fix="repair the CSV"
        ) from None
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
            where=file_location(path),
            fix="export the table as Parquet again, or give the file the suffix of its real format",
        )
    try:
        schema = pq.read_schema(path)
        refuse_duplicate_columns(schema.names, file=str(path))
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as error:
        raise SchemaError(
            f"a readable Parquet file ({error})", where=file_location(path), fix="re-export it"
        ) from None
    for index, column in enumerate(table.schema):
        if pa.types.is_dictionary(column.type):  # categorical columns: validate the values, not the codes
            table = table.set_column(index, column.name, table.column(index).cast(column.type.value_type))
    return table.to_pandas(date_as_object=False)


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
