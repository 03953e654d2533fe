"""CBS wijk- en buurtkaart from the PDOK OGC API (GeoJSON) into canonical areas in EPSG:28992.

Each level (gemeenten, wijken, buurten) is one collection, paged through the cursor in the ``next`` links
(pages carry ``numberReturned``, not ``numberMatched``). PDOK's server answers 400 to any query parameter it
is not configured for, so the municipality filter is chosen per collection from its ``/queryables``: the
``gemeentecode`` parameter when it is a queryable, else a CQL2 ``filter``, else (when the filter is refused
too) the municipality's bbox; every route is followed by the same client-side filter on ``gemeentecode``, and
the route taken is recorded in the provenance. EPSG:28992 is asked for with the ``crs`` parameter; a page
whose ``Content-Crs`` header does not say EPSG:28992 is taken as GeoJSON's default CRS84 and reprojected.

Layers hold extra water rows (``water = 'JA'``) under the same code as the land row: those are dropped (the
land row is the area) and counted in the provenance. Water-only areas (buurt codes ending 9997/9998, or only a
water row) stay in the table and are listed; the rule lives in :mod:`pulsetwin.schema.water`. The OGC API
serves boundary years 2022-2025 only; older years come from the yearly GeoPackage, imported with
``pulsetwin import areas`` (the error names the commands).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urljoin

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from pulsetwin.exceptions import SourceError
from pulsetwin.schema.tables import CRS_EPSG
from pulsetwin.schema.water import water_only, water_rows, water_rows_to_drop
from pulsetwin.sources.cbs import check_gemeente
from pulsetwin.sources.dataset import Dataset, provenance_of
from pulsetwin.sources.http import HttpClient, HttpStatusError, OfflineError, Response
from pulsetwin.sources.settings import PDOK_ATOM_URL, PDOK_GEOPACKAGE_URL, PDOK_OGC_YEARS, PDOK_PAGE_LIMIT

CRS_URI: Final = f"http://www.opengis.net/def/crs/EPSG/0/{CRS_EPSG}"
FILTER_PROPERTY: Final = "gemeentecode"


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
    returned = payload.get("numberReturned")
    if isinstance(returned, int) and returned != len(payload["features"]):
        raise ValueError(f"page announces numberReturned={returned} but holds {len(payload['features'])}")
    for feature in payload["features"]:
        if not isinstance(feature, dict) or not isinstance(feature.get("properties"), dict):
            raise ValueError("every feature must be an object with 'properties'")
        if not isinstance(feature.get("geometry"), dict):
            raise ValueError("every feature must carry a 'geometry' object")


def geopackage_route(gemeente: str, year: int, db: str = "pulsetwin.duckdb", *, indent: str = "  ") -> str:
    """The commands that bring one boundary year in from the yearly GeoPackage instead of the OGC API, one per
    line, each starting with ``indent``."""
    gpkg = f"wijkenbuurten_{year}.gpkg"
    lines = [
        f"curl -fLo {gpkg} {PDOK_GEOPACKAGE_URL.format(year=year)}",
        f"  (the file name may carry a _v2/_v3 suffix: see {PDOK_ATOM_URL.format(year=year)})",
        *(
            f"pulsetwin import areas {gpkg} --layer {layer} --db {db}"
            for layer in ("gemeenten", "wijken", "buurten")
        ),
        f"  (the layers hold every municipality, {gemeente} among them)",
    ]
    return "\n".join(indent + line for line in lines)


def fetch_geometry(client: HttpClient, gemeente: str, year: int, *, limit: int = PDOK_PAGE_LIMIT) -> Dataset:
    """Fetch the gemeente, its wijken and buurten of boundary ``year`` as canonical areas (not written)."""
    check_gemeente(gemeente)
    if year not in PDOK_OGC_YEARS:
        raise SourceError(
            f"the PDOK OGC API serves boundary years {PDOK_OGC_YEARS[0]}-{PDOK_OGC_YEARS[-1]} only, not {year}. "
            f"Fix: import the yearly GeoPackage instead:\n{geopackage_route(gemeente, year)}"
        )
    root = client.settings.pdok_root(year)
    parts, responses, water, routes = [], [], [], {}
    merged_water: dict[str, int] = {}
    bbox: str | None = None
    for spec in LEVELS:
        reader = _Collection(client, root, spec, gemeente, min(limit, PDOK_PAGE_LIMIT))
        features, reprojected = reader.features(bbox)
        responses.extend(reader.responses)
        routes[spec.collection] = reader.route
        frame, water_codes, dropped = _areas(
            features, spec, reprojected, where=f"{root}/collections/{spec.collection}"
        )
        water.extend(water_codes)
        if dropped:
            merged_water[spec.collection] = dropped
        parts.append(frame)
        if spec.level == "gemeente":
            bounds = shapely.bounds(shapely.from_wkt(frame["geometry"].iloc[0]))
            bbox = ",".join(f"{v:.0f}" for v in bounds)
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
        water_rows_dropped=merged_water,
        filter_routes=routes,
    )
    messages = [f"{c}: filtered by {r}" for c, r in routes.items() if r != ROUTE_QUERYABLE]
    if water:
        messages.append(f"{len(water)} water-only area(s) flagged in provenance: {', '.join(sorted(water))}")
    if merged_water:
        shown = ", ".join(f"{n} in {c}" for c, n in merged_water.items())
        messages.append(
            f"water rows under the code of a land row dropped (the land row is the area): {shown}"
        )
    return Dataset({"areas": areas}, f"pdok:wijken-en-buurten-{year}", provenance, tuple(messages))


ROUTE_QUERYABLE: Final = f"queryable parameter {FILTER_PROPERTY}"
ROUTE_CQL: Final = "CQL2 filter"
ROUTE_BBOX: Final = "bbox of the gemeente + client-side filter"
ROUTE_ALL: Final = "all features + client-side filter"


class _Collection:
    """One collection of one municipality: the filter route its queryables allow, and its pages."""

    def __init__(self, client: HttpClient, root: str, spec: _Level, gemeente: str, limit: int) -> None:
        self.client, self.spec, self.gemeente = client, spec, gemeente
        self.url = f"{root}/collections/{spec.collection}"
        self.base = {"f": "json", "crs": CRS_URI, "limit": str(limit)}
        self.responses: list[Response] = []
        self.route = ""

    def queryables(self) -> set[str]:
        """Property names the collection can be filtered on by parameter (none when it lists none)."""
        try:
            payload, response = self.client.get_json(f"{self.url}/queryables", {"f": "json"})
        except HttpStatusError:
            return set()
        self.responses.append(response)
        found = payload.get("properties") if isinstance(payload, dict) else None
        return set(found) if isinstance(found, dict) else set()

    def features(self, bbox: str | None) -> tuple[list[dict[str, Any]], list[bool]]:
        """Features of ``gemeente`` by the first route the server accepts (a 400 moves on to the next),
        filtered client-side as well."""
        routes: list[tuple[str, dict[str, str]]] = []
        if FILTER_PROPERTY in self.queryables():
            routes.append((ROUTE_QUERYABLE, {FILTER_PROPERTY: self.gemeente}))
        routes.append(
            (ROUTE_CQL, {"filter": f"{FILTER_PROPERTY}='{self.gemeente}'", "filter-lang": "cql2-text"})
        )
        routes.append((ROUTE_BBOX, {"bbox": bbox, "bbox-crs": CRS_URI}) if bbox else (ROUTE_ALL, {}))
        for number, (route, extra) in enumerate(routes, start=1):
            self.route = route
            try:
                features, reproject = self._pages({**self.base, **extra})
                break
            except (HttpStatusError, OfflineError) as error:  # offline: a refused route was never cached
                if number == len(routes) or (isinstance(error, HttpStatusError) and error.status != 400):
                    raise
        keep = [str(f["properties"].get(FILTER_PROPERTY, "")).strip() == self.gemeente for f in features]
        return (
            [f for f, k in zip(features, keep, strict=True) if k],
            [r for r, k in zip(reproject, keep, strict=True) if k],
        )

    def _pages(self, params: dict[str, str]) -> tuple[list[dict[str, Any]], list[bool]]:
        """All pages of one query, following the cursor in the ``next`` links."""
        url: str | None = f"{self.url}/items"
        query: dict[str, str] | None = params
        features: list[dict[str, Any]] = []
        reproject: list[bool] = []
        seen: set[str] = set()
        while url is not None:
            if len(self.responses) >= self.client.settings.max_pages or url in seen:
                raise SourceError(f"{self.url}: paging did not end (next link {url!r}). Fix: report it")
            seen.add(url)
            payload, response = self.client.get_json(url, query, check=check_feature_page)
            self.responses.append(response)
            in_rd = str(CRS_EPSG) in response.headers.get("content-crs", "")
            features.extend(payload["features"])
            reproject.extend([not in_rd] * len(payload["features"]))
            link = next((x.get("href") for x in payload.get("links", []) if x.get("rel") == "next"), None)
            url = urljoin(response.url, link) if link and payload["features"] else None
            query = None
        return features, reproject


def _areas(
    features: list[dict[str, Any]], spec: _Level, reproject: list[bool], *, where: str
) -> tuple[pd.DataFrame, list[str], int]:
    """Features of one level as canonical area rows (WKT in EPSG:28992), the codes of water-only areas, and
    how many water rows were dropped because a land row carries the same code."""
    props = pd.DataFrame([f["properties"] for f in features])
    needed = [spec.code, spec.name, *([spec.parent] if spec.parent else [])]
    if props.empty:
        raise SourceError(f"{where}: no features. Fix: check the municipality code and boundary year")
    dropped = 0
    if spec.code in props.columns:
        drop = water_rows_to_drop(props[spec.code], water_rows(props))
        features = [f for f, d in zip(features, drop, strict=True) if not d]
        reproject = [r for r, d in zip(reproject, drop, strict=True) if not d]
        props = props[~drop].reset_index(drop=True)
        dropped = int(drop.sum())
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
    return frame, codes[water_only(codes, water_rows(props))].tolist(), dropped


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
