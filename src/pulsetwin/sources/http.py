"""The one HTTP client of the connectors: timeouts, retries with exponential backoff, an on-disk cache
keyed by request, and resumable file downloads (HTTP Range).

Retried: HTTP 5xx and 429, timeouts, dropped connections and bodies a caller's check rejects (a truncated or
malformed page). Not retried: other 4xx (a wrong URL or filter does not heal by waiting). Every failure
ends in one :class:`~pulsetwin.exceptions.SourceError` that names the URL, the attempts and the last error.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import httpx

from pulsetwin import __version__
from pulsetwin.exceptions import SourceError
from pulsetwin.sources.settings import SourceSettings

KEPT_HEADERS: Final = ("content-type", "content-crs", "last-modified", "etag")
USER_AGENT: Final = f"pulsetwin/{__version__} (+https://github.com/pulsetwin)"


class _Retryable(Exception):
    """A failure worth another attempt (server error, rate limit, malformed body)."""


class HttpStatusError(SourceError):
    """A 4xx answer (not retried); ``status`` and ``text`` let a connector choose another route."""

    def __init__(self, message: str, *, status: int, text: str) -> None:
        super().__init__(message)
        self.status, self.text = status, text


class OfflineError(SourceError):
    """A request that is not in the cache while the client is offline."""


@dataclass(frozen=True)
class Response:
    """A response body with the few headers the connectors read, and when it was retrieved."""

    url: str
    body: bytes
    headers: Mapping[str, str]
    retrieved_at: str
    from_cache: bool

    @property
    def sha256(self) -> str:
        """Hash of the body, for provenance."""
        return hashlib.sha256(self.body).hexdigest()

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


def request_key(url: str, params: Mapping[str, str] | None = None) -> str:
    """Cache key of a GET request: sha256 of the URL with its parameters merged in sorted order."""
    full = httpx.URL(url).copy_merge_params(dict(params or {}))
    items = sorted(full.params.multi_items())
    canonical = json.dumps([str(full.copy_with(query=None)), items], ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def dataset_hash(responses: Iterable[Response]) -> str:
    """One sha256 over the bodies of a dataset's responses in request order (independent of host, port)."""
    digest = hashlib.sha256()
    for response in responses:
        digest.update(response.sha256.encode("ascii"))
    return digest.hexdigest()


