"""Anonymous sensor aggregates (hourly counts) into canonical incidents per area and period.

Refused by construction: a sensor file may hold exactly the columns ``sensor_id, hour, metric, count`` and a
sensor-location file exactly ``sensor_id, x, y``. Any other column is refused, and one that looks like an
image, video, audio or biometric payload is refused as personal data; media files are refused by extension and
by their first bytes before any parsing. Metrics are ``noise_peaks`` and ``footfall``, counts whole numbers.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from pulsetwin.exceptions import Location, PersonalDataError, SchemaError
from pulsetwin.schema.periods import Freq, parse_timestamps
from pulsetwin.schema.pii import guard_personal_data
from pulsetwin.sources.dataset import Dataset
from pulsetwin.sources.spatial import assign_areas, to_rd
from pulsetwin.store.provenance import file_sha256

COUNT_COLUMNS: Final = ("sensor_id", "hour", "metric", "count")
LOCATION_COLUMNS: Final = ("sensor_id", "x", "y")
METRICS: Final = ("noise_peaks", "footfall")
SENSOR_ID: Final = r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}"
MEDIA_SUFFIXES: Final = frozenset(
    [
        ".jpg",
        ".jpeg",
        ".png",
        ".gif",
        ".bmp",
        ".tif",
        ".tiff",
        ".webp",
        ".heic",
        ".raw",
        ".mp4",
        ".mov",
        ".avi",
        ".mkv",
        ".webm",
        ".h264",
        ".wav",
        ".mp3",
        ".flac",
        ".ogg",
        ".m4a",
        ".aac",
        ".opus",
        ".pcm",
    ]
)
MAGIC: Final = (
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x89PNG", "a PNG image"),
    (b"GIF8", "a GIF image"),
    (b"RIFF", "RIFF media (WAV audio or AVI video)"),
    (b"ID3", "MP3 audio"),
    (b"OggS", "Ogg audio/video"),
    (b"fLaC", "FLAC audio"),
    (b"\x1a\x45\xdf\xa3", "Matroska/WebM video"),
)
PAYLOAD_WORDS: Final = re.compile(
    r"image|img|photo|foto|picture|jpeg|png|video|frame|clip|camera|audio|sound|geluidsopname|recording|opname|"
    r"wav|mp3|face|gezicht|biometr|fingerprint|vingerafdruk|iris|voice|stem|plate|kenteken|mac_?addr|imsi|"
    r"device|blob|payload|base64",
    re.IGNORECASE,
)


def refuse_media(path: Path) -> None:
    """Refuse a media file by its extension or its first bytes (before any parser sees it)."""
    where = Location(file=str(path))
    fix = "deliver hourly aggregate counts (sensor_id, hour, metric, count) as CSV or Parquet"
    if path.suffix.lower() in MEDIA_SUFFIXES:
        raise PersonalDataError(f"aggregate counts, not a media file ({path.suffix})", where=where, fix=fix)
    with path.open("rb") as handle:
        head = handle.read(16)
    kinds = [kind for magic, kind in MAGIC if head.startswith(magic)]
    if head[4:8] == b"ftyp":
        kinds.append("MP4/QuickTime/HEIC media")
    if kinds:
        raise PersonalDataError(f"aggregate counts, not {kinds[0]}", where=where, fix=fix)


def read_allowed(path: Path, allowed: tuple[str, ...]) -> pd.DataFrame:
    """Read a CSV (as text) or Parquet file whose columns are exactly ``allowed``; refuse everything else."""
    refuse_media(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    elif suffix == ".parquet":
        raw = pd.read_parquet(path)
    else:
        raise SchemaError("a .csv or .parquet file", where=Location(file=str(path)), fix="save it as CSV")
    guard_personal_data(raw, file=str(path))
    columns = [str(c) for c in raw.columns]
    for column in columns:
        if column not in allowed:
            where = Location(file=str(path), column=column)
            fix = f"keep only the columns {', '.join(allowed)}"
            if PAYLOAD_WORDS.search(column):
                raise PersonalDataError(
                    "anonymous aggregate counts only; this column looks like an image, video, audio or "
                    "biometric payload",
                    where=where,
                    fix=fix,
                )
            raise SchemaError(f"only the columns {', '.join(allowed)}", where=where, fix=fix)
    absent = [c for c in allowed if c not in columns]
    if absent:
        raise SchemaError(
            f"the columns {', '.join(allowed)}; missing {', '.join(absent)}",
            where=Location(file=str(path), column=absent[0]),
            fix="add the missing columns",
        )
    return raw[list(allowed)].astype("string").apply(lambda s: s.str.strip())


def read_sensor_locations(path: Path, crs: str) -> pd.DataFrame:
    """``sensor_id, x, y`` with x/y in RD New metres (reprojected from ``crs``)."""
    raw = read_allowed(path, LOCATION_COLUMNS)
    _check_ids(raw, path)
    if raw["sensor_id"].duplicated().any():
        dup = raw["sensor_id"].duplicated().to_numpy()
        raise _error(path, raw, dup, "sensor_id", "each sensor listed once", "remove the duplicate row")
    xy = []
    for column in ("x", "y"):
        value = pd.to_numeric(raw[column], errors="coerce")
        if value.isna().any():
            raise _error(path, raw, value.isna().to_numpy(), column, "a number (coordinate)", "correct it")
        xy.append(value.to_numpy(dtype="float64"))
    x, y = to_rd(xy[0], xy[1], crs, where=f"file '{path}'")
    return pd.DataFrame({"sensor_id": raw["sensor_id"].to_numpy(dtype=object), "x": x, "y": y})


def map_sensors(
    path: Path,
    locations: pd.DataFrame,
    areas: pd.DataFrame,
    *,
    freq: Freq = Freq.W,
    source: str | None = None,
) -> Dataset:
    """Hourly sensor counts summed per area (via the sensor's location), period and metric."""
    freq = Freq.parse(freq, "map_sensors")
    raw = read_allowed(path, COUNT_COLUMNS)
    if raw.empty:
        raise SchemaError(
            "at least one row of counts", where=Location(file=str(path)), fix="check the export"
        )
    _check_ids(raw, path)
    hours, bad, _ = parse_timestamps(raw["hour"])
    bad = (
        bad | hours.isna().to_numpy() | (hours.dt.minute.fillna(0) + hours.dt.second.fillna(0) > 0).to_numpy()
    )
    if bad.any():
        raise _error(
            path, raw, bad, "hour", "the start of an hour, e.g. 2024-03-04T13:00", "round to the hour"
        )
    metric_bad = ~raw["metric"].isin(METRICS).to_numpy()
    if metric_bad.any():
        raise _error(path, raw, metric_bad, "metric", f"one of {', '.join(METRICS)}", "rename the metric")
    counts = pd.to_numeric(raw["count"], errors="coerce")
    count_bad = (counts.isna() | (counts < 0) | (counts % 1 != 0)).to_numpy()
    if count_bad.any():
        raise _error(path, raw, count_bad, "count", "a non-negative whole number", "correct the count")
    twice = raw.assign(hour=hours).duplicated(["sensor_id", "hour", "metric"]).to_numpy()
    if twice.any():
        raise _error(path, raw, twice, "hour", "one row per sensor, hour and metric", "remove the duplicate")
    unknown = ~raw["sensor_id"].isin(set(locations["sensor_id"])).to_numpy()
    if unknown.any():
        raise _error(
            path, raw, unknown, "sensor_id", "a sensor listed in the sensors file", "add its location"
        )
    buurten = areas[areas["level"] == "buurt"]
    codes = assign_areas(locations["x"].to_numpy(), locations["y"].to_numpy(), buurten)
    if any(c is None for c in codes):
        lost = locations["sensor_id"][[c is None for c in codes]].tolist()
        raise SchemaError(
            f"every sensor inside a buurt of the store; outside: {', '.join(map(str, lost[:10]))}",
            fix="check the sensor coordinates and --crs, or fetch the geometry of the right municipality",
        )
    area_of = dict(zip(locations["sensor_id"], codes, strict=True))
    frame = pd.DataFrame(
        {
            "area_code": raw["sensor_id"].map(area_of).to_numpy(dtype=object),
            "period_start": freq.start(hours),
            "category": raw["metric"].to_numpy(dtype=object),
            "count": counts.to_numpy(dtype="int64"),
        }
    )
    incidents = frame.groupby(["area_code", "period_start", "category"], as_index=False, sort=True).agg(
        count=("count", "sum")
    )
    incidents.insert(2, "freq", freq.value)
    incidents["source"] = source or f"sensors:{path.stem}"
    provenance = {
        "dataset": "sensor-aggregates",
        "file": str(path),
        "hash": file_sha256(path),
        "rows_read": len(raw),
        "sensors": int(raw["sensor_id"].nunique()),
        "details": {"hours": [str(hours.min()), str(hours.max())], "freq": freq.value},
    }
    return Dataset({"incidents": incidents}, str(incidents["source"].iloc[0]), provenance)


def _check_ids(raw: pd.DataFrame, path: Path) -> None:
    bad = ~raw["sensor_id"].str.fullmatch(SENSOR_ID).fillna(False).to_numpy(dtype=bool)
    if bad.any():
        raise _error(path, raw, bad, "sensor_id", "a short sensor id (letters, digits, _ . : -; at most 64)",
                     "use the sensor's registry id")  # fmt: skip


def _error(
    path: Path, raw: pd.DataFrame, mask: np.ndarray, column: str, expected: str, fix: str
) -> SchemaError:
    rows = np.flatnonzero(mask)
    more = f" ({len(rows)} rows in all)" if len(rows) > 1 else ""
    where = Location(file=str(path), row=int(rows[0]) + 1, column=column, value=raw[column].iloc[rows[0]])
    return SchemaError(expected + more, where=where, fix=fix)
