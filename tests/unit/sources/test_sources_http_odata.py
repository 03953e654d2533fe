"""The HTTP client (retries, cache, errors) on an injected transport, and the OData helpers."""

from __future__ import annotations

from pathlib import Path

import httpx
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pulsetwin.exceptions import SourceError
from pulsetwin.sources.http import HttpClient, OfflineError, request_key
from pulsetwin.sources.odata import AmbiguousKey, clean_measure, data_properties, fetch_rows, resolve_key
from pulsetwin.sources.police import months_text, slug_for_code
from pulsetwin.sources.settings import SourceSettings, feed_root


def _client(handler: httpx.MockTransport, tmp_path: Path | None, waits: list[float]) -> HttpClient:
    settings = SourceSettings(cache_dir=tmp_path, retries=3, backoff=0.5)
    return HttpClient(settings, transport=handler, sleep=waits.append)


def test_retries_with_exponential_backoff_then_succeeds(tmp_path: Path) -> None:
    answers = iter(
        [httpx.Response(503), httpx.Response(500), httpx.Response(200, json={"value": [{"a": 1}]})]
    )
    waits: list[float] = []
    client = _client(httpx.MockTransport(lambda request: next(answers)), tmp_path, waits)
    rows = fetch_rows(client, "https://example.test/odata/T/TypedDataSet")
    assert rows.rows == [{"a": 1}]
    assert waits == [0.5, 1.0]


def test_timeouts_exhaust_retries_into_one_source_error() -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    waits: list[float] = []
    client = _client(httpx.MockTransport(boom), None, waits)
    with pytest.raises(SourceError, match=r"failed after 4 attempts; last error: ReadTimeout"):
        client.get("https://example.test/x")
    assert waits == [0.5, 1.0, 2.0]


def test_client_errors_are_not_retried() -> None:
    calls: list[httpx.Request] = []

    def missing(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(404, text="no such table")

    with pytest.raises(SourceError, match="HTTP 404"):
        _client(httpx.MockTransport(missing), None, []).get("https://example.test/odata/NOPE/TypedDataSet")
    assert len(calls) == 1


def test_cache_answers_a_repeated_request_and_refresh_bypasses_it(tmp_path: Path) -> None:
    calls: list[httpx.Request] = []

    def ok(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json={"value": [len(calls)]})

    client = _client(httpx.MockTransport(ok), tmp_path, [])
    first, _ = client.get_json("https://example.test/a", {"$top": "5", "$format": "json"})
    second, response = client.get_json("https://example.test/a", {"$format": "json", "$top": "5"})
    assert first == second == {"value": [1]} and response.from_cache and len(calls) == 1
    client.settings = SourceSettings(cache_dir=tmp_path, refresh=True)
    assert client.get_json("https://example.test/a", {"$top": "5", "$format": "json"})[0] == {"value": [2]}


def test_request_key_ignores_parameter_order_but_not_values() -> None:
    a = request_key("https://h/x?b=2", {"a": "1"})
    assert a == request_key("https://h/x", {"a": "1", "b": "2"})
    assert a != request_key("https://h/x", {"a": "1", "b": "3"})


def _properties(rows: list[dict[str, object]]) -> pd.DataFrame:
    """DataProperties as the real service lists them, read through the connector's own parser."""

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"odata.metadata": "x/$metadata#Cbs.OData.WebAPI.DataProperties",
                                         "value": rows})  # fmt: skip

    client = _client(httpx.MockTransport(answer), None, [])
    return data_properties(client, "https://example.test/ODataApi/odata", "T")[0]


def _topic(i: int, key: str, parent: int | None = None) -> dict[str, object]:
    return {"odata.type": "Cbs.OData.WebAPI.Topic", "ID": i, "Position": i, "ParentID": parent,
            "Type": "Topic", "Key": key, "Title": key, "Unit": "aantal"}  # fmt: skip


def _group(i: int, title: str) -> dict[str, object]:
    return {"odata.type": "Cbs.OData.WebAPI.TopicGroup", "ID": i, "Position": None, "ParentID": None,
            "Type": "TopicGroup", "Key": f"G{i}", "Title": title}  # fmt: skip


def test_resolve_key_matches_the_key_without_its_suffix() -> None:
    keys = ["AantalInwoners_5", "Bevolkingsdichtheid_34", "Koopwoningen_41", "Nederland_17"]
    props = _properties([_topic(i, k) for i, k in enumerate(keys)])
    assert resolve_key(props, "Bevolkingsdichtheid") == "Bevolkingsdichtheid_34"
    assert resolve_key(props, "Koop") == "Koopwoningen_41"  # unique prefix
    assert resolve_key(props, "Neder", prefix=False) is None
    assert resolve_key(props, "GemiddeldInkomenPerInwoner") is None
    more = _properties([*(_topic(i, k) for i, k in enumerate(keys)), _topic(9, "KoopwoningenNieuw_42")])
    with pytest.raises(AmbiguousKey, match="several columns"):
        resolve_key(more, "Koop")


