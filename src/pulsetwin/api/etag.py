"""Strong ETags from the SHA-256 of the JSON payload, and 304 for a matching ``If-None-Match``."""

from __future__ import annotations

import hashlib

from fastapi import Request, Response
from pydantic import BaseModel

JSON = "application/json"


def body_etag(body: bytes) -> str:
    """The quoted ETag of a response body."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def matches(request: Request, etag: str) -> bool:
    """Whether the request's ``If-None-Match`` names ``etag`` (or ``*``)."""
    header = request.headers.get("if-none-match")
    if not header:
        return False
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in tags or etag in tags


def json_with_etag(request: Request, payload: BaseModel) -> tuple[Response, bool]:
    """The payload as JSON with its ETag, or an empty 304; also whether it was a 304."""
    return body_with_etag(request, payload.model_dump_json().encode("utf-8"))


def body_with_etag(request: Request, body: bytes, etag: str | None = None) -> tuple[Response, bool]:
    """A serialised JSON body with its ETag (computed unless given), or an empty 304; also whether it was a
    304."""
    etag = body_etag(body) if etag is None else etag
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if matches(request, etag):
        return Response(status_code=304, headers=headers), True
    return Response(body, media_type=JSON, headers=headers), False
