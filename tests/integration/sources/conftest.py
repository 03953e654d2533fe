"""Fixtures for connector tests: a loopback replay server, fast client settings, and the ``network`` skip."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from replay_server import Replay, serve

from pulsetwin.sources.http import HttpClient
from pulsetwin.sources.settings import SourceSettings


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests marked ``network`` unless PULSETWIN_LIVE=1 (the older PULSETWIN_NETWORK_TESTS=1 still works)."""
    if "1" in (os.environ.get("PULSETWIN_LIVE"), os.environ.get("PULSETWIN_NETWORK_TESTS")):
        return
    skip = pytest.mark.skip(reason="touches the live services; set PULSETWIN_LIVE=1 to run")
    for item in items:
        if "network" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def replay() -> Iterator[Replay]:
    """A running replay server (its base URL in ``replay.base``)."""
    state = Replay()
    with serve(state):
        yield state


@pytest.fixture
def settings(replay: Replay, tmp_path: Path) -> SourceSettings:
    """Settings pointing every source at the replay server, with a private cache and no waiting."""
    return SourceSettings(
        cbs_url=f"{replay.base}/cbs/ODataApi/odata",
        police_url=f"{replay.base}/police/ODataApi/odata",
        pdok_url=replay.base + "/pdok/wijken-en-buurten-{year}/ogc/v1",
        cache_dir=tmp_path / "cache",
        retries=3,
        backoff=0.0,
        timeout=5.0,
    )


@pytest.fixture
def client(settings: SourceSettings) -> Iterator[HttpClient]:
    """An HTTP client on the replay server."""
    with HttpClient(settings) as http:
        yield http


@pytest.fixture
def cli_env(replay: Replay, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Environment variables that point the CLI at the replay server; returns the store path."""
    monkeypatch.setenv("PULSETWIN_CBS_URL", f"{replay.base}/cbs/ODataApi/odata")
    monkeypatch.setenv("PULSETWIN_POLICE_URL", f"{replay.base}/police/ODataApi/odata")
    monkeypatch.setenv("PULSETWIN_PDOK_URL", replay.base + "/pdok/wijken-en-buurten-{year}/ogc/v1")
    monkeypatch.setenv("PULSETWIN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PULSETWIN_HTTP_BACKOFF", "0")
    return tmp_path / "store.duckdb"
