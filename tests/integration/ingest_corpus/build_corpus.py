"""Build the ingest corpus: good real-looking files, malformed files and files with planted person data.

Run ``python tests/integration/ingest_corpus/build_corpus.py`` to rewrite ``files/`` and ``manifest.csv``;
``tests/integration/test_ingest_corpus.py`` imports every file through the CLI and checks the outcome the
manifest states. Everything is deterministic (fixed seeds, fixed UUIDs), so a rebuild changes no CSV.

Manifest columns: ``file`` (under files/), ``command`` (import or import-mapped), ``table``, ``options`` (extra
CLI arguments, space-separated), ``expect`` (accept or refuse), ``rows`` (rows stored when accepted), ``kind``
(good, pii or malformed), ``must`` (text the refusal must contain besides the file name).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import shutil
import sqlite3
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path

import geopandas
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
from pyproj import Transformer

HERE = Path(__file__).resolve().parent
FILES = HERE / "files"
MANIFEST = HERE / "manifest.csv"
PII_MESSAGE = "person-level data refused"

BUURTEN = (
    ("BU09170000", "Heerlen-Centrum", "WK091700"),
    ("BU09170001", "Pater Kustersstraat", "WK091700"),
    ("BU09170002", "Molenberg", "WK091700"),
    ("BU09170100", "Meezenbroek en Schaesbergveld", "WK091701"),
    ("BU09170101", "Jan van Galenstraat", "WK091701"),
    ("BU09170102", "Caumerveld", "WK091701"),
    ("BU09170103", "Eikenderveld", "WK091701"),
    ("BU09170104", "Heksenberg", "WK091701"),
)
WIJKEN = (("WK091700", "Heerlen-Centrum"), ("WK091701", "Heerlerbaan"))
VARIABLES = (
    "AantalInwoners_5",
    "Bevolkingsdichtheid_33",
    "GemiddeldInkomenPerInwoner_72",
    "k_65JaarOfOuder_12",
    "GemiddeldeWOZWaardeVanWoningen_35",
)
CATEGORIES = ("burglary_residential", "theft", "violence", "vandalism", "youth_nuisance")
VALID_BSN = "111222333"
INVALID_NINE = ("123456789", "987654320", "555444331", "100000001", "246813579", "864209753")
PII: dict[str, str] = {
    "bsn": VALID_BSN,
    "name": "Jan de Vries",
    "birth": "1985-03-12",
    "address": "Akerstraat 12",
    "email": "j.devries@example.nl",
    "phone": "06-12345678",
    "plate": "12-ABC-3",
}
PII_IN_TEXT: dict[str, str] = {
    "bsn": f"melding {VALID_BSN}",
    "name": "melder Pieter Jansen",
    "birth": "geboren 12-03-1985",
}


def _square(x: float, y: float, size: float = 400.0) -> str:
    return f"POLYGON (({x} {y}, {x + size} {y}, {x + size} {y + size}, {x} {y + size}, {x} {y}))"


def areas_frame() -> pd.DataFrame:
    rows = [("GM0917", "Heerlen", "gemeente", "", _square(191000, 318000, 8000))]
    rows += [(code, name, "wijk", "GM0917", _square(193000 + 2000 * i, 320000, 2000))
             for i, (code, name) in enumerate(WIJKEN)]  # fmt: skip
    rows += [(code, name, "buurt", parent, _square(193000 + 400 * i, 320000))
             for i, (code, name, parent) in enumerate(BUURTEN)]  # fmt: skip
    return pd.DataFrame(rows, columns=["area_code", "name", "level", "parent_code", "geometry"])


def covariates_frame() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = [(code, year, var, float(round(rng.uniform(10, 5000), 1)))
            for code, _, _ in BUURTEN for year in (2022, 2023) for var in VARIABLES]  # fmt: skip
    return pd.DataFrame(rows, columns=["area_code", "year", "variable", "value"])


def incidents_frame(freq: str = "W") -> pd.DataFrame:
    rng = np.random.default_rng(2)
    starts = pd.date_range("2023-01-02", periods=6, freq="W-MON" if freq == "W" else "MS")
    rows = [(code, d.strftime("%Y-%m-%d"), freq, cat, int(rng.poisson(2)), "police:47022NED")
            for code, _, _ in BUURTEN[:5] for d in starts for cat in CATEGORIES[:3]]  # fmt: skip
    return pd.DataFrame(rows, columns=["area_code", "period_start", "freq", "category", "count", "source"])


def event_ids(style: str, n: int) -> list[str]:
    if style == "uuid":
        return [str(uuid.UUID(int=(i + 1) * 7919 * 10**25)) for i in range(n)]
    if style == "nine":
        return [INVALID_NINE[i % len(INVALID_NINE)][:-3] + f"{i:03d}" for i in range(n)]
    return [f"ev-2023-{i:06d}" for i in range(n)]


def events_frame(style: str = "plain", n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    ids = event_ids(style, n)
    if style == "nine":  # keep only ids failing the BSN 11-check
        ids = [i for i in ids if not _bsn_ok(i)]
        n = len(ids)
    times = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 90 * 24 * 60, n), unit="min")
    return pd.DataFrame(
        {
            "event_id": ids,
            "category": [CATEGORIES[i % 4] for i in range(n)],
            "occurred_at": times.strftime("%Y-%m-%dT%H:%M:%S"),
            "x": np.round(rng.uniform(193000, 196000, n), 2),
            "y": np.round(rng.uniform(320000, 322000, n), 2),
            "source": "police:meldingen",
        }
    )


def protected_frame() -> pd.DataFrame:
    rows = [(code, 2023, attr, round(0.05 + 0.01 * i, 3))
            for i, (code, _, _) in enumerate(BUURTEN)
            for attr in ("herkomst_buiten_europa_share", "lage_inkomens_share")]  # fmt: skip
    return pd.DataFrame(rows, columns=["area_code", "year", "attribute", "value"])


def forecasts_frame() -> pd.DataFrame:
    rows = [("run-20230301-01", model, code, "burglary_residential", d, 1.5, 0.0, 1.0, 4.0)
            for model in ("seasonal_naive", "poisson_glm") for code, _, _ in BUURTEN
            for d in ("2023-03-06", "2023-03-13")]  # fmt: skip
    return pd.DataFrame(
        rows,
        columns=["run_id", "model", "area_code", "category", "period_start", "mean", "q05", "q50", "q95"],
    )


def truth_frame() -> pd.DataFrame:
    rows = [(code, cat, d, 0.8) for code, _, _ in BUURTEN for cat in CATEGORIES[:2]
            for d in ("2023-01-02", "2023-01-09", "2023-01-16")]  # fmt: skip
    return pd.DataFrame(rows, columns=["area_code", "category", "period_start", "intensity"])


def _bsn_ok(text: str) -> bool:
    digits = [int(c) for c in text.zfill(9)]
    total = sum(w * d for w, d in zip((9, 8, 7, 6, 5, 4, 3, 2, -1), digits, strict=True))
    return total % 11 == 0 and total != 0


TABLES: dict[str, Callable[[], pd.DataFrame]] = {
    "areas": areas_frame,
    "covariates": covariates_frame,
    "incidents": incidents_frame,
    "events": events_frame,
    "protected": protected_frame,
    "forecasts": forecasts_frame,
    "truth": truth_frame,
}
TEXT_COLUMNS: dict[str, tuple[str, ...]] = {
    "areas": ("area_code", "name", "level", "parent_code"),
    "covariates": ("area_code", "variable"),
    "incidents": ("area_code", "freq", "category", "source"),
    "events": ("event_id", "category", "source"),
    "protected": ("area_code", "attribute"),
    "forecasts": ("run_id", "model", "area_code", "category"),
    "truth": ("area_code", "category"),
}
FREE_COLUMNS = frozenset({"name", "variable", "source", "event_id", "attribute", "run_id", "model"})
"""Text columns whose values are free labels: only the PII guard can refuse what is planted there."""


class Corpus:
    """Collects files and manifest rows."""

    def __init__(self) -> None:
        self.rows: list[dict[str, object]] = []

    def add(self, name: str, data: bytes | str, table: str, expect: str, kind: str, *,
            rows: int = 0, options: str = "", must: str = "", command: str = "import") -> None:  # fmt: skip
        path = FILES / name
        assert not path.exists(), name
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        self.rows.append({"file": name, "command": command, "table": table, "options": options,
                          "expect": expect, "rows": rows, "kind": kind, "must": must})  # fmt: skip

    def good(self, name: str, data: bytes | str, table: str, rows: int, options: str = "") -> None:
        self.add(name, data, table, "accept", "good", rows=rows, options=options)

    def bad(self, name: str, data: bytes | str, table: str, must: str, options: str = "") -> None:
        self.add(name, data, table, "refuse", "malformed", must=must, options=options)


def csv_text(frame: pd.DataFrame, delimiter: str = ",") -> str:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, sep=delimiter, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    return buffer.getvalue()


def parquet_bytes(table: pa.Table | pd.DataFrame) -> bytes:
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table, preserve_index=False)
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def typed(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Typed columns as a Parquet export would hold them (dates as dates, timestamps as timestamps)."""
    out = frame.copy()
    if "period_start" in out:
        out["period_start"] = pd.to_datetime(out["period_start"]).dt.date
    if "occurred_at" in out:
        out["occurred_at"] = pd.to_datetime(out["occurred_at"])
    return out


