"""The page-facing answers added for oversight: both statuses for every role (viewers included), category names,
the audit summary in the requested language, and the latest hotspot map."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from pulsetwin.api import Settings, create_app
from pulsetwin.audit.release import RELEASE_STATES, SKILL_STATES
from pulsetwin.cli.hotspots import save_map
from pulsetwin.exceptions import ParameterError
from pulsetwin.store.database import Store
from pulsetwin.store.runs import RunKind, RunStatus
from pulsetwin.testing.fixture_store import Fixture

V1 = "/api/v1"


def test_a_viewer_sees_both_statuses_in_the_requested_language(
    client: TestClient, auth: dict[str, dict[str, str]], run_id: str
) -> None:
    nl = client.get(f"{V1}/runs/{run_id}", headers=auth["viewer"]).json()
    en = client.get(f"{V1}/runs/{run_id}", headers={**auth["viewer"], "Accept-Language": "en"}).json()
    assert (
        nl["statuses"]["skill"]["state"] in SKILL_STATES
        and nl["statuses"]["release"]["state"] in RELEASE_STATES
    )
    # the fixture's audit run names no forecast run: this run was never audited
    assert nl["statuses"]["release"]["state"] == "not_audited"
    assert nl["statuses"]["release"]["sentence"].startswith("Nog niet geaudit")
    assert en["statuses"]["release"]["sentence"].startswith("Not audited yet")
    labels = {c["slug"]: c for c in nl["category_labels"]}
    assert labels["burglary_residential"]["nl"] == "Woninginbraak" and set(labels) == set(nl["categories"])
    evidence = client.get(f"{V1}/evidence/{run_id}", headers=auth["viewer"]).json()
    assert evidence["statuses"] == nl["statuses"]
    assert all(len(m["pit"]) in (0, 10) for m in evidence["models"])


def test_audit_summary_is_404_before_an_audit_and_hotspots_404_before_a_map(
    client: TestClient, auth: dict[str, dict[str, str]], run_id: str
) -> None:
    missing = client.get(f"{V1}/audits/summary/{run_id}", headers=auth["viewer"])
    assert missing.status_code == 404 and "not been audited" in missing.json()["error"]["message"]
    assert client.get(f"{V1}/hotspots", headers=auth["viewer"]).status_code == 404


def test_audit_summary_and_hotspots_after_they_exist(populated: Fixture) -> None:
    copy = populated.db.parent.parent / "api-statuses" / "pulsetwin.duckdb"
    copy.parent.mkdir(exist_ok=True)
    shutil.copyfile(populated.db, copy)
    finding = {"code": "no_skill", "message": "m", "blocking": True, "detail": {}}
    with Store(copy) as store:
        store.save_run(RunKind.AUDIT, params={"forecast_run": populated.run_id}, status=RunStatus.BLOCKED,
                       metrics={"status": "blocked", "findings": [finding], "disparity": []})  # fmt: skip
    cells = pd.DataFrame({"cell_code": ["C1_2", "C3_4"], "x_min": [1, 3], "y_min": [2, 4], "mean": [0.1, 0.9],
                          "rank": [2, 1]})  # fmt: skip
    save_map(copy, cells, {"model": "kde", "origin": "2024-01-01", "categories": ["violence"], "cell_m": 125,
                           "window_days": 14, "seed": 0, "n_cells": 2})  # fmt: skip
    with TestClient(create_app(Settings(db=copy))) as client:
        token = client.post(
            f"{V1}/auth/token",
            json={"username": "viewer-user", "password": populated.passwords["viewer-user"]},
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
        summary = client.get(f"{V1}/audits/summary/{populated.run_id}", headers=headers).json()
        assert summary["verdict"] == "blocked" and summary["lang"] == "en"
        assert summary["headline"] == "The model does not beat the best naive rule in the backtest."
        run = client.get(f"{V1}/runs/{populated.run_id}", headers=headers).json()
        assert run["statuses"]["release"]["state"] == "blocked"
        assert run["statuses"]["release"]["sentence"].endswith(
            "does not beat the best naive rule in the backtest."
        )
        hotspots = client.get(f"{V1}/hotspots", headers=headers).json()
        assert [c["cell_code"] for c in hotspots["cells"]] == ["C3_4", "C1_2"] and hotspots[
            "window_days"
        ] == 14
        assert hotspots["category_labels"][0]["en"] == "Violence"


def test_background_map_is_off_by_default_and_only_its_host_is_allowed_when_set(populated: Fixture) -> None:
    url = (
        "https://service.pdok.nl/brt/achtergrondkaart/wms/v2_0?SERVICE=WMS&REQUEST=GetMap&VERSION=1.3.0"
        "&LAYERS=standaard&CRS=EPSG:28992&BBOX={bbox}&WIDTH={width}&HEIGHT={height}&FORMAT=image/png"
    )
    with TestClient(create_app(Settings(db=populated.db))) as plain:
        assert plain.get(f"{V1}/health").json()["background_url"] is None
        assert "img-src 'self' data: blob:;" in plain.get("/").headers["content-security-policy"]
    with TestClient(create_app(Settings(db=populated.db, background_url=url))) as online:
        assert online.get(f"{V1}/health").json()["background_url"] == url
        assert (
            "img-src 'self' https://service.pdok.nl data:"
            in online.get("/").headers["content-security-policy"]
        )
    for bad in (
        "http://example.org/wms?BBOX={bbox}&WIDTH={width}&HEIGHT={height}",
        "https://example.org/tile.png",
    ):
        with pytest.raises(ParameterError, match="background_url"):
            Settings(db=populated.db, background_url=bad)
