"""The trial routes: who may read them, and that they answer exactly what the log holds."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pulsetwin.api import Settings, create_app
from pulsetwin.testing.fixture_store import Fixture, add_trials
from pulsetwin.trials.design import NAME

V1 = "/api/v1"


@pytest.fixture(scope="module")
def trial_store(
    populated: Fixture, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Fixture, tuple[str, str]]:
    """A copy of the populated store with one analysed and one registered-only trial."""
    copy = tmp_path_factory.mktemp("trial-store")
    shutil.copytree(populated.db.parent, copy, dirs_exist_ok=True)
    fixture = replace(populated, db=copy / populated.db.name, documents=copy / populated.documents.name)
    return fixture, add_trials(fixture)


@pytest.fixture(scope="module")
def trial_client(
    trial_store: tuple[Fixture, tuple[str, str]],
) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    """A client on the trial store and authorization headers per role."""
    fixture = trial_store[0]
    with TestClient(create_app(Settings(db=fixture.db, documents=fixture.documents))) as client:
        headers = {}
        for name, password in fixture.passwords.items():
            token = client.post(f"{V1}/auth/token", json={"username": name, "password": password}).json()
            headers[name.removesuffix("-user")] = {"Authorization": f"Bearer {token['access_token']}"}
        yield client, headers


def logged(client: TestClient, admin: dict[str, str], action: str) -> list[dict[str, Any]]:
    """The log records of ``action`` (read through the log route: the app holds the store), oldest first."""
    response = client.get(f"{V1}/log", params={"action": action, "limit": 1000}, headers=admin)
    assert response.status_code == 200, response.text
    return list(reversed(response.json()["items"]))


def test_viewers_are_refused_and_strangers_unauthorised(
    trial_client: tuple[TestClient, dict[str, dict[str, str]]],
) -> None:
    client, headers = trial_client
    for path in ("/trials", "/trials/youth-work"):
        refused = client.get(V1 + path, headers=headers["viewer"])
        assert refused.status_code == 403 and refused.json()["error"]["details"]["role"] == "viewer"
        assert client.get(V1 + path).status_code == 401
    missing = client.get(f"{V1}/trials/no-such-trial", headers=headers["auditor"])
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_analysts_and_auditors_read_what_the_log_holds(
    trial_client: tuple[TestClient, dict[str, dict[str, str]]], trial_store: tuple[Fixture, tuple[str, str]]
) -> None:
    client, headers = trial_client
    analysed, registered = trial_store[1]
    listing = client.get(f"{V1}/trials", headers=headers["analyst"])
    assert listing.status_code == 200, listing.text
    rows = {row["trial_id"]: row for row in listing.json()}
    assert {t: r["status"] for t, r in rows.items()} == {analysed: "analysed", registered: "registered"}
    registrations = {r["subject"]: r["detail"] for r in logged(client, headers["admin"], "trial_register")}
    for trial_id, row in rows.items():
        doc = registrations[trial_id]["document"]
        assert row["version"] == 1 and row["design_type"] == "cluster"
        assert row["power"] == doc["power"]["power"] and row["units"] == len(doc["units"])
    detail = client.get(f"{V1}/trials/{analysed}", headers=headers["auditor"]).json()
    doc = registrations[analysed]["document"]
    treated = sum(u["treated"] for u in doc["units"])
    assert detail["allocation"] == {"units": len(doc["units"]), "treated": treated,
                                    "control": len(doc["units"]) - treated, "treated_buurten": treated,
                                    "control_buurten": len(doc["units"]) - treated}  # fmt: skip
    assert detail["registration_sha256"] == registrations[analysed]["sha256"]
    assert detail["periods"] == doc["periods"] and detail["hypothesis"] == doc["hypothesis"]
    (analysis,) = [r["detail"] for r in logged(client, headers["admin"], "trial_analyse")]
    result = detail["result"]
    assert result["rate_ratio"] == analysis["rate_ratio"]
    assert result["p_value"] == analysis["p_value"]
    assert result["wdq"] == analysis["displacement"]["wdq"]
    assert result["deviations"] == analysis["deviations"]
    assert result["sentence"] == analysis["sentence"]
    assert client.get(f"{V1}/trials/{registered}", headers=headers["analyst"]).json()["result"] is None
    views = logged(client, headers["admin"], "view_trials")
    assert {(v["actor"], v["subject"]) for v in views} >= {
        ("analyst-user", "trials"),
        ("auditor-user", analysed),
        ("analyst-user", registered),
    }


def test_the_route_accepts_trial_ids_by_the_designers_rule(
    trial_client: tuple[TestClient, dict[str, dict[str, str]]],
) -> None:
    client, headers = trial_client
    (parameter,) = client.get("/openapi.json").json()["paths"][f"{V1}/trials/{{trial_id}}"]["get"][
        "parameters"
    ]
    assert parameter["schema"]["pattern"] == NAME.pattern
    assert client.get(f"{V1}/trials/-bad", headers=headers["auditor"]).status_code == 422