class HttpClient:
    """GET with retries, backoff and a cache; file downloads that resume where a dropped transfer stopped.

    Parameters
    ----------
    settings
        Timeouts, retries, backoff and cache directory.
    transport
        An injectable httpx transport (``httpx.MockTransport`` in tests); the default opens real connections.
    sleep
        Called with the backoff in seconds between attempts (injectable so tests do not wait).
    """

    def __init__(
        self,
        settings: SourceSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self._sleep = sleep
        self._client = httpx.Client(
            transport=transport,
            timeout=settings.timeout,
            follow_redirects=True,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json, application/geo+json"},
        )
        self.requests_sent = 0
        self.observer: Callable[[Response], None] | None = None
        """Called with every response handed out (cached or fetched), e.g. to advance a progress bar."""

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def get(
        self,
        url: str,
        params: Mapping[str, str] | None = None,
        *,
        check: Callable[[Response], None] | None = None,
    ) -> Response:
        """GET ``url`` (from the cache when fresh), retrying transient failures.

        ``check`` inspects the body and raises ``ValueError`` when it is malformed; such a body is retried and
        never cached.
        """
        key = request_key(url, params)
        cached = self._cache_read(key)
        if cached is not None:
            try:
                if check is not None:
                    check(cached)
                return self._observed(cached)
            except ValueError:
                pass  # a bad cached body is refetched below
        if self.settings.offline:
            shown = str(httpx.URL(url).copy_merge_params(dict(params or {})))
            raise OfflineError(f"the response cache does not hold GET {shown}")
        last: BaseException | None = None
        attempts = self.settings.retries + 1
        for attempt in range(attempts):
            if attempt:
                self._sleep(self.settings.backoff * 2 ** (attempt - 1))
            try:
                response = self._get_once(url, params)
                if check is not None:
                    check(response)
            except (httpx.TransportError, httpx.DecodingError, _Retryable, ValueError) as error:
                last = error
                continue
            self._cache_write(key, response)
            return self._observed(response)
        shown = str(httpx.URL(url).copy_merge_params(dict(params or {})))
        raise SourceError(
            f"GET {shown} failed after {attempts} attempts; last error: {type(last).__name__}: {last}. "
            "Fix: check the base URL setting and the service status, then run the command again "
            "(pages already fetched are cached)"
        )

    def get_json(
        self,
        url: str,
        params: Mapping[str, str] | None = None,
        *,
        check: Callable[[Any], None] | None = None,
    ) -> tuple[Any, Response]:
        """GET and parse JSON; invalid JSON or a payload ``check`` rejects is retried like a server error."""

        def parse(response: Response) -> None:
            try:
                payload = response.json()
            except (UnicodeDecodeError, json.JSONDecodeError) as error:
                raise ValueError(f"malformed JSON: {error}") from None
            if check is not None:
                check(payload)

        response = self.get(url, params, check=parse)
        return response.json(), response

    def download(self, url: str, dest: Path) -> Path:
        """Download ``url`` to ``dest``, resuming a partial ``dest.part`` with an HTTP Range request.

        A transfer that drops midway keeps its bytes; the next attempt (or run) asks only for the rest.
        """
        if self.settings.offline:
            raise OfflineError(f"the response cache cannot stand in for the download of {url}")
        part = dest.with_name(dest.name + ".part")
        dest.parent.mkdir(parents=True, exist_ok=True)
        last: BaseException | None = None
        attempts = self.settings.retries + 1
        for attempt in range(attempts):
            if attempt:
                self._sleep(self.settings.backoff * 2 ** (attempt - 1))
            try:
                if self._download_once(url, part):
                    part.replace(dest)
                    return dest
                last = _Retryable("transfer ended before the announced length")
            except (httpx.TransportError, _Retryable) as error:
                last = error
        raise SourceError(
            f"download of {url} failed after {attempts} attempts; last error: {type(last).__name__}: {last}. "
            f"Fix: run the command again: it resumes from the {part.stat().st_size if part.exists() else 0} "
            "bytes already saved"
        )

    def _observed(self, response: Response) -> Response:
        if self.observer is not None:
            self.observer(response)
        return response

    def unreachable(self, url: str, *, timeout: float = 5.0) -> str | None:
        """Why ``url``'s host cannot be reached (DNS, refused, timeout), or None when it answers at all.

        One short attempt without retries: any HTTP status counts as reachable.
        """
        try:
            self.requests_sent += 1
            self._client.head(url, timeout=timeout)
        except httpx.TransportError as error:
            return f"{type(error).__name__}: {error}"
        return None

    def _download_once(self, url: str, part: Path) -> bool:
        """One ranged GET appended to ``part``; True when the file is complete."""
        have = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        self.requests_sent += 1
        with self._client.stream("GET", url, headers=headers) as response:
            if response.status_code == 416 and have:
                return True  # nothing left to send: the part file is complete
            self._raise_for_status(response)
            total: int | None
            if response.status_code == 206:
                first, total = _content_range(response.headers.get("content-range", ""))
                if first != have:
                    raise _Retryable(f"server resumed at byte {first}, expected {have}")
                mode = "ab"
            else:
                length = response.headers.get("content-length")
                total, mode = (int(length) if length else None), "wb"
            with part.open(mode) as handle:
                for chunk in response.iter_bytes():
                    handle.write(chunk)
        return total is None or part.stat().st_size == total

    def _get_once(self, url: str, params: Mapping[str, str] | None) -> Response:
        """One GET; raises _Retryable on 5xx/429 and SourceError on other HTTP errors."""
        self.requests_sent += 1
        response = self._client.get(url, params=dict(params) if params else None)
        self._raise_for_status(response)
        return Response(
            url=str(response.url),
            body=response.content,
            headers={k: response.headers[k] for k in KEPT_HEADERS if k in response.headers},
            retrieved_at=datetime.now(UTC).isoformat(timespec="seconds"),
            from_cache=False,
        )

    @staticmethod
    def _raise_for_status(response: httpx.Response) -> None:
        status = response.status_code
        if status == 429 or status >= 500:
            raise _Retryable(f"HTTP {status}")
        if status >= 400:
            response.read()
            raise HttpStatusError(
                f"GET {response.url} answered HTTP {status}: {response.text[:200]!r}. "
                "Fix: check the table id, filter and base URL setting",
                status=status,
                text=response.text,
            )

    def _cache_path(self, key: str) -> Path | None:
        cache_dir = self.settings.cache_dir
        return None if cache_dir is None else cache_dir / key[:2] / f"{key}.json"

    def _cache_read(self, key: str) -> Response | None:
        path = self._cache_path(key)
        if path is None or self.settings.refresh or not path.exists():
            return None
        if not self.settings.offline and time.time() - path.stat().st_mtime > self.settings.cache_max_age:
            return None
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            return Response(
                url=entry["url"],
                body=entry["body"].encode("utf-8"),
                headers=entry["headers"],
                retrieved_at=entry["retrieved_at"],
                from_cache=True,
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None  # a damaged cache entry is refetched

    def _cache_write(self, key: str, response: Response) -> None:
        path = self._cache_path(key)
        if path is None:
            return
        try:
            text = response.body.decode("utf-8")
        except UnicodeDecodeError:
            return  # only text bodies are cached
        path.parent.mkdir(parents=True, exist_ok=True)
        entry = {
            "url": response.url,
            "headers": dict(response.headers),
            "retrieved_at": response.retrieved_at,
        }
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps({**entry, "body": text}, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)


def _content_range(value: str) -> tuple[int, int | None]:
    """Parse ``bytes 100-199/200`` into (first byte, total or None)."""
    try:
        unit, _, rest = value.partition(" ")
        span, _, total = rest.partition("/")
        first = int(span.split("-")[0])
        if unit != "bytes":
            raise ValueError(unit)
    except ValueError:
        raise _Retryable(f"unreadable Content-Range {value!r}") from None
    return first, (None if total in ("", "*") else int(total))
