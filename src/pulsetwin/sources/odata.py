"""OData v3 as CBS and dataderden.cbs.nl serve it: pages, ``odata.nextLink``, row caps, DataProperties.

A page is ``{"odata.metadata": ..., "value": [...], "odata.nextLink": ...}``. A page without ``value`` is
malformed and retried. A query that returns exactly its ``$top`` rows without a next link may be truncated:
callers split it into smaller partitions (``$skip`` is not available on every host).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urljoin

import pandas as pd

from pulsetwin.exceptions import SourceError
from pulsetwin.sources.http import HttpClient, Response

SUFFIX: Final = re.compile(r"_\d+$")


@dataclass(frozen=True)
class ODataResult:
    """Rows of one query with the responses they came from and whether the row cap may have cut them."""

    rows: list[dict[str, Any]]
    responses: list[Response]
    truncated: bool


def check_page(payload: Any) -> None:
    """Raise ``ValueError`` unless ``payload`` is an OData page whose ``value`` is a list of records."""
    if not isinstance(payload, dict) or not isinstance(payload.get("value"), list):
        raise ValueError("an OData page must be a JSON object with a 'value' list")
    if not all(isinstance(row, dict) for row in payload["value"]):
        raise ValueError("every item of an OData page's 'value' must be an object")


def quote(value: str) -> str:
    """An OData string literal (single quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def startswith_any(column: str, prefixes: Iterable[str]) -> str:
    """``startswith(col,'a') or startswith(col,'b')``: the safe filter on space-padded keys."""
    return " or ".join(f"startswith({column},{quote(p)})" for p in prefixes)


def fetch_rows(
    client: HttpClient, url: str, params: Mapping[str, str] | None = None, *, top: int | None = None
) -> ODataResult:
    """All rows of a query, following ``odata.nextLink`` until the last page."""
    query = dict(params or {})
    query.setdefault("$format", "json")
    if top is not None:
        query["$top"] = str(top)
    rows: list[dict[str, Any]] = []
    responses: list[Response] = []
    next_url: str | None = url
    next_params: dict[str, str] | None = query
    seen: set[str] = set()
    last_page_size = 0
    while next_url is not None:
        if len(responses) >= client.settings.max_pages or next_url in seen:
            raise SourceError(
                f"{url}: paging did not end after {len(responses)} pages (next link {next_url!r}). "
                "Fix: raise max_pages or report the looping next link to the publisher"
            )
        if next_params is None:
            seen.add(next_url)
        payload, response = client.get_json(next_url, next_params, check=check_page)
        responses.append(response)
        rows.extend(payload["value"])
        last_page_size = len(payload["value"])
        link = payload.get("odata.nextLink") or payload.get("@odata.nextLink")
        next_url = urljoin(response.url, link) if link else None
        next_params = None
    truncated = top is not None and len(responses) == 1 and last_page_size >= top
    return ODataResult(rows, responses, truncated)


def data_properties(client: HttpClient, root: str, table: str) -> tuple[pd.DataFrame, list[Response]]:
    """The ``DataProperties`` of a table: one row per column with ``Key``, ``Type``, ``Unit``, ``Title``."""
    result = fetch_rows(client, f"{root}/{table}/DataProperties")
    frame = pd.DataFrame(result.rows)
    if "Key" not in frame.columns:
        raise SourceError(
            f"{root}/{table}/DataProperties has no 'Key' field. Fix: check that the base URL points at an "
            "OData v3 root such as https://opendata.cbs.nl/ODataApi/odata"
        )
    for column in ("Type", "Unit", "Title"):
        if column not in frame.columns:
            frame[column] = None
    frame = frame[frame["Key"].notna()].reset_index(drop=True)
    frame["stem"] = frame["Key"].astype(str).str.replace(SUFFIX, "", regex=True)
    return frame, result.responses


def resolve_key(properties: pd.DataFrame, concept: str, *, prefix: bool = True) -> str | None:
    """The year's column key for ``concept``: exact match on the key with ``_\\d+$`` removed, else (when
    ``prefix``) the one key whose stem starts with ``concept``; None when absent; SourceError if ambiguous."""
    pairs = list(
        zip(properties["stem"].astype(str).tolist(), properties["Key"].astype(str).tolist(), strict=True)
    )
    exact = [key for stem, key in pairs if stem == concept]
    candidates = exact or ([key for stem, key in pairs if stem.startswith(concept)] if prefix else [])
    if len(candidates) > 1:
        raise SourceError(
            f"measure '{concept}' matches several columns ({', '.join(candidates)}). "
            "Fix: name the concept more precisely"
        )
    return candidates[0] if candidates else None


def dimension_keys(
    client: HttpClient, root: str, table: str, dimension: str, *, prefix: str | None = None
) -> tuple[list[str], list[Response]]:
    """The keys of one dimension (e.g. ``Perioden``), stripped of padding; ``prefix`` filters server-side."""
    params = {"$filter": startswith_any("Key", [prefix])} if prefix else None
    result = fetch_rows(client, f"{root}/{table}/{dimension}", params)
    keys = [str(row["Key"]).strip() for row in result.rows if row.get("Key") is not None]
    if not keys:
        raise SourceError(f"{root}/{table}/{dimension} lists no keys. Fix: check the table id and base URL")
    return keys, result.responses


SENTINELS: Final = (-99997.0, -99995.0, -99991.0)
"""CBS codes for secret/absent (-99997), published later (-99995), no longer published here (-99991)."""
SECRET_MARKERS: Final = frozenset({"", ".", "x", "-", "?"})


def clean_measure(values: pd.Series, *, where: str, keys: pd.Series) -> pd.Series:
    """Numbers as float with null, CBS secret markers and sentinels as missing (never zero).

    Anything else that is not a number raises SourceError naming the table, area key, column and value.
    """
    text = values.astype("string").str.strip()
    missing = values.isna() | text.isin(SECRET_MARKERS).fillna(False)
    numbers = pd.to_numeric(text.where(~missing), errors="coerce")
    bad = numbers.isna() & ~missing
    if bool(bad.any()):
        first = bad.to_numpy().nonzero()[0][0]
        raise SourceError(
            f"{where}, area {str(keys.iloc[first]).strip()!r}: value {values.iloc[first]!r} is not a number, "
            "null or a CBS secret marker. Fix: report the value to the publisher or pin an older table"
        )
    numbers = numbers.astype("float64")
    return numbers.mask(numbers.isin(SENTINELS))