def geo_bytes(frame: pd.DataFrame, driver: str, crs: int | None, tmp: Path) -> bytes:
    gdf = geopandas.GeoDataFrame(frame.drop(columns="geometry"),
                                 geometry=geopandas.GeoSeries.from_wkt(frame["geometry"]), crs=28992)  # fmt: skip
    if crs == 4326:
        gdf = gdf.to_crs(4326)
    elif crs is None:
        gdf = gdf.set_crs(None, allow_override=True)
    path = tmp / ("x.gpkg" if driver == "GPKG" else "x.geojson")
    path.unlink(missing_ok=True)
    gdf.to_file(path, driver=driver, engine="pyogrio", **({"layer": "buurten"} if driver == "GPKG" else {}))
    return path.read_bytes()


def planted(frame: pd.DataFrame, column: str, value: str, row: int = 2) -> pd.DataFrame:
    out = frame.copy()
    out[column] = out[column].astype(object)
    out.loc[row, column] = value
    return out


def build_pii(corpus: Corpus) -> None:
    for table, make in TABLES.items():
        frame = make()
        for column in TEXT_COLUMNS[table]:
            free = column in FREE_COLUMNS
            # Codes, levels, freqs and slugs have strict formats the validator enforces anyway: three kinds there.
            kinds = PII | {f"{k}_in_text": v for k, v in PII_IN_TEXT.items()} if free else {
                k: PII[k] for k in ("bsn", "name", "email")}  # fmt: skip
            for i, (kind, value) in enumerate(kinds.items()):
                bad = planted(frame, column, value)
                must = PII_MESSAGE if free else ""
                stem = f"pii_{table}_{column}_{kind}"
                if free or i % 2 == 0:
                    corpus.add(f"{stem}.csv", csv_text(bad), table, "refuse", "pii", must=must)
                if free or i % 2 == 1:
                    corpus.add(f"{stem}.parquet", parquet_bytes(typed(table, bad)), table, "refuse", "pii",
                               must=must)  # fmt: skip
        extra = frame.assign(opmerking="melder Jan de Vries, Akerstraat 12")
        corpus.add(f"pii_{table}_extra_column.csv", csv_text(extra), table, "refuse", "pii", must=PII_MESSAGE)
        bsn_column = frame.assign(bsn=VALID_BSN)
        corpus.add(f"pii_{table}_bsn_column.parquet", parquet_bytes(typed(table, bsn_column)), table,
                   "refuse", "pii", must=PII_MESSAGE)  # fmt: skip
    # Person data inside a GeoJSON / GeoPackage area name.
    tmp = FILES / ".tmp"
    tmp.mkdir(exist_ok=True)
    for kind in ("name", "bsn", "email"):
        bad = planted(areas_frame().iloc[3:].reset_index(drop=True), "name", PII[kind])
        corpus.add(f"pii_areas_name_{kind}.geojson", geo_bytes(bad, "GeoJSON", 4326, tmp), "areas",
                   "refuse", "pii", must=PII_MESSAGE)  # fmt: skip
        corpus.add(f"pii_areas_name_{kind}.gpkg", geo_bytes(bad, "GPKG", 28992, tmp), "areas", "refuse",
                   "pii", must=PII_MESSAGE, options="--layer buurten")  # fmt: skip
    shutil.rmtree(tmp)


