"""Settings of the online connectors: base URLs, cache, timeouts, retries; one constant per unsure detail.

Every base URL is a setting (CLI option and environment variable) so a local replay server can stand in for
the real service. Precedence: explicit argument, then environment variable, then the documented default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final

from pulsetwin.exceptions import bad_parameter

ENV_CBS_URL: Final = "PULSETWIN_CBS_URL"
ENV_POLICE_URL: Final = "PULSETWIN_POLICE_URL"
ENV_PDOK_URL: Final = "PULSETWIN_PDOK_URL"
ENV_CACHE_DIR: Final = "PULSETWIN_CACHE_DIR"

DEFAULT_CBS_URL: Final = "https://opendata.cbs.nl/ODataApi/odata"
DEFAULT_POLICE_URL: Final = "https://dataderden.cbs.nl/ODataApi/odata"
DEFAULT_PDOK_URL: Final = "https://api.pdok.nl/cbs/wijken-en-buurten-{year}/ogc/v1"

LICENCE: Final = "CC BY 4.0"

KERNCIJFERS_TABLES: Final[dict[int, str]] = {
    2019: "84583NED",
    2020: "84799NED",
    2021: "85039NED",
    2022: "85318NED",
    2023: "85618NED",
    2024: "85984NED",
    2025: "86165NED",
}
"""CBS "Kerncijfers wijken en buurten": one table per boundary year."""

POLICE_CRIME_TABLE: Final = "47022NED"
POLICE_NUISANCE_TABLE: Final = "47024NED"
CBS_CELL_LIMIT: Final = 10000
"""The ``ODataApi`` endpoints answer HTTP 500 ("query returns more than 10000 records") above this many cells;
data is therefore read from the paged ``ODataFeed`` endpoint (see :func:`feed_root`)."""
API_SEGMENT: Final = "/ODataApi/"
FEED_SEGMENT: Final = "/ODataFeed/"
PDOK_PAGE_LIMIT: Final = 1000
"""The OGC API refuses ``limit`` above 1,000."""
PDOK_OGC_YEARS: Final = range(2022, 2026)
"""Boundary years served by the PDOK OGC API; older years exist only as the yearly GeoPackage."""
PDOK_GEOPACKAGE_URL: Final = (
    "https://service.pdok.nl/cbs/wijkenbuurten/{year}/atom/downloads/wijkenbuurten_{year}.gpkg"
)
"""The yearly GeoPackage download (some years carry a ``_v2``/``_v3`` suffix: check the atom feed)."""
PDOK_ATOM_URL: Final = "https://service.pdok.nl/cbs/wijkenbuurten/{year}/atom/index.xml"
INCOMPLETE_MONTHS: Final = 2
"""Police months dropped at the end of the series (reporting lag), counted back from the newest period."""


def _default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/pulsetwin`` or ``~/.cache/pulsetwin``: resolved only when a setting is built."""
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "pulsetwin"


@dataclass(frozen=True)
class SourceSettings:
    """Where the sources live and how hard the client tries.

    Attributes
    ----------
    cbs_url, police_url
        OData v3 roots (the table id is appended).
    pdok_url
        OGC API root with a ``{year}`` placeholder for the boundary year.
    cache_dir
        On-disk cache of responses keyed by request; ``None`` disables caching.
    cache_max_age
        Seconds a cached response stays valid (sources are republished; police monthly).
    refresh
        Ignore cached responses (they are still rewritten).
    timeout
        Seconds per request (connect, read, write, pool).
    retries
        Extra attempts after the first one on 5xx, 429, timeouts, dropped connections and malformed bodies.
    backoff
        First wait in seconds; doubles on every retry (exponential backoff).
    max_pages
        Safety stop for paging loops.
    offline
        Answer from the cache only (whatever its age): a request that is not cached fails at once.
    """

    cbs_url: str = DEFAULT_CBS_URL
    police_url: str = DEFAULT_POLICE_URL
    pdok_url: str = DEFAULT_PDOK_URL
    cache_dir: Path | None = field(default_factory=_default_cache_dir)
    cache_max_age: float = 7 * 24 * 3600.0
    refresh: bool = False
    timeout: float = 60.0
    retries: int = 4
    backoff: float = 1.0
    max_pages: int = 10000
    offline: bool = False

    def __post_init__(self) -> None:
        if self.retries < 0:
            raise bad_parameter("retries", "SourceSettings", "a non-negative integer", self.retries)
        if self.timeout <= 0:
            raise bad_parameter("timeout", "SourceSettings", "a positive number of seconds", self.timeout)
        if self.backoff < 0:
            raise bad_parameter("backoff", "SourceSettings", "a non-negative number of seconds", self.backoff)
        if "{year}" not in self.pdok_url:
            raise bad_parameter(
                "pdok_url", "SourceSettings", "a URL with a '{year}' placeholder", self.pdok_url
            )

    @classmethod
    def from_env(
        cls,
        *,
        cbs_url: str | None = None,
        police_url: str | None = None,
        pdok_url: str | None = None,
        cache_dir: Path | None = None,
        **overrides: object,
    ) -> SourceSettings:
        """Build settings from explicit values, then ``PULSETWIN_*`` environment variables, then defaults."""
        env_cache = os.environ.get(ENV_CACHE_DIR)
        base = cls(
            cbs_url=cbs_url or os.environ.get(ENV_CBS_URL) or DEFAULT_CBS_URL,
            police_url=police_url or os.environ.get(ENV_POLICE_URL) or DEFAULT_POLICE_URL,
            pdok_url=pdok_url or os.environ.get(ENV_PDOK_URL) or DEFAULT_PDOK_URL,
            cache_dir=cache_dir or (Path(env_cache) if env_cache else _default_cache_dir()),
        )
        return replace(base, **overrides)  # type: ignore[arg-type]

    def pdok_root(self, year: int) -> str:
        """The OGC API root of one boundary year."""
        return self.pdok_url.format(year=year).rstrip("/")


def feed_root(api_root: str) -> str:
    """The paged bulk ``ODataFeed`` root of an ``ODataApi`` root (``…/ODataApi/odata`` -> ``…/ODataFeed/odata``).

    CBS serves metadata on both; data above 10,000 cells only on the feed, which pages with ``odata.nextLink``.
    """
    root = api_root.rstrip("/") + "/"
    if API_SEGMENT.lower() not in root.lower():
        raise bad_parameter(
            "base URL", "the CBS connectors", f"an OData v3 root containing '{API_SEGMENT}' (its bulk feed is "
            f"the same URL with '{FEED_SEGMENT}')", api_root,
        )  # fmt: skip
    at = root.lower().rindex(API_SEGMENT.lower())
    return (root[:at] + FEED_SEGMENT + root[at + len(API_SEGMENT) :]).rstrip("/")
