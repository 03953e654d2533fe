"""CBS wijk- en buurtkaart from the PDOK OGC API (GeoJSON) into canonical areas in EPSG:28992.

Each level (gemeenten, wijken, buurten) is one collection, filtered on ``gemeentecode`` and paged through the
``next`` links. EPSG:28992 is asked for with the ``crs`` parameter; a page whose ``Content-Crs`` header does
not say EPSG:28992 is taken as GeoJSON's default CRS84 and reprojected. Water-only areas (codes ending
9997/9998 or the ``water`` flag) stay in the table and are listed in the provenance details.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urljoin

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from pulsetwin.exceptions import SourceError
from pulsetwin.schema.tables import CRS_EPSG
from pulsetwin.sources.cbs import check_gemeente
from pulsetwin.sources.dataset import Dataset, provenance_of
from pulsetwin.sources.http import HttpClient, Response
from pulsetwin.sources.settings import PDOK_PAGE_LIMIT

CRS_URI: Final = f"http://www.opengis.net/def/crs/EPSG/0/{CRS_EPSG}"
FILTER_PROPERTY: Final = "gemeentecode"
WATER_PROPERTY: Final = "water"
WATER_YES: Final = frozenset({"ja", "j", "yes", "true", "1"})
WATER_CODE: Final = re.compile(r"99(?:97|98)$")


@dataclass(frozen=True)
class _Level:
    """One collection: its level name and the properties holding code, name and parent code."""

    level: str
    collection: str
    code: str
    name: str
    parent: str | None


LEVELS: Final = (
    _Level("gemeente", "gemeenten", "gemeentecode", "gemeentenaam", None),
    _Level("wijk", "wijken", "wijkcode", "wijknaam", "gemeentecode"),
    _Level("buurt", "buurten", "buurtcode", "buurtnaam", "wijkcode"),
)
"""Collection and property names of the PDOK wijken-en-buurten OGC API (check against the live service)."""

_TO_RD: Final = Transformer.from_crs("OGC:CRS84", f"EPSG:{CRS_EPSG}", always_xy=True)


def check_feature_page(payload: Any) -> None:
    """Raise ``ValueError`` unless ``payload`` is a GeoJSON FeatureCollection page."""
    if not isinstance(payload, dict) or not isinstance(payload.get("features"), list):
        raise ValueError("a PDOK page must be a GeoJSON object with a 'features' list")
    for feature in payload["features"]:
        if not isinstance(feature, dict) or not isinstance(feature.get("properties"), dict):
            raise ValueError("every feature must be an object with 'properties'")
        if not isinstance(feature.get("geometry"), dict):
            raise ValueError("every feature must carry a 'geometry' object")


def fetch_geometry(client: HttpClient, gemeente: str, year: int, *, limit: int = PDOK_PAGE_LIMIT) -> Dataset:
    """Fetch the gemeente, its wijken and buurten of boundary ``year`` as canonical areas (not written)."""
    check_gemeente(gemeente)
    root = client.settings.pdok_root(year)
    parts, responses, water = [], [], []
    for spec in LEVELS:
        features, found, reprojected = _features(client, root, spec, gemeente, limit)
        responses.extend(found)
        frame, water_codes = _areas(
            features, spec, reprojected, where=f"{root}/collections/{spec.collection}"
        )
        water.extend(water_codes)
        parts.append(frame)
    areas = pd.concat(parts, ignore_index=True)
    _check_hierarchy(areas, gemeente)
    provenance = provenance_of(
        "cbs-wijk-en-buurtkaart",
        tables=[f"wijken-en-buurten-{year}"],
        boundary_years=[year],
        url=root,
        responses=responses,
        gemeente=gemeente,
        crs=f"EPSG:{CRS_EPSG}",
        water_area_codes=sorted(water),
    )
    messages = (
        (f"{len(water)} water-only area(s) flagged in provenance: {', '.join(sorted(water))}",)
        if water
        else ()
    )
    return Dataset({"areas": areas}, f"pdok:wijken-en-buurten-{year}", provenance, messages)


def _features(
    client: HttpClient, root: str, spec: _Level, gemeente: str, limit: int
) -> tuple[list[dict[str, Any]], list[Response], list[bool]]:
    """All features of one collection (following ``next`` links) and, per feature, whether it needs
    reprojection from CRS84."""
    url: str | None = f"{root}/collections/{spec.collection}/items"
    params: dict[str, str] | None = {
        "f": "json",
        "crs": CRS_URI,
        "limit": str(limit),
        FILTER_PROPERTY: gemeente,
    }
    features: list[dict[str, Any]] = []
    responses: list[Response] = []
    reproject: list[bool] = []
    matched: int | None = None
    seen: set[str] = set()
    while url is not None:
        if len(responses) >= client.settings.max_pages or url in seen:
            raise SourceError(
                f"{root}/{spec.collection}: paging did not end (next link {url!r}). Fix: report it"
            )
        seen.add(url)
        payload, response = client.get_json(url, params, check=check_feature_page)
        responses.append(response)
        in_rd = str(CRS_EPSG) in response.headers.get("content-crs", "")
        features.extend(payload["features"])
        reproject.extend([not in_rd] * len(payload["features"]))
        if isinstance(payload.get("numberMatched"), int):
            matched = payload["numberMatched"]
        link = next((x.get("href") for x in payload.get("links", []) if x.get("rel") == "next"), None)
        url = urljoin(response.url, link) if link and payload["features"] else None
        params = None
    if matched is not None and matched != len(features):
        raise SourceError(
            f"{root}/{spec.collection}: {len(features)} features received, the service announced {matched}. "
            "Fix: run the command again; nothing was stored"
        )
    return features, responses, reproject


def _areas(
    features: list[dict[str, Any]], spec: _Level, reproject: list[bool], *, where: str
) -> tuple[pd.DataFrame, list[str]]:
    """Features of one level as canonical area rows (WKT in EPSG:28992), and the codes of water-only areas."""
    props = pd.DataFrame([f["properties"] for f in features])
    needed = [spec.code, spec.name, *([spec.parent] if spec.parent else [])]
    if props.empty:
        raise SourceError(f"{where}: no features. Fix: check the municipality code and boundary year")
    for column in needed:
        if column not in props.columns or props[column].isna().any():
            raise SourceError(
                f"{where}: a feature without '{column}'. Fix: check the collection's properties"
            )
    codes = props[spec.code].astype(str).str.strip()
    if codes.duplicated().any():
        raise SourceError(
            f"{where}: code {codes[codes.duplicated()].iloc[0]!r} appears twice. Fix: report it"
        )
    geometry = shapely.from_geojson([json.dumps(f["geometry"]) for f in features])
    flip = np.asarray(reproject, dtype=bool)
    if flip.any():
        geometry[flip] = shapely.transform(
            geometry[flip], lambda xy: np.column_stack(_TO_RD.transform(xy[:, 0], xy[:, 1]))
        )
    if shapely.is_empty(geometry).any() or shapely.is_missing(geometry).any():
        bad = codes[shapely.is_empty(geometry) | shapely.is_missing(geometry)].iloc[0]
        raise SourceError(f"{where}: area {bad!r} has an empty geometry. Fix: report it to the publisher")
    frame = pd.DataFrame(
        {
            "area_code": codes,
            "name": props[spec.name].astype(str).str.strip(),
            "level": spec.level,
            "parent_code": props[spec.parent].astype(str).str.strip() if spec.parent else "",
            "geometry": shapely.to_wkt(geometry, rounding_precision=3),
        }
    )
    flag = props[WATER_PROPERTY].astype(str).str.strip().str.lower() if WATER_PROPERTY in props else None
    is_water = codes.str.contains(WATER_CODE) | (flag.isin(WATER_YES) if flag is not None else False)
    return frame, codes[is_water].tolist()


def _check_hierarchy(areas: pd.DataFrame, gemeente: str) -> None:
    """Every wijk lies in ``gemeente`` and every buurt in a fetched wijk."""
    wijken = set(areas.loc[areas["level"] == "wijk", "area_code"])
    checks = (("wijk", {gemeente}), ("buurt", wijken))
    for level, parents in checks:
        rows = areas[(areas["level"] == level) & ~areas["parent_code"].isin(parents)]
        if len(rows):
            row = rows.iloc[0]
            raise SourceError(
                f"{level} {row['area_code']!r} names parent {row['parent_code']!r}, which was not fetched "
                f"for {gemeente}. Fix: check the boundary year of the PDOK service"
            )
