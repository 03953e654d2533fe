"""A loopback HTTP server that replays CBS OData v3, dataderden and PDOK OGC API answers in their real shapes.

CBS and dataderden (``/<host>/ODataApi/odata/<table>/<entity>`` and ``/<host>/ODataFeed/odata/<table>/...``):
the metadata line ``…/$metadata#Cbs.OData.WebAPI.<entity>``, ``DataProperties`` with ``odata.type``, ``ID``,
``Position``, ``ParentID``, ``Type``, ``Key``, ``Title`` and ``Unit``, dimension entities (``Perioden``,
``WijkenEnBuurten`` with NL/GM/WK/BU keys, ``SoortMisdrijf``, ``Overlast``) with ``Key``/``Title``; the
``ODataApi`` TypedDataSet answers HTTP 500 ("query returns more than <limit> records") when the result has
more cells than ``cell_limit``, the ``ODataFeed`` TypedDataSet pages with ``odata.nextLink``. A police
TypedDataSet holds NL, GM and WK rows besides the buurten, and a yearly ``JJ00`` key per year. Filters:
``startswith(...)`` and ``col eq 'v'`` joined by ``or`` inside and ``and`` between groups.

PDOK (``/pdok/wijken-en-buurten-<year>/ogc/v1/collections/<c>/items`` and ``…/queryables``): only the
parameters GoKoala accepts (``f, limit ≤ 1000, cursor, crs, bbox, bbox-crs, datetime, filter, filter-lang,
profile``) plus the collection's queryables; anything else is a 400 "unknown query parameter(s)". A CQL2
``prop='value'`` filter works on queryables only; paging is an opaque cursor in the ``next`` link and pages
carry ``numberReturned``, never ``numberMatched``.

Failures are scripted per path fragment: ``500``, ``drop`` (close mid-body) and ``malformed`` (broken JSON).
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import shapely
from pyproj import Transformer

from pulsetwin.sources.settings import CBS_CELL_LIMIT

DATA = Path(__file__).resolve().parents[2] / "data" / "replay"
FEED_PAGE = {"cbs": 3, "police": 25}
"""Rows per ODataFeed page per host, small for CBS so the connector must follow ``odata.nextLink``."""
OGC_PARAMETERS = frozenset(
    {"f", "limit", "cursor", "crs", "bbox", "bbox-crs", "datetime", "filter", "filter-lang", "profile"}
)
"""The query parameters PDOK's OGC API server accepts on every collection (besides its queryables)."""


def _pad(key: str, width: int) -> str:
    return key.ljust(width)