def mapped_frame() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    n = 30
    days = pd.Timestamp("2023-01-02") + pd.to_timedelta(rng.integers(0, 28, n), unit="D")
    return pd.DataFrame(
        {
            "buurtcode": [BUURTEN[i % 5][0] for i in range(n)],
            "datum": days.strftime("%d-%m-%Y"),
            "soort": [("Jeugdoverlast", "Zwerfvuil")[i % 2] for i in range(n)],
            "aantal": rng.integers(1, 4, n),
        }
    )


MAPPING = """source: gemeente:meldingen
freq: W
area: {column: buurtcode}
date: {column: datum, format: "%d-%m-%Y"}
category:
  column: soort
  map: {Jeugdoverlast: youth_nuisance, Zwerfvuil: public_space_reports}
count: {column: aantal}
fill_zeros: false
"""


def xlsx_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_excel(buffer, index=False, sheet_name="meldingen", engine="openpyxl")
    return buffer.getvalue()


def mapped_rows(frame: pd.DataFrame) -> int:
    starts = pd.to_datetime(frame["datum"], format="%d-%m-%Y")
    weeks = starts - pd.to_timedelta(starts.dt.day_of_week, unit="D")
    return int(
        pd.DataFrame({"a": frame["buurtcode"], "w": weeks, "c": frame["soort"]}).drop_duplicates().shape[0]
    )


