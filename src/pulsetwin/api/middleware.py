"""ASGI middleware around the whole app: security headers on every response, and a body size limit.

Pure ASGI (no ``BaseHTTPMiddleware``): they touch only the response start and the request body, so they add
no task switch per request.
"""

from __future__ import annotations

import json
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pulsetwin.api.errors import error_body
from pulsetwin.api.web import SECURITY_HEADERS

logger = logging.getLogger(__name__)
MAX_BODY_BYTES = 1_000_000
EXTRA_HEADERS = {"X-Frame-Options": "DENY"}
_ALL_HEADERS = [(k.lower().encode(), v.encode()) for k, v in {**SECURITY_HEADERS, **EXTRA_HEADERS}.items()]


class SecurityHeaders:
    """Add the dashboard's CSP, ``nosniff``, ``Referrer-Policy`` and ``X-Frame-Options: DENY`` to every
    HTTP response (API JSON, static files, served documents, errors) that does not set them itself.

    An unexpected error is answered here too (500 with the error body, its type only, never its text), so
    that answer carries the headers as well; the traceback goes to the server's log.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in _ALL_HEADERS if h[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as error:
            if started:
                raise
            logger.exception("unexpected error answering %s %s", scope.get("method"), scope.get("path"))
            message = f"unexpected error: {type(error).__name__}"
            await send_error(send_with_headers, 500, "server_error", message)


class BodyLimit:
    """Refuse a request body over ``limit`` bytes with 413 before anything parses it.

    A declared ``Content-Length`` over the limit is refused at once; otherwise the body is read up to the
    limit (a chunked body that goes over is refused as soon as it does) and replayed to the app. A JSON body
    that is not UTF-8 is refused with 400 here too, with the API's error body.
    """

    def __init__(self, app: ASGIApp, *, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length", b"").decode("latin-1")
        if declared.isdigit() and int(declared) > self.limit:
            await send_error(send, 413, "payload_too_large", f"the body is over {self.limit} bytes")
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await send_error(send, 413, "payload_too_large", f"the body is over {self.limit} bytes")
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if b"json" in headers.get(b"content-type", b""):
            try:
                body.decode("utf-8")
            except UnicodeDecodeError as error:
                problem = f"the JSON body is not UTF-8 (byte {error.start}). Fix: send UTF-8"
                await send_error(send, 400, "bad_request", problem)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def send_error(send: Send, status: int, code: str, message: str) -> None:
    """Answer with the API's error body."""
    payload = json.dumps(error_body(code, message)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