@dataclass
class Replay:
    """Fixture state, scripted failures and a log of request paths with their queries."""

    cbs: dict[str, Any] = field(
        default_factory=lambda: json.loads((DATA / "cbs_kerncijfers.json").read_text())
    )
    police: dict[str, Any] = field(default_factory=lambda: json.loads((DATA / "police.json").read_text()))
    pdok: dict[str, Any] = field(default_factory=lambda: json.loads((DATA / "pdok_2024.json").read_text()))
    files: dict[str, bytes] = field(default_factory=dict)
    failures: dict[str, list[str]] = field(default_factory=dict)
    always: dict[str, str] = field(default_factory=dict)
    pdok_crs84: bool = False
    pdok_cql: bool = True
    """Whether the OGC API accepts CQL2 ``filter`` (on queryables)."""
    pdok_param_filters: bool = True
    """Whether queryables are also accepted as plain query parameters (``gemeentecode=GM0917``)."""
    cell_limit: int = CBS_CELL_LIMIT
    log: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    base: str = ""

    def fail(self, fragment: str, *actions: str) -> None:
        """Answer the next requests whose URL contains ``fragment`` with ``actions`` in turn."""
        self.failures.setdefault(fragment, []).extend(actions)

    def action_for(self, url: str) -> str | None:
        for fragment, action in self.always.items():
            if fragment in url:
                return action
        for fragment, plan in self.failures.items():
            if fragment in url and plan:
                return plan.pop(0)
        return None

    # ------------------------------------------------------------------ OData
    def odata(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        match = re.fullmatch(r"/(cbs|police)/(ODataApi|ODataFeed)/odata/(\w+)/(\w+)", path)
        if match is None:
            return 404, {}, {"odata.error": {"code": "", "message": {"lang": "en-US", "value": "Not found"}}}
        host, endpoint, table, entity = match.groups()
        source = self.police if host == "police" else self.cbs
        rows = (
            (self._police_entity(table, entity) if host == "police" else self._cbs_entity(table, entity))
            if table in source
            else None
        )
        if rows is None:
            message = f"Resource not found for the segment '{entity}'."
            return 404, {}, {"odata.error": {"code": "", "message": {"lang": "en-US", "value": message}}}
        rows = _filter(rows, query.get("$filter", ""))
        if "$select" in query:
            keep = query["$select"].split(",")
            rows = [{k: r.get(k) for k in keep} for r in rows]
        if "$top" in query:
            rows = rows[: int(query["$top"])]
        metadata = f"{self.base}/{host}/{endpoint}/OData/{table}/$metadata#Cbs.OData.WebAPI.{entity}"
        payload: dict[str, Any] = {"odata.metadata": metadata}
        headers = {"Content-Type": "application/json;odata=minimalmetadata;streaming=true;charset=utf-8"}
        if entity == "TypedDataSet" and endpoint == "ODataApi":
            cells = len(rows) * (len(rows[0]) if rows else 0)
            if cells > self.cell_limit:
                message = (
                    f"De selectie bevat {cells} cellen: query returns more than {self.cell_limit} records"
                )
                error = {"odata.error": {"code": "", "message": {"lang": "nl-NL", "value": message}}}
                return 500, headers, error
        if entity == "TypedDataSet" and endpoint == "ODataFeed":
            start, size = int(query.get("$skiptoken", "0")), FEED_PAGE[host]
            payload["value"] = rows[start : start + size]
            if start + size < len(rows):
                rest = {k: v for k, v in query.items() if k != "$skiptoken"}
                payload["odata.nextLink"] = (
                    f"{self.base}{path}?{urlencode({**rest, '$skiptoken': start + size})}"
                )
        else:
            payload["value"] = rows
        return 200, headers, payload

    def _cbs_entity(self, table: str, entity: str) -> list[dict[str, Any]] | None:
        spec = self.cbs[table]
        if entity == "WijkenEnBuurten":
            return [
                {"Key": r["WijkenEnBuurten"], "Title": str(r.get("Gemeentenaam_1", "")).strip(),
                 "Description": None, "CategoryGroupID": None}
                for r in spec["TypedDataSet"]
            ]  # fmt: skip
        return [dict(r) for r in spec[entity]] if entity in spec else None

    def _police_entity(self, table: str, entity: str) -> list[dict[str, Any]] | None:
        spec = self.police[table]
        dimension = spec["dimension"]
        if entity == "DataProperties":
            return _police_properties(dimension, spec["measure"])
        if entity == "Perioden":
            return [
                {"Key": p, "Title": p, "Description": None, "Status": "Definitief"} for p in spec["periods"]
            ]
        counts = _with_aggregates(spec["counts"])
        if entity == "WijkenEnBuurten":
            return [
                {"Key": _pad(a, 10), "Title": a, "Description": None, "CategoryGroupID": None} for a in counts
            ]
        if entity == dimension["name"]:
            return [
                {"Key": k, "Title": t, "Description": None, "CategoryGroupID": None}
                for k, t in dimension["keys"].items()
            ]
        if entity != "TypedDataSet":
            return None
        months = [p for p in spec["periods"] if "MM" in p]
        rows: list[dict[str, Any]] = []
        for area, series in counts.items():
            for code, values in series.items():
                by_period = dict(zip(months, values, strict=True))
                for year in sorted({m[:4] for m in months}):
                    known = [v for m, v in by_period.items() if m.startswith(year) and v is not None]
                    by_period[f"{year}JJ00"] = sum(known)  # the yearly total shares the Perioden column
                for period, value in by_period.items():
                    rows.append({"ID": len(rows), dimension["name"]: code, "WijkenEnBuurten": _pad(area, 10),
                                 "Perioden": period, spec["measure"]: value})  # fmt: skip
        return rows

    # ------------------------------------------------------------------ PDOK
    def ogc(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        match = re.search(r"/wijken-en-buurten-(\d{4})/ogc/v1/collections/(\w+)/(items|queryables)$", path)
        if match is None or match[2] not in self.pdok["queryables"]:
            return 404, {}, {"code": "Not Found", "description": "not found"}
        collection = match[2]
        allowed = set(self.pdok["queryables"][collection])
        if match[3] == "queryables":
            return (
                200,
                {"Content-Type": "application/schema+json"},
                {
                    "$schema": "https://json-schema.org/draft/2020-12/schema",
                    "$id": f"{self.base}{path}",
                    "type": "object",
                    "title": collection,
                    "properties": {name: {"title": name, "type": "string"} for name in sorted(allowed)},
                },
            )
        unknown = sorted(set(query) - OGC_PARAMETERS - (allowed if self.pdok_param_filters else set()))
        if unknown:
            return _bad_request(f"unknown query parameter(s) found: {', '.join(unknown)}")
        if int(query.get("limit", "10")) > 1000:
            return _bad_request("limit: must be <= 1000")
        features = list(self.pdok[collection]["features"])
        for name in set(query) & allowed:
            features = [f for f in features if str(f["properties"].get(name)) == query[name]]
        if "filter" in query:
            cql = re.fullmatch(r"(\w+)\s*=\s*'([^']*)'", query["filter"])
            if not self.pdok_cql or cql is None or cql[1] not in allowed:
                return _bad_request(f"filter: not supported or not a queryable: {query['filter']!r}")
            features = [f for f in features if str(f["properties"].get(cql[1])) == cql[2]]
        if "bbox" in query:
            box = shapely.box(*map(float, query["bbox"].split(",")))
            features = [
                f
                for f in features
                if shapely.intersects(shapely.from_geojson(json.dumps(f["geometry"])), box)
            ]
        limit = int(query.get("limit", "10"))
        offset = int(base64.urlsafe_b64decode(query["cursor"]).decode()) if "cursor" in query else 0
        page = json.loads(json.dumps(features[offset : offset + limit]))
        headers = {"Content-Type": "application/geo+json"}
        if self.pdok_crs84:
            to_lonlat = Transformer.from_crs("EPSG:28992", "OGC:CRS84", always_xy=True)
            for feature in page:
                feature["geometry"]["coordinates"] = [
                    [list(to_lonlat.transform(x, y)) for x, y in ring]
                    for ring in feature["geometry"]["coordinates"]
                ]
        elif "28992" in query.get("crs", ""):
            headers["Content-Crs"] = "<http://www.opengis.net/def/crs/EPSG/0/28992>"
        links = [
            {"rel": "self", "type": "application/geo+json", "href": f"{self.base}{path}?{urlencode(query)}"}
        ]
        if offset + limit < len(features):
            cursor = base64.urlsafe_b64encode(str(offset + limit).encode()).decode()
            links.append({"rel": "next", "type": "application/geo+json",
                          "href": f"{self.base}{path}?{urlencode({**query, 'cursor': cursor})}"})  # fmt: skip
        payload = {
            "type": "FeatureCollection",
            "timeStamp": "2024-11-01T00:00:00Z",
            "links": links,
            "features": page,
            "numberReturned": len(page),
        }
        return 200, headers, payload


def _with_aggregates(
    counts: dict[str, dict[str, list[int | None]]],
) -> dict[str, dict[str, list[int | None]]]:
    """Buurt series plus the NL, GM and WK rows the real tables also hold (sums; a withheld part makes the sum
    withheld), so a connector that does not filter on the buurt level would double count."""
    out: dict[str, dict[str, list[int | None]]] = {}
    for area, series in counts.items():
        for parent in ("NL00", "GM" + area[2:6], "WK" + area[2:8]):
            target = out.setdefault(parent, {})
            for code, values in series.items():
                old = target.get(code, [0] * len(values))
                target[code] = [
                    None if a is None or b is None else a + b for a, b in zip(old, values, strict=True)
                ]
    return {**out, **counts}


def _bad_request(detail: str) -> tuple[int, dict[str, str], Any]:
    """GoKoala's problem-details answer to a refused parameter."""
    return 400, {"Content-Type": "application/problem+json"}, {
        "type": "about:blank", "title": "Bad Request", "status": 400, "detail": detail,
    }  # fmt: skip


def _police_properties(dimension: dict[str, Any], measure: str) -> list[dict[str, Any]]:
    """DataProperties of a police table as dataderden serves them (no ``ID`` column listed)."""
    entries = [
        ("Dimension", dimension["name"], dimension["title"]),
        ("GeoDimension", "WijkenEnBuurten", "Wijken en buurten"),
        ("TimeDimension", "Perioden", "Perioden"),
        ("Topic", measure, "Geregistreerde " + ("misdrijven" if "Misdrijven" in measure else "overlast")),
    ]
    out = []
    for i, (kind, key, title) in enumerate(entries):
        row = {"odata.type": f"Cbs.OData.WebAPI.{kind}", "ID": i, "Position": i, "ParentID": None,
               "Type": kind, "Key": key, "Title": title, "Description": None}  # fmt: skip
        if kind == "Topic":
            row.update({"Datatype": "Long", "Unit": "aantal", "Decimals": 0, "Default": "Missing"})
        out.append(row)
    return out


def _filter(rows: list[dict[str, Any]], expression: str) -> list[dict[str, Any]]:
    """Apply the connectors' filter shape: groups joined by ``and``, each an ``or`` of startswith / eq."""
    for group in re.split(r"\)?\s+and\s+\(?", expression.strip()) if expression.strip() else []:
        starts = re.findall(r"startswith\((\w+),'([^']*)'", group)
        equals = re.findall(r"(\w+) eq '([^']*)'", group)
        rows = [
            r
            for r in rows
            if any(str(r.get(c, "")).startswith(p) for c, p in starts)
            or any(str(r.get(c, "")) == v for c, v in equals)
        ]
    return rows


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr log."""

    def do_GET(self) -> None:
        replay = self.server.replay
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        replay.log.append((split.path, query))
        action = replay.action_for(self.path)
        if action == "500":
            return self._send(500, {"Content-Type": "text/plain"}, b"server busy")
        if split.path.startswith("/files/"):
            return self._file(split.path, action)
        if split.path.startswith("/pdok/"):
            status, headers, payload = replay.ogc(split.path, query)
        else:
            status, headers, payload = replay.odata(split.path, query)
        body = json.dumps(payload).encode("utf-8")
        if action == "malformed":
            body = body[: len(body) // 2]
        if action == "drop":
            return self._drop(headers, body)
        return self._send(status, headers, body)

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _drop(self, headers: dict[str, str], body: bytes) -> None:
        """Announce the whole body, send half, then close the connection."""
        self.send_response(200)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self.close_connection = True

    def _file(self, path: str, action: str | None) -> None:
        data = self.server.replay.files[path]
        first = 0
        if match := re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", "")):
            first = int(match[1])
        body = data[first:]
        if first:
            headers = {"Content-Range": f"bytes {first}-{len(data) - 1}/{len(data)}"}
            status = 206
        else:
            headers, status = {}, 200
        if action == "drop":
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 3])
            self.wfile.flush()
            self.close_connection = True
            return
        self._send(status, headers, body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    replay: Replay


@contextmanager
def serve(replay: Replay) -> Iterator[str]:
    """Run the replay server on 127.0.0.1, a free port, in a thread; yield its base URL."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.replay = replay
    replay.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield replay.base
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