def build_mapped(corpus: Corpus) -> None:
    (FILES / "mapping_meldingen.yaml").write_text(MAPPING, encoding="utf-8")
    frame = mapped_frame()
    options = "--mapping {dir}/mapping_meldingen.yaml"
    rows = mapped_rows(frame)
    for i in range(3):
        part = frame.iloc[i * 10 :].reset_index(drop=True)
        corpus.add(f"good_mapped_meldingen_{i}.xlsx", xlsx_bytes(part), "incidents", "accept", "good",
                   rows=mapped_rows(part), options=options, command="import-mapped")  # fmt: skip
    corpus.add("good_mapped_meldingen.csv", csv_text(frame), "incidents", "accept", "good", rows=rows,
               options=options, command="import-mapped")  # fmt: skip
    extras = {
        "opmerking_name": ("opmerking", "Jan de Vries"),
        "opmerking_address": ("opmerking", "Akerstraat 12, Heerlen"),
        "opmerking_bsn": ("kenmerk", VALID_BSN),
        "melder_email": ("contact", "j.devries@example.nl"),
        "phone": ("terugbellen", "06-12345678"),
        "birth": ("geboortedatum", "12-03-1985"),
        "plate": ("voertuig", "12-ABC-3"),
    }
    for kind, (column, value) in extras.items():
        bad = frame.assign(**{column: "geen"})
        bad.loc[3, column] = value
        corpus.add(f"pii_mapped_{kind}.xlsx", xlsx_bytes(bad), "incidents", "refuse", "pii", must=PII_MESSAGE,
                   options=options, command="import-mapped")  # fmt: skip
    for column, value in (
        ("soort", "Jan de Vries"),
        ("buurtcode", VALID_BSN),
        ("datum", "j.devries@example.nl"),
    ):
        bad = planted(frame, column, value, row=5)
        corpus.add(f"pii_mapped_in_{column}.xlsx", xlsx_bytes(bad), "incidents", "refuse", "pii",
                   must=PII_MESSAGE, options=options, command="import-mapped")  # fmt: skip


