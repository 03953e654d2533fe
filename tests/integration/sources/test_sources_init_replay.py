"""``pulsetwin init`` end to end against the replay server: order, interruption and resume, offline route."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
from replay_server import Replay
from typer.testing import CliRunner

from pulsetwin.cli.main import app
from pulsetwin.exceptions import SourceError
from pulsetwin.sources.http import HttpClient
from pulsetwin.store.database import Store

ARGS = ["init", "--gemeente", "GM0917", "--years", "2022-2024", "--retries", "0"]


def test_init_resumes_after_an_interruption_from_cached_pages(cli_env: Path, replay: Replay) -> None:
    runner = CliRunner()
    replay.always["47024NED/TypedDataSet"] = "500"  # the nuisance table keeps failing: the run stops there
    broken = runner.invoke(app, [*ARGS, "--db", str(cli_env)])
    assert isinstance(broken.exception, SourceError) and "47024NED" in str(broken.exception)
    with Store(cli_env, read_only=True) as store:  # what was complete is stored, the police step is not
        assert store.count("areas") == 6 and store.count("covariates") > 0 and store.count("incidents") == 0
    order = [p.split("/")[1] for p, _ in replay.log]
    assert order.index("pdok") < order.index("cbs") < order.index("police")
    del replay.always["47024NED/TypedDataSet"]
    replay.log.clear()
    resumed = runner.invoke(app, [*ARGS, "--db", str(cli_env), "--json"])
    assert resumed.exit_code == 0, resumed.output + repr(resumed.exception)
    refused = [
        p for p, q in replay.log if "filter" in q and p.endswith("gemeenten/items")
    ]  # 400s: not cached
    fetched = [p for p, q in replay.log if not ("filter" in q and p.endswith("gemeenten/items"))]
    assert len(refused) == 1 and fetched and all(p.endswith("47024NED/TypedDataSet") for p in fetched)
    summary = json.loads(resumed.stdout)
    assert list(summary["areas"]["per_level"].items()) == [("gemeente", 1), ("wijk", 2), ("buurt", 3)]
    assert summary["areas"]["inserted"] == {"areas": 0}  # stored by the first run, recognised now
    assert summary["kerncijfers"]["years"] == [2022, 2023, 2024]
    crime = summary["police"]["per_source"]["politie:47022NED"]
    assert (crime["first"], crime["last"], crime["months"]) == ("2024-01", "2024-04", 4)
    assert summary["police"]["per_source"]["politie:47024NED"]["categories"] == ["nuisance_registered"]
    missing = "\n".join(summary["missing"])
    assert "withheld by the publisher" in missing
    assert "2024-05, 2024-06" in missing and "reporting lag" in missing  # incomplete latest months
    assert "47024NED: not published: 2022-01..2023-12 (24 months)" in missing
    assert "changed code or boundary" in missing and "HuishOnderOfRondSociaalMinimum" in missing
    with Store(cli_env, read_only=True) as store:
        assert store.count("incidents") > 0


def test_init_prints_a_summary_then_runs_offline_from_the_filled_cache(
    cli_env: Path, replay: Replay, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    first = runner.invoke(app, [*ARGS, "--db", str(cli_env)])
    assert first.exit_code == 0, first.output + repr(first.exception)
    for name in ("geometry", "kerncijfers", "police"):  # a progress bar per source, on stderr
        assert name in first.stderr and "pages" in first.stderr
    assert "politie:47024NED" in first.stdout and "2024-01..2024-04 (4 months)" in first.stdout
    assert "missing, and why:" in first.stdout
    monkeypatch.setattr(HttpClient, "unreachable", lambda self, url, timeout=5.0: "ConnectError: simulated")
    replay.log.clear()
    again = runner.invoke(app, [*ARGS, "--db", str(cli_env), "--json"])
    assert again.exit_code == 0, again.output + repr(again.exception)
    assert "continuing from the response cache only" in again.stderr
    assert replay.log == []  # every page came from the cache
    assert json.loads(again.stdout)["police"]["inserted"] == {"incidents": 0}


def test_init_without_network_fails_fast_and_names_the_offline_route(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # a port nobody listens on: connection refused at once
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setenv("PULSETWIN_CBS_URL", f"{dead}/ODataApi/odata")
    monkeypatch.setenv("PULSETWIN_POLICE_URL", f"{dead}/ODataApi/odata")
    monkeypatch.setenv("PULSETWIN_PDOK_URL", dead + "/wijken-en-buurten-{year}/ogc/v1")
    monkeypatch.setenv("PULSETWIN_CACHE_DIR", str(tmp_path / "cache"))
    started = time.monotonic()
    result = CliRunner().invoke(app, [*ARGS, "--db", str(tmp_path / "s.duckdb")])
    assert time.monotonic() - started < 10
    assert isinstance(result.exception, SourceError)
    message = str(result.exception)
    assert "no network" in message and "cannot be reached (ConnectError" in message
    assert "--cache-dir ./pulsetwin-cache" in message
    assert "pulsetwin import areas wijkenbuurten_2024.gpkg --layer buurten --db" in message
    assert "pulsetwin import covariates covariates.csv" in message
    assert not (tmp_path / "s.duckdb").exists()


def test_init_with_a_boundary_year_before_the_ogc_api_names_both_ways_out(
    cli_env: Path, replay: Replay
) -> None:
    result = CliRunner().invoke(app, [*ARGS, "--boundary-year", "2020", "--db", str(cli_env)])
    assert isinstance(result.exception, SourceError)
    message = str(result.exception)
    assert "--boundary-year 2025" in message and "wijkenbuurten_2020.gpkg --layer gemeenten" in message
    assert replay.log == [] and not cli_env.exists()
