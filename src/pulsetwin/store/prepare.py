"""Everything an import does before it touches the store: read, guard against person data, validate.

:func:`check_file` and :func:`check_frames` return a :class:`CheckedImport` only when every frame passed the
PII guard and the validator; :meth:`pulsetwin.store.Store.import_checked` writes nothing else. The CLI checks
a file before it opens the store, so a refused file leaves the store file exactly as it was (not even
created when it did not exist).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pulsetwin.exceptions import Location, ParameterTypeError, SchemaError, StoreError, bad_parameter
from pulsetwin.schema.crs import is_rd_new, parse_crs
from pulsetwin.schema.pii import guard_personal_data
from pulsetwin.schema.tables import IMPORTABLE, table_spec
from pulsetwin.schema.validate import validate_table
from pulsetwin.store.io import load_file


@dataclass(frozen=True)
class CheckedImport:
    """Canonical frames that passed the PII guard and the validator, with where they came from.

    Build it with :func:`check_file` or :func:`check_frames`, never by hand: the store trusts it.
    """

    frames: Mapping[str, pd.DataFrame]
    file: str | None = None
    file_hash: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    default_source: str | None = None
    notes: tuple[str, ...] = ()
    """What was done to read the file (decompressed, decoded, reprojected), for the user."""


def check_frames(
    frames: Mapping[str, pd.DataFrame],
    *,
    file: str | None = None,
    file_hash: str | None = None,
    details: Mapping[str, Any] | None = None,
    crs: str | None = None,
    allow_withheld: bool = True,
    default_source: str | None = None,
    notes: tuple[str, ...] = (),
) -> CheckedImport:
    """Guard and validate canonical frames (see :func:`~pulsetwin.schema.validate.validate_table`).

    Raises
    ------
    PersonalDataError, SchemaError, CRSError
        From the guard and the validator, naming ``file``.
    StoreError, ParameterTypeError, ParameterError
        For a table that cannot be imported or frames that are no DataFrames.
    """
    if not isinstance(frames, Mapping) or not frames:
        raise bad_parameter(
            "frames", "Store.import_frames", "a non-empty dict of table name to frame", frames
        )
    validated: dict[str, pd.DataFrame] = {}
    for table, frame in frames.items():
        spec = table_spec(table)
        if spec.name not in IMPORTABLE:
            raise StoreError(f"table '{table}' cannot be imported; importable: {', '.join(IMPORTABLE)}")
        if not isinstance(frame, pd.DataFrame):
            raise ParameterTypeError(
                f"The 'frames' parameter of Store.import_frames must map '{table}' to a DataFrame. "
                f"Got {type(frame).__name__} instead."
            )
        guard_personal_data(frame, file=file, table=spec.name)
        validated[spec.name] = validate_table(
            spec.name, frame, file=file, crs=crs, allow_withheld=allow_withheld
        )
    return CheckedImport(validated, file, file_hash, dict(details or {}), default_source, notes)


def check_file(
    table: str,
    path: str | Path,
    *,
    layer: str | None = None,
    crs: str | None = None,
    allow_withheld: bool = False,
) -> CheckedImport:
    """Read a CSV/Parquet file (areas also GeoPackage/GeoJSON), then guard and validate it.

    ``crs`` declares the CRS of the file's coordinates (reprojected to EPSG:28992); without it, CSV/Parquet
    coordinates must lie inside the RD New bounds. ``allow_withheld`` accepts empty incident counts as
    withheld by the source; by default they are refused naming row and column. Reader notes (decompression,
    encoding, CRS handling, water rows dropped, water-only areas) go into ``details`` for the provenance record.
    """
    file_path = Path(path)
    if table not in IMPORTABLE:
        raise SchemaError(
            f"a table to import into, one of {', '.join(IMPORTABLE)}; got '{table}'",
            where=Location(file=str(file_path)),
            fix="name the canonical table the file holds, e.g. `pulsetwin import incidents FILE`",
        )
    spec = table_spec(table)
    loaded = load_file(spec, file_path, layer=layer, crs=crs)
    geo_read = file_path.suffix.lower() not in (".csv", ".parquet")  # geometry already in EPSG:28992
    details = dict(loaded.details) | ({"allow_withheld": True} if allow_withheld else {})
    notes = tuple(loaded.details.get("reading", ()))
    for key in ("crs_assumed", "crs_declared"):
        if key in loaded.details:
            notes += (f"CRS of '{file_path.name}': {loaded.details[key]}",)
    if geo_read:
        reprojected = "reprojected_to" in loaded.details
    else:
        reprojected = crs is not None and not is_rd_new(parse_crs(crs, where=f"file '{file_path}'"))
    if crs is not None and reprojected:
        notes += (f"coordinates of '{file_path.name}' reprojected from {crs} to EPSG:28992",)
    if "water_rows_dropped" in loaded.details:
        dropped = loaded.details["water_rows_dropped"]
        notes += (
            f"'{file_path.name}': {dropped['count']} water row(s) under the code of a land row dropped (the land "
            f"row is the area): {', '.join(dropped['codes'][:10])}{', ...' if len(dropped['codes']) > 10 else ''}",
        )
    return check_frames(
        {spec.name: loaded.frame},
        file=str(file_path),
        file_hash=loaded.file_hash,
        details=details,
        crs=None if geo_read else crs,
        allow_withheld=allow_withheld,
        default_source=f"file:{file_path.name}",
        notes=notes,
    )