def build_good(corpus: Corpus) -> None:
    for table, make in TABLES.items():
        frame = make()
        n = len(frame)
        corpus.good(f"good_{table}.csv", csv_text(frame), table, n)
        corpus.good(f"good_{table}_bom.csv", csv_text(frame).encode("utf-8-sig"), table, n)
        corpus.good(f"good_{table}_semicolon.csv", csv_text(frame, ";"), table, n)
        corpus.good(f"good_{table}.parquet", parquet_bytes(typed(table, frame)), table, n)
        corpus.good(f"good_{table}_utf16.csv", csv_text(frame).encode("utf-16"), table, n)
        corpus.good(f"good_{table}_gzip.csv", gzip.compress(csv_text(frame).encode(), mtime=0), table, n)
    cp = areas_frame()
    cp.loc[5, "name"] = "Caumerveld-Één"
    cp.loc[6, "name"] = "Hoensbroek-Café"
    corpus.good("good_areas_cp1252.csv", csv_text(cp).encode("cp1252"), "areas", len(cp))
    corpus.good("good_areas_utf8_accents.csv", csv_text(cp), "areas", len(cp))
    corpus.good("good_areas_utf16le_nobom.csv", csv_text(cp).encode("utf-16-le"), "areas", len(cp))
    wgs = areas_frame()
    to_wgs = Transformer.from_crs(28992, 4326, always_xy=True)
    wgs["geometry"] = [shapely.to_wkt(shapely.transform(shapely.from_wkt(g), lambda c: np.column_stack(
        to_wgs.transform(c[:, 0], c[:, 1]))), rounding_precision=8) for g in wgs["geometry"]]  # fmt: skip
    corpus.good("good_areas_wgs84.csv", csv_text(wgs), "areas", len(wgs), "--crs EPSG:4326")
    corpus.good("good_areas_rd_declared.csv", csv_text(areas_frame()), "areas", len(wgs), "--crs EPSG:28992")
    corpus.bad("bad_areas_wgs84_undeclared.csv", csv_text(wgs), "areas", "--crs")
    corpus.bad("bad_areas_crs_unknown.csv", csv_text(wgs), "areas", "EPSG:99999", "--crs EPSG:99999")
    corpus.bad("bad_areas_crs_garbage.csv", csv_text(wgs), "areas", "banana", "--crs banana")
    corpus.bad("bad_areas_crs_wrong.csv", csv_text(areas_frame()), "areas", "--crs", "--crs EPSG:4326")
    ev = events_frame()
    x, y = to_wgs.transform(ev["x"].to_numpy(), ev["y"].to_numpy())
    ev_wgs = ev.assign(x=np.round(x, 7), y=np.round(y, 7))
    corpus.good("good_events_wgs84.csv", csv_text(ev_wgs), "events", len(ev), "--crs EPSG:4326")
    corpus.bad("bad_events_wgs84_undeclared.csv", csv_text(ev_wgs), "events", "--crs")
    for style in ("uuid", "nine"):
        frame = events_frame(style)
        corpus.good(f"good_events_{style}.csv", csv_text(frame), "events", len(frame))
        corpus.good(
            f"good_events_{style}.parquet", parquet_bytes(typed("events", frame)), "events", len(frame)
        )
    incidents = pa.Table.from_pandas(typed("incidents", incidents_frame("M")), preserve_index=False)
    dictionary = incidents.set_column(3, "category", pc_dictionary(incidents.column("category"))).set_column(
        5, "source", pc_dictionary(incidents.column("source"))
    )
    corpus.good("good_incidents_dictionary.parquet", parquet_bytes(dictionary), "incidents", len(incidents))
    categorical = typed("incidents", incidents_frame()).astype({"category": "category", "freq": "category"})
    corpus.good(
        "good_incidents_categorical.parquet", parquet_bytes(categorical), "incidents", len(categorical)
    )
    tmp = FILES / ".tmp"
    tmp.mkdir(exist_ok=True)
    buurten = areas_frame().iloc[3:].reset_index(drop=True)
    corpus.good("good_areas.geojson", geo_bytes(buurten, "GeoJSON", 4326, tmp), "areas", len(buurten))
    corpus.good("good_areas.gpkg", geo_bytes(buurten, "GPKG", 28992, tmp), "areas", len(buurten))
    corpus.good("good_areas_wgs84.gpkg", geo_bytes(buurten, "GPKG", 4326, tmp), "areas", len(buurten))
    nosrs = geo_bytes(buurten, "GPKG", None, tmp)
    corpus.bad("bad_areas_no_srs.gpkg", nosrs, "areas", "CRS")
    corpus.good("good_areas_no_srs_declared.gpkg", nosrs, "areas", len(buurten), "--crs EPSG:28992")
    corpus.bad("bad_areas_gpkg_srs_conflict.gpkg", geo_bytes(buurten, "GPKG", 28992, tmp), "areas",
               "--crs", "--crs EPSG:4326")  # fmt: skip
    geojson = geo_bytes(buurten, "GeoJSON", 4326, tmp)
    corpus.bad("bad_areas_truncated.geojson", geojson[: len(geojson) // 2], "areas", "")
    gpkg = geo_bytes(buurten, "GPKG", 28992, tmp)
    corpus.bad("bad_areas_truncated.gpkg", gpkg[: len(gpkg) // 3], "areas", "")
    corpus.bad("bad_areas_srs_undefined.gpkg", _undefined_srs(gpkg, tmp), "areas", "CRS")
    shutil.rmtree(tmp)


def pc_dictionary(column: pa.ChunkedArray) -> pa.ChunkedArray:
    return column.dictionary_encode()


def _undefined_srs(gpkg: bytes, tmp: Path) -> bytes:
    """A GeoPackage whose layer points at srs_id 0 ('undefined geographic SRS'), as some tools write."""
    path = tmp / "undefined.gpkg"
    path.write_bytes(gpkg)
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE gpkg_geometry_columns SET srs_id = 0")
        connection.execute("UPDATE gpkg_contents SET srs_id = 0")
    return path.read_bytes()


def build_malformed(corpus: Corpus) -> None:
    incidents = csv_text(incidents_frame())
    header, *lines = incidents.splitlines(keepends=True)
    corpus.bad("bad_duplicate_columns.csv", header.replace("source", "count") + "".join(lines), "incidents",
               "more than once")  # fmt: skip
    dup = pa.table([pa.array(["a"]), pa.array(["b"])], names=["area_code", "area_code"])
    corpus.bad("bad_duplicate_columns.parquet", parquet_bytes(dup), "incidents", "more than once")
    cov = csv_text(covariates_frame())
    corpus.bad("bad_undefined_cp1252_byte.csv", cov.encode() + b"BU09170000,2024,Aantal\x81,1.0\n", "covariates",
               "read: {encoding")  # fmt: skip
    corpus.bad("bad_mixed_encoding.csv", csv_text(areas_frame()).encode() + "BU09170105,Café,buurt,WK091701,"
               "POLYGON ((0 0, 1 0, 1 1, 0 0))\n".encode("cp1252") + "BU09170106,Één,buurt\n".encode(),
               "areas", "mixes UTF-8")  # fmt: skip
    corpus.bad("bad_invalid_utf8.csv", cov.encode() + b"BU09170000,2024,\xc3\x28\x8d\x9d,1.0\n", "covariates",
               "valid in neither")  # fmt: skip
    rng = np.random.default_rng(5)
    garbage = rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()
    corpus.bad("bad_binary_garbage.csv", garbage, "incidents", "binary")
    corpus.bad("bad_garbage_after_header.csv", header.encode() + garbage, "incidents", "binary")
    corpus.bad("bad_binary_garbage.parquet", garbage, "incidents", "Parquet")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("incidents.csv", incidents)
    corpus.bad("bad_zip_named.csv", buffer.getvalue(), "incidents", "ZIP archive")
    corpus.bad("bad_xlsx_named.csv", xlsx_bytes(incidents_frame()), "incidents", "Excel workbook")
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + rng.integers(0, 256, 600, dtype=np.uint8).tobytes()
    corpus.bad("bad_png_named.csv", png, "incidents", "PNG image")
    corpus.bad("bad_png_named.parquet", png, "incidents", "PNG image")
    corpus.bad("bad_parquet_named.csv", parquet_bytes(typed("incidents", incidents_frame())), "incidents",
               "Parquet file")  # fmt: skip
    corpus.bad("bad_csv_named.parquet", incidents, "incidents", "Parquet")
    corpus.bad("bad_gzip_truncated.csv", gzip.compress(incidents.encode() * 20, mtime=0)[:200], "incidents",
               "GZIP")  # fmt: skip
    corpus.bad("bad_truncated.parquet", parquet_bytes(typed("incidents", incidents_frame()))[:300], "incidents",
               "Parquet")  # fmt: skip
    corpus.bad("bad_empty_file.csv", b"", "incidents", "header")
    corpus.bad("bad_ragged_rows.csv", header + lines[0] + "BU09170000,2023-01-09,W\n", "incidents", "CSV")
    corpus.bad("bad_empty_count.csv", header + lines[0] + lines[1].replace(",police", ",,police").replace(
        lines[1].split(",")[4] + ",", "", 1), "incidents", "row 2, column 'count'")  # fmt: skip
    nulls = typed("incidents", incidents_frame()).astype({"count": "Int64"})
    nulls.loc[4, "count"] = pd.NA
    corpus.bad("bad_null_count.parquet", parquet_bytes(nulls), "incidents", "row 5, column 'count'")
    corpus.good("good_withheld_count.csv", header + lines[0] + _empty_count(lines[1]), "incidents", 2,
                "--allow-withheld")  # fmt: skip
    total = sum(int(line.split(",")[4]) for line in lines)
    for label in ("Totaal", "Total", "TOTAAL", ""):
        corpus.bad(f"bad_total_row_{label or 'blank'}.csv",
                   incidents + f"{label},2023-01-02,W,burglary_residential,{total},police:47022NED\n",
                   "incidents", "area_code")  # fmt: skip
    corpus.bad("bad_total_row_covariates.csv", cov + "Totaal,2023,AantalInwoners_5,12345.0\n", "covariates",
               "total")  # fmt: skip
    corpus.bad("bad_events_outside_rd.csv", csv_text(events_frame().assign(x=5.98, y=50.88)), "events",
               "--crs")  # fmt: skip
    corpus.bad("bad_unknown_column.csv", csv_text(incidents_frame().assign(wijk="x")), "incidents", "wijk")
    corpus.bad("bad_json_document.geojson", b'{"type": "FeatureCollection", "features": [', "areas", "")
    corpus.bad("bad_geojson_not_json.geojson", garbage, "areas", "")


def absurd_files() -> dict[str, tuple[str, bytes, str]]:
    """Files with absurd values (a count of a million digits, one-megabyte ids and sources): file name ->
    (table, content, text the refusal must hold). Built by the corpus test at run time, not committed."""
    incidents = csv_text(incidents_frame())
    return {
        "bad_huge_count.csv": ("incidents", (incidents + "BU09170003,2023-01-02,W,theft," + "9" * 1_000_000
                               + ",police:47022NED\n").encode(), "column 'count'"),
        "bad_huge_event_id.csv": ("events", csv_text(planted(events_frame(), "event_id", "x" * 1_048_576))
                                  .encode(), "column 'event_id'"),
        "bad_huge_source.csv": ("incidents", csv_text(planted(incidents_frame(), "source", "police " * 150_000))
                                .encode(), "column 'source'"),
        "bad_huge_source.parquet": ("incidents", parquet_bytes(typed("incidents", planted(
            incidents_frame(), "source", "s" * 1_048_576))), "column 'source'"),
        "bad_huge_variable.parquet": ("covariates", parquet_bytes(planted(
            covariates_frame(), "variable", "Aantal" * 200_000)), "column 'variable'"),
    }  # fmt: skip


def _empty_count(line: str) -> str:
    parts = line.split(",")
    parts[4] = ""
    return ",".join(parts)


def build() -> None:
    if FILES.exists():
        shutil.rmtree(FILES)
    FILES.mkdir(parents=True)
    corpus = Corpus()
    build_good(corpus)
    build_malformed(corpus)
    build_pii(corpus)
    build_mapped(corpus)
    with MANIFEST.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(corpus.rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(corpus.rows)
    counts = pd.DataFrame(corpus.rows).groupby(["kind", "expect"]).size()
    print(counts.to_string())
    print(json.dumps({"files": len(corpus.rows)}))


if __name__ == "__main__":
    build()
