"""PDOK geometry, resumable downloads and the fetch CLI writing the store, against the replay server."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import shapely
import typer
from replay_server import Replay
from typer.testing import CliRunner

from pulsetwin.exceptions import ConflictError, SourceError
from pulsetwin.sources.http import HttpClient
from pulsetwin.sources.pdok import ROUTE_ALL, ROUTE_BBOX, ROUTE_CQL, ROUTE_QUERYABLE, fetch_geometry


def test_geometry_pages_through_next_links_with_parents_and_water(client: HttpClient, replay: Replay) -> None:
    data = fetch_geometry(client, "GM0917", 2024, limit=2)
    areas = data.frames["areas"].set_index("area_code")
    assert list(areas["level"].value_counts().sort_index().items()) == [
        ("buurt", 3),
        ("gemeente", 1),
        ("wijk", 2),
    ]
    assert areas.loc["BU09170102", "parent_code"] == "WK091701"
    assert areas.loc["WK091799", "parent_code"] == "GM0917"
    assert areas.loc["GM0917", "parent_code"] == ""
    assert data.provenance["details"]["water_area_codes"] == ["BU09179997"]
    pages = [q for path, q in replay.log if path.endswith("buurten/items")]
    assert len(pages) == 2 and "cursor" in pages[1]  # a second page via the cursor in 'next'
    assert shapely.from_wkt(areas.loc["GM0917", "geometry"]).area == pytest.approx(4_000_000)


def test_water_rows_under_the_land_code_are_dropped_not_a_duplicate(
    client: HttpClient, replay: Replay
) -> None:
    rows = [
        f["properties"]
        for f in replay.pdok["gemeenten"]["features"]
        if f["properties"]["gemeentecode"] == "GM0917"
    ]
    assert [r["water"] for r in rows] == ["NEE", "JA"]  # the fixture: one code, a land and a water row
    data = fetch_geometry(client, "GM0917", 2024)
    assert (data.frames["areas"]["area_code"] == "GM0917").sum() == 1
    assert data.provenance["details"]["water_rows_dropped"] == {"gemeenten": 1}
    assert any("water rows under the code of a land row dropped" in m for m in data.messages)


def test_unconfigured_parameters_are_refused_and_the_queryables_choose_the_route(
    client: HttpClient, replay: Replay
) -> None:
    root = client.settings.pdok_root(2024)
    with pytest.raises(SourceError, match=r"HTTP 400.*unknown query parameter"):
        client.get(f"{root}/collections/gemeenten/items", {"f": "json", "gemeentecode": "GM0917"})
    data = fetch_geometry(client, "GM0917", 2024)
    routes = data.provenance["details"]["filter_routes"]
    assert routes == {"gemeenten": ROUTE_ALL, "wijken": ROUTE_QUERYABLE, "buurten": ROUTE_QUERYABLE}
    assert any(m == f"gemeenten: filtered by {ROUTE_ALL}" for m in data.messages)
    assert set(data.frames["areas"]["area_code"]) >= {"GM0917", "BU09170101"}
    assert "GM0918" not in set(data.frames["areas"]["area_code"])  # the client-side filter


def test_cql_filter_then_bbox_when_the_server_refuses_plain_filters(
    client: HttpClient, replay: Replay
) -> None:
    replay.pdok_param_filters = False
    cql = fetch_geometry(client, "GM0917", 2024)
    assert cql.provenance["details"]["filter_routes"]["buurten"] == ROUTE_CQL
    replay.pdok_cql = False
    client.settings = type(client.settings)(**{**client.settings.__dict__, "cache_dir": None})
    bbox = fetch_geometry(client, "GM0917", 2024)
    assert bbox.provenance["details"]["filter_routes"] == {
        "gemeenten": ROUTE_ALL, "wijken": ROUTE_BBOX, "buurten": ROUTE_BBOX,
    }  # fmt: skip
    assert any(
        q.get("bbox") == "190000,320000,192000,322000" for p, q in replay.log if p.endswith("buurten/items")
    )
    pd.testing.assert_frame_equal(cql.frames["areas"], bbox.frames["areas"])


def test_years_before_the_ogc_api_name_the_geopackage_route(client: HttpClient, replay: Replay) -> None:
    with pytest.raises(SourceError, match=r"2022-2025 only, not 2019") as error:
        fetch_geometry(client, "GM0917", 2019)
    message = str(error.value)
    assert "wijkbuurtkaart" not in message and "wijkenbuurten_2019.gpkg" in message
    assert "pulsetwin import areas wijkenbuurten_2019.gpkg --layer buurten" in message
    assert replay.log == []


def test_geometry_in_crs84_is_reprojected_to_rd(client: HttpClient, replay: Replay) -> None:
    rd = fetch_geometry(client, "GM0917", 2024).frames["areas"]
    replay.pdok_crs84 = True
    client.settings = type(client.settings)(**{**client.settings.__dict__, "cache_dir": None})
    lonlat = fetch_geometry(client, "GM0917", 2024).frames["areas"]
    for a, b in zip(rd["geometry"], lonlat["geometry"], strict=True):
        assert shapely.equals_exact(shapely.from_wkt(a), shapely.from_wkt(b), tolerance=0.01)


def test_download_resumes_after_a_dropped_transfer(
    client: HttpClient, replay: Replay, tmp_path: Path
) -> None:
    payload = bytes(range(256)) * 400
    replay.files["/files/wijkbuurtkaart.gpkg"] = payload
    replay.fail("/files/wijkbuurtkaart.gpkg", "drop")
    dest = client.download(f"{replay.base}/files/wijkbuurtkaart.gpkg", tmp_path / "kaart.gpkg")
    assert dest.read_bytes() == payload
    assert not (tmp_path / "kaart.gpkg.part").exists()
    assert len([p for p, _ in replay.log if p.startswith("/files/")]) == 2


@pytest.fixture
def cli() -> typer.Typer:
    from pulsetwin.cli.fetch import register

    app = typer.Typer()
    register(app)
    return app


def test_cli_fetches_everything_into_the_store_idempotently(cli: typer.Typer, cli_env: Path) -> None:
    from pulsetwin.store.database import Store
    from pulsetwin.store.protected import read_protected

    runner = CliRunner()
    commands = [
        ["fetch", "geometry", "--year", "2024", "--gemeente", "GM0917"],
        ["fetch", "cbs", "--gemeente", "GM0917", "--years", "2022-2023"],
        ["fetch", "police", "--gemeente", "GM0917", "--from", "2024-01", "--to", "2024-06"],
    ]
    for args in commands:
        result = runner.invoke(cli, [*args, "--db", str(cli_env)])
        assert result.exit_code == 0, result.output + repr(result.exception)
    again = runner.invoke(cli, [*commands[2], "--db", str(cli_env), "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["inserted"] == {"incidents": 0}  # nothing new on a re-run
    with Store(cli_env, read_only=True) as store:
        assert len(store.read("areas")) == 6
        incidents = store.read("incidents")
        assert incidents["period_start"].max().strftime("%Y-%m") == "2024-04"
        assert "migration" not in " ".join(store.read("covariates")["variable"].unique())
        assert set(read_protected(store)["year"]) == {2022, 2023}


def test_cli_stores_nothing_when_a_page_keeps_failing(
    cli: typer.Typer, cli_env: Path, replay: Replay
) -> None:
    from pulsetwin.store.database import Store

    replay.always["47024NED/TypedDataSet"] = "malformed"
    args = [
        "fetch",
        "police",
        "--gemeente",
        "GM0917",
        "--from",
        "2024-01",
        "--to",
        "2024-04",
        "--retries",
        "2",
    ]
    result = CliRunner().invoke(cli, [*args, "--db", str(cli_env)])
    assert isinstance(result.exception, SourceError)
    assert "malformed JSON" in str(result.exception)
    if cli_env.exists():  # the store is opened only after everything was fetched
        with Store(cli_env, read_only=True) as store:
            assert store.count("incidents") == 0


def test_cli_police_revision_is_refused_then_accepted_with_revise(
    cli: typer.Typer, cli_env: Path, replay: Replay
) -> None:
    from pulsetwin.store.database import Store

    runner = CliRunner()
    args = [
        "fetch",
        "police",
        "--gemeente",
        "GM0917",
        "--from",
        "2024-01",
        "--to",
        "2024-06",
        "--db",
        str(cli_env),
    ]
    assert runner.invoke(cli, args).exit_code == 0
    with Store(cli_env, read_only=True) as store:
        before = store.read("incidents").set_index(["area_code", "period_start", "category"])["count"]
    # the police re-publish February: residential burglary in BU09170101 corrected from 2 to 5
    replay.police["47022NED"]["counts"]["BU09170101"]["1.1.1 "][1] = 5
    refused = runner.invoke(cli, [*args, "--refresh"])
    assert isinstance(refused.exception, ConflictError)
    assert "1 rows have keys already stored" in str(refused.exception)
    assert "area_code=BU09170101, period_start=2024-02-01" in str(refused.exception)
    assert "--revise" in str(refused.exception)
    revised = runner.invoke(cli, [*args, "--refresh", "--revise", "--json"])
    assert revised.exit_code == 0, revised.output + repr(revised.exception)
    assert json.loads(revised.stdout)["revised"] == {"incidents": 1}
    with Store(cli_env, read_only=True) as store:
        after = store.read("incidents").set_index(["area_code", "period_start", "category"])["count"]
        revision = [r for r in store.log.records() if r.action == "revise"][-1]
        assert store.log.verify().ok
    key = ("BU09170101", pd.Timestamp("2024-02-01"), "burglary_residential")
    assert (before[key], after[key]) == (2, 5)
    assert after.drop(key).equals(before.drop(key))  # every other month and buurt untouched
    assert revision.detail["revised"] == 1 and revision.detail["changes"][0]["old"] == {"count": 2}
    assert revision.detail["changes"][0]["new"] == {"count": 5}
