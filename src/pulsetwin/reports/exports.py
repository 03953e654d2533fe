"""Forecasts and hotspot maps as files an analyst opens in QGIS or a spreadsheet, marked with their statuses.

Every row carries the run id, the area (or cell) name, the category's vocabulary label, and the run's two
statuses (:mod:`pulsetwin.audit.release`): ``skill_status`` (beats / does_not / cannot_assess the best naive
rule) and ``release_status`` (released / blocked / cannot_assess / not_audited), so a file of a blocked run is
never unmarked. ``.gpkg`` and ``.geojson`` add the geometry (GeoPackage in RD New, EPSG:28992; GeoJSON per
RFC 7946 in WGS84); ``.csv`` and ``.parquet`` carry the same columns without geometry. Forecast files start with
the canonical forecast columns in their order; the added columns follow.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from pulsetwin.audit.release import RELEASE_STATES, run_statuses
from pulsetwin.audit.summary import category_label
from pulsetwin.exceptions import StoreError
from pulsetwin.schema.tables import CRS_EPSG, FORECAST_LABELS, FORECASTS

if TYPE_CHECKING:
    from pulsetwin.store.database import Store

HOTSPOT_COLUMNS = ("run_id", "cell_code", "area_name", "category", "category_label", "origin", "window_days",
                   "mean", "rank", "skill_status", "release_status")  # fmt: skip
SUFFIXES = (".csv", ".parquet", ".gpkg", ".geojson")


def _check_suffix(out: Path) -> str:
    """The lower-case suffix of ``out``; StoreError naming the accepted ones otherwise."""
    suffix = out.suffix.lower()
    if suffix not in SUFFIXES:
        raise StoreError(
            f"cannot write '{out}': the file name must end in one of {', '.join(SUFFIXES)}. "
            "Fix: choose another file name"
        )
    return suffix


def forecast_frame(store: Store, run_id: str | None = None) -> pd.DataFrame:
    """The forecasts of ``run_id`` (default: every run) with area name, category label, both statuses and the
    area's WKT geometry (column ``geometry``, None for an area without one)."""
    where = None if run_id is None else {"run_id": run_id}
    forecasts = store.read("forecasts", where=where)
    if forecasts.empty:
        which = "the store" if run_id is None else f"run '{run_id}'"
        raise StoreError(f"{which} holds no forecasts. Fix: run `pulsetwin forecast` first")
    areas = store.read("areas")[["area_code", "name", "geometry"]].drop_duplicates("area_code")
    out = forecasts[list(FORECASTS.column_names)].merge(
        areas.rename(columns={"name": "area_name"}), on="area_code", how="left"
    )
    out["category_label"] = [category_label(str(c), "nl") for c in out["category"]]
    statuses = {rid: run_statuses(store, str(rid)) for rid in out["run_id"].unique()}
    out["skill_status"] = out["run_id"].map({rid: s.state for rid, (s, _) in statuses.items()})
    out["release_status"] = out["run_id"].map({rid: r.state for rid, (_, r) in statuses.items()})
    return out[[*FORECASTS.column_names, *FORECAST_LABELS, "geometry"]]


def hotspot_frame(store: Store, run_id: str | None = None) -> pd.DataFrame:
    """The cells of a stored hotspot map (default: the latest) with the square geometry of each cell as WKT.

    A hotspot map is not backtested against naive rules nor audited when it is made, so its statuses say so
    (``cannot_assess``, ``not_audited``) rather than borrowing a forecast run's.
    """
    runs = store.runs()
    maps = runs[runs["kind"] == "hotspots"]
    if maps.empty:
        raise StoreError("the store holds no hotspot map. Fix: run `pulsetwin hotspots` first")
    chosen = run_id or str(maps["run_id"].iloc[-1])
    if chosen not in set(maps["run_id"]):
        raise StoreError(
            f"no hotspot run '{chosen}' in the store. Fix: pass one of {list(maps['run_id'])[-5:]}"
        )
    record = store.get_run(chosen)
    store.runs()  # get_run leaves a result half-fetched (see audit.gate._get_run)
    metrics = record.metrics
    cells = pd.DataFrame(metrics["cells"])
    size = float(metrics["cell_m"])
    x0, y0 = cells["x_min"].astype(float), cells["y_min"].astype(float)
    cells["geometry"] = [
        f"POLYGON (({x} {y}, {x + size} {y}, {x + size} {y + size}, {x} {y + size}, {x} {y}))"
        for x, y in zip(x0, y0, strict=True)
    ]
    categories = [str(c) for c in metrics.get("categories", [])]
    cells["run_id"] = chosen
    cells["area_name"] = cells["cell_code"]
    cells["category"] = ",".join(categories)
    cells["category_label"] = ", ".join(category_label(c, "nl") for c in categories)
    cells["origin"] = str(metrics.get("origin", ""))[:10]
    cells["window_days"] = metrics.get("window_days")
    cells["skill_status"] = "cannot_assess"
    cells["release_status"] = RELEASE_STATES[3]
    return cells[[*HOTSPOT_COLUMNS, "geometry"]].sort_values("rank", kind="stable").reset_index(drop=True)


def write_frame(frame: pd.DataFrame, out: Path, *, layer: str) -> Path:
    """Write ``frame`` (WKT in ``geometry``) by suffix: geometry in .gpkg/.geojson, dropped in .csv/.parquet.

    Written to a temporary file next to ``out`` first, then renamed, so a failed write leaves no half file.
    """
    suffix = _check_suffix(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.{os.getpid()}.tmp{out.suffix}")
    try:
        if suffix in (".csv", ".parquet"):
            plain = frame.drop(columns="geometry")
            if suffix == ".csv":
                plain.to_csv(tmp, index=False, date_format="%Y-%m-%d")
            else:
                plain.to_parquet(tmp, index=False)
        else:
            import geopandas

            geometry = geopandas.GeoSeries.from_wkt(frame["geometry"], crs=CRS_EPSG)
            gdf = geopandas.GeoDataFrame(frame.drop(columns="geometry"), geometry=geometry, crs=CRS_EPSG)
            if suffix == ".geojson":
                gdf.to_crs(4326).to_file(tmp, driver="GeoJSON", engine="pyogrio", RFC7946="YES")
            else:
                gdf.to_file(tmp, layer=layer, driver="GPKG", engine="pyogrio")
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out
