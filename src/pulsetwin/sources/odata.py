"""OData v3 as CBS and dataderden.cbs.nl serve it: pages, ``odata.nextLink``, DataProperties, dimensions.

A page is ``{"odata.metadata": ".../$metadata#Cbs.OData.WebAPI.TypedDataSet", "value": [...],
"odata.nextLink": ...}``. A page without ``value`` is malformed and retried. The ``ODataApi`` endpoints refuse
a query above 10,000 cells with HTTP 500 instead of a cut page, so data is read from the ``ODataFeed`` root
(:func:`pulsetwin.sources.settings.feed_root`), which pages with ``odata.nextLink`` as ``cbsodata`` does.
``DataProperties`` rows carry ``ID``, ``Position``, ``ParentID``, ``Type`` (``GeoDetail``/``Dimension``/
``Topic``/``TopicGroup`` …), ``Key``, ``Title`` and ``Unit``; a topic's group is the ``Title`` of its parent.
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
    """Rows of one query with the responses they came from."""

    rows: list[dict[str, Any]]
    responses: list[Response]


class AmbiguousKey(SourceError):
    """A concept that matches several columns which its group does not tell apart."""

    def __init__(self, concept: str, candidates: list[str]) -> None:
        super().__init__(
            f"measure '{concept}' matches several columns ({', '.join(candidates)}). "
            "Fix: name the concept more precisely or give the group (DataProperties ParentID/Title) it belongs to"
        )
        self.concept, self.candidates = concept, candidates


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


def fetch_rows(client: HttpClient, url: str, params: Mapping[str, str] | None = None) -> ODataResult:
    """All rows of a query, following ``odata.nextLink`` until the last page."""
    query = dict(params or {})
    query.setdefault("$format", "json")
    rows: list[dict[str, Any]] = []
    responses: list[Response] = []
    next_url: str | None = url
    next_params: dict[str, str] | None = query
    seen: set[str] = set()
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
        link = payload.get("odata.nextLink") or payload.get("@odata.nextLink")
        next_url = urljoin(response.url, link) if link else None
        next_params = None
    return ODataResult(rows, responses)


def data_properties(client: HttpClient, root: str, table: str) -> tuple[pd.DataFrame, list[Response]]:
    """The ``DataProperties`` of a table: one row per column with ``Key``, ``Type``, ``Unit``, ``Title``,
    its ``stem`` (key without ``_N``) and ``group`` (the ``Title`` of its parent ``TopicGroup``, or "")."""
    result = fetch_rows(client, f"{root}/{table}/DataProperties")
    frame = pd.DataFrame(result.rows)
    if "Key" not in frame.columns:
        raise SourceError(
            f"{root}/{table}/DataProperties has no 'Key' field. Fix: check that the base URL points at an "
            "OData v3 root such as https://opendata.cbs.nl/ODataApi/odata"
        )
    for column in ("ID", "ParentID", "Type", "Unit", "Title"):
        if column not in frame.columns:
            frame[column] = None
    titles = dict(zip(frame["ID"].tolist(), frame["Title"].astype("string").fillna("").tolist(), strict=True))
    frame["group"] = [titles.get(parent, "") if pd.notna(parent) else "" for parent in frame["ParentID"]]
    frame = frame[frame["Key"].notna()].reset_index(drop=True)
    frame["stem"] = frame["Key"].astype(str).str.replace(SUFFIX, "", regex=True)
    return frame, result.responses


def resolve_key(
    properties: pd.DataFrame, concept: str, *, prefix: bool = True, group: str | None = None
) -> str | None:
    """The year's column key for ``concept``: exact match on the key with ``_\\d+$`` removed, else (when
    ``prefix``) the keys whose stem starts with ``concept``; None when absent.

    Several matches (2024 repeats ``Nederland_17/_20``) are told apart by ``group``, the ``Title`` of their
    parent TopicGroup; :class:`AmbiguousKey` when that does not leave exactly one.
    """
    topics = properties[properties["Type"].astype("string").fillna("") != "TopicGroup"]
    stems = topics["stem"].astype(str)
    exact = topics[stems == concept]
    candidates = exact if len(exact) or not prefix else topics[stems.str.startswith(concept)]
    found = candidates
    if len(candidates) > 1 and group is not None:
        found = candidates[candidates["group"].astype(str).str.casefold() == group.casefold()]
    if len(candidates) > 1 and len(found) != 1:
        raise AmbiguousKey(
            concept,
            [f"{k} (group {g!r})" for k, g in zip(candidates["Key"], candidates["group"], strict=True)],
        )
    return str(found["Key"].iloc[0]) if len(found) else None


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
