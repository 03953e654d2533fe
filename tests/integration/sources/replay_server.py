"""A loopback HTTP server that replays CBS OData v3, dataderden and PDOK OGC API answers from small fixtures.

It understands just enough of each protocol for the connectors: ``startswith(...)`` / ``eq`` filters,
``$select``, ``$top`` (rows beyond it are cut, like dataderden's cap), server-side paging with
``odata.nextLink`` and ``$skiptoken``, OGC API ``limit``/``offset`` with ``next`` links and ``Content-Crs``,
and HTTP Range for files.
Failures are scripted per path fragment: ``500``, ``drop`` (close mid-body) and ``malformed`` (broken JSON).
"""

from __future__ import annotations

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

from pyproj import Transformer

DATA = Path(__file__).resolve().parents[2] / "data" / "replay"
CBS_PAGE = 3
"""Rows per CBS TypedDataSet page, small so the connector must follow ``odata.nextLink``."""


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
        parts = [p for p in path.split("/") if p]
        table, entity = parts[-2], parts[-1]
        rows = self._police_entity(table, entity) if table in self.police else self._cbs_entity(table, entity)
        if rows is None:
            return 404, {}, {"odata.error": {"message": {"value": f"unknown {table}/{entity}"}}}
        rows = _filter(rows, query.get("$filter", ""))
        if "$select" in query:
            keep = query["$select"].split(",")
            rows = [{k: r.get(k) for k in keep} for r in rows]
        start = int(query.get("$skiptoken", "0"))
        payload: dict[str, Any] = {"odata.metadata": f"{self.base}{path}/$metadata#{table}.{entity}"}
        if "$top" in query:
            rows = rows[: int(query["$top"])]
        if table in self.cbs and entity == "TypedDataSet":
            payload["value"] = rows[start : start + CBS_PAGE]
            if start + CBS_PAGE < len(rows):
                rest = {k: v for k, v in query.items() if k != "$skiptoken"}
                payload["odata.nextLink"] = (
                    f"{self.base}{path}?{urlencode({**rest, '$skiptoken': start + CBS_PAGE})}"
                )
        else:
            payload["value"] = rows
        return 200, {"Content-Type": "application/json"}, payload

    def _cbs_entity(self, table: str, entity: str) -> list[dict[str, Any]] | None:
        spec = self.cbs.get(table)
        if spec is None or entity not in spec:
            return None
        return [dict(r) for r in spec[entity]]

    def _police_entity(self, table: str, entity: str) -> list[dict[str, Any]] | None:
        spec = self.police[table]
        offence = "offences" in spec
        if entity == "DataProperties":
            keys = [
                "ID",
                *(["SoortMisdrijf"] if offence else []),
                "WijkenEnBuurten",
                "Perioden",
                spec["measure"],
            ]
            return [{"Key": k, "Type": "Topic" if k == spec["measure"] else "Dimension"} for k in keys]
        if entity == "Perioden":
            return [{"Key": p, "Title": p} for p in spec["periods"]]
        if entity == "WijkenEnBuurten":
            return [{"Key": _pad(a, 10), "Title": a} for a in spec["counts"]]
        if entity != "TypedDataSet":
            return None
        months = [p for p in spec["periods"] if "MM" in p]
        rows: list[dict[str, Any]] = []
        for area, series in spec["counts"].items():
            for code, values in series.items() if offence else [(None, series)]:
                for period, value in zip(months, values, strict=True):
                    row = {"ID": len(rows), "WijkenEnBuurten": _pad(area, 10), "Perioden": period}
                    if offence:
                        row["SoortMisdrijf"] = code
                    rows.append({**row, spec["measure"]: value})
                year_total = sum(v for v in values if v is not None)
                yearly = {"ID": len(rows), "WijkenEnBuurten": _pad(area, 10), "Perioden": "2024JJ00"}
                rows.append(
                    {**yearly, **({"SoortMisdrijf": code} if offence else {}), spec["measure"]: year_total}
                )
        return rows

    # ------------------------------------------------------------------ PDOK
    def ogc(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        match = re.search(r"/wijken-en-buurten-(\d{4})/ogc/v1/collections/(\w+)/items$", path)
        if match is None or match[2] not in self.pdok:
            return 404, {}, {"code": "NotFound"}
        features = [
            f
            for f in self.pdok[match[2]]["features"]
            if f["properties"]["gemeentecode"] == query.get("gemeentecode")
        ]
        limit, offset = int(query.get("limit", "10")), int(query.get("offset", "0"))
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
        links = []
        if offset + limit < len(features):
            links.append({"rel": "next", "href": f"{path}?{urlencode({**query, 'offset': offset + limit})}"})
        payload = {
            "type": "FeatureCollection",
            "features": page,
            "links": links,
            "numberMatched": len(features),
        }
        return 200, headers, payload


def _filter(rows: list[dict[str, Any]], expression: str) -> list[dict[str, Any]]:
    """Apply the connectors' filter shape: (startswith ... or ...) and (col eq 'v' or ...)."""
    starts = re.findall(r"startswith\((\w+),'([^']*)'\)", expression)
    equals = re.findall(r"(\w+) eq '([^']*)'", expression)
    if starts:
        rows = [r for r in rows if any(str(r.get(c, "")).startswith(p) for c, p in starts)]
    if equals:
        rows = [r for r in rows if any(str(r.get(c, "")) == v for c, v in equals)]
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