def test_a_repeated_stem_is_resolved_by_the_title_of_its_group() -> None:
    props = _properties([
        _group(1, "Herkomstland"), _topic(2, "Nederland_17", 1), _topic(3, "BuitenEuropa_19", 1),
        _group(4, "Geboren in Nederland"), _topic(5, "Nederland_20", 4), _topic(6, "BuitenEuropa_22", 4),
        _group(7, "Geboren buiten Nederland"), _topic(8, "BuitenEuropa_24", 7),
    ])  # fmt: skip
    assert resolve_key(props, "BuitenEuropa", prefix=False, group="herkomstland") == "BuitenEuropa_19"
    assert resolve_key(props, "Nederland", prefix=False, group="Geboren in Nederland") == "Nederland_20"
    with pytest.raises(AmbiguousKey) as error:
        resolve_key(props, "BuitenEuropa", prefix=False)
    assert error.value.candidates == [
        "BuitenEuropa_19 (group 'Herkomstland')",
        "BuitenEuropa_22 (group 'Geboren in Nederland')",
        "BuitenEuropa_24 (group 'Geboren buiten Nederland')",
    ]
    with pytest.raises(AmbiguousKey):
        resolve_key(props, "BuitenEuropa", prefix=False, group="Elders")
    assert resolve_key(props, "G1", prefix=False) is None  # a TopicGroup is never a measure


def test_feed_root_swaps_the_api_segment_and_refuses_other_roots() -> None:
    assert feed_root("https://opendata.cbs.nl/ODataApi/odata") == "https://opendata.cbs.nl/ODataFeed/odata"
    assert (
        feed_root("https://dataderden.cbs.nl/ODataApi/odata/") == "https://dataderden.cbs.nl/ODataFeed/odata"
    )
    with pytest.raises(ValueError, match="ODataApi"):
        feed_root("https://mirror.example/odata")


def test_offline_answers_from_the_cache_only(tmp_path: Path) -> None:
    calls: list[httpx.Request] = []

    def ok(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json={"value": []})

    online = _client(httpx.MockTransport(ok), tmp_path, [])
    online.get_json("https://example.test/cached")
    offline = HttpClient(SourceSettings(cache_dir=tmp_path, offline=True, cache_max_age=0.0),
                         transport=httpx.MockTransport(ok))  # fmt: skip
    assert offline.get_json("https://example.test/cached")[1].from_cache  # age ignored offline
    with pytest.raises(
        OfflineError, match=r"the response cache does not hold GET https://example\.test/other"
    ):
        offline.get("https://example.test/other")
    assert len(calls) == 1


def test_unreachable_names_the_transport_error_and_any_status_counts_as_reachable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Name or service not known", request=request)

    assert "ConnectError" in str(_client(httpx.MockTransport(refuse), None, []).unreachable("https://x.test"))
    missing = _client(httpx.MockTransport(lambda r: httpx.Response(404)), None, [])
    assert missing.unreachable("https://x.test") is None


def test_clean_measure_turns_secrets_into_missing_and_refuses_garbage() -> None:
    keys = pd.Series(["BU1", "BU2", "BU3", "BU4", "BU5", "BU6"])
    values = pd.Series([12, None, -99997, -99995, -99991, "   .  "], dtype=object)
    cleaned = clean_measure(values, where="T", keys=keys)
    assert cleaned.iloc[0] == 12.0 and cleaned.iloc[1:].isna().all()
    with pytest.raises(SourceError, match="'BU2'"):
        clean_measure(pd.Series([1, "twelve"], dtype=object), where="T", keys=keys.iloc[:2])


@given(st.lists(st.integers(0, 9), min_size=3, max_size=3))
def test_offence_codes_map_to_valid_slugs_or_are_rollups(parts: list[int]) -> None:
    code = ".".join(map(str, parts))
    slug = slug_for_code(code.ljust(6))
    if 0 in parts:
        assert slug is None
    else:
        assert slug is not None and (slug.startswith("police_") or "_" in slug or slug.isalpha())


def test_known_codes_use_the_vocabulary() -> None:
    assert slug_for_code("1.1.1 ") == "burglary_residential"
    assert slug_for_code("1.4.4") == "violence"
    assert slug_for_code("3.7.4 ") == "police_3_7_4"
    assert slug_for_code("0.0.0 ") is None


def test_months_text_shortens_runs_of_three_or_more() -> None:
    months = [
        pd.Period(m, freq="M") for m in ["2023-01", "2023-02", "2023-03", "2023-05", "2023-06", "2024-01"]
    ]
    assert months_text(months) == "2023-01..2023-03 (3 months), 2023-05, 2023-06, 2024-01"
    assert months_text([]) == ""
