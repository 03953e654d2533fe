"""Every route of the API: answers, role checks, auth failures, pagination, ETags and the log records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pulsetwin.api import Settings, create_app
from pulsetwin.evaluation.lineup import Lineup
from pulsetwin.evaluation.runs import run_forecast
from pulsetwin.evaluation.skill import SkillSettings
from pulsetwin.evaluation.splits import RollingOrigin
from pulsetwin.models.explain import DRIVERS
from pulsetwin.store.database import Store
from pulsetwin.testing.fixture_store import Fixture, build_store

V1 = "/api/v1"
PROTECTED_ROUTES = [
    "/areas", "/areas/BU09170000", "/areas/BU09170000/history", "/runs", "/forecasts?run_id=x",
    "/evidence/x", "/audits", "/scenarios", "/decisions", "/log", "/log/verify", "/log/head", "/documents",
    "/admin/users", "/admin/kill-switches", "/auth/me",
]  # fmt: skip


def log_actions(client: TestClient, auth: dict[str, dict[str, str]], action: str) -> list[dict[str, object]]:
    """Log records of one action, newest first."""
    response = client.get(f"{V1}/log", params={"action": action, "limit": 1000}, headers=auth["admin"])
    assert response.status_code == 200
    items: list[dict[str, object]] = response.json()["items"]
    return items


def assert_error(response: object, status: int, code: str) -> None:
    """The response has ``status`` and the one error body with ``code``."""
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code and body["error"]["message"]


def test_health_needs_no_login(client: TestClient) -> None:
    body = client.get(f"{V1}/health").json()
    assert body["status"] == "ok" and body["demo"] is False


@pytest.mark.parametrize("path", PROTECTED_ROUTES)
def test_every_route_refuses_missing_and_bad_tokens(client: TestClient, path: str) -> None:
    assert_error(client.get(V1 + path), 401, "unauthorized")
    assert_error(client.get(V1 + path, headers={"Authorization": "Bearer not-a-token"}), 401, "unauthorized")
    assert client.get(V1 + path).headers["www-authenticate"] == "Bearer"


def test_wrong_password_is_refused_and_logged(client: TestClient, auth: dict[str, dict[str, str]]) -> None:
    before = len(log_actions(client, auth, "login_failed"))
    response = client.post(f"{V1}/auth/token", json={"username": "admin-user", "password": "wrong-password"})
    assert_error(response, 401, "unauthorized")
    assert len(log_actions(client, auth, "login_failed")) == before + 1


def test_me_and_logout_revokes_the_token(client: TestClient, populated: Fixture) -> None:
    token = client.post(
        f"{V1}/auth/token", json={"username": "viewer-user", "password": populated.passwords["viewer-user"]}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(f"{V1}/auth/me", headers=headers).json()["role"] == "viewer"
    assert client.post(f"{V1}/auth/logout", headers=headers).status_code == 204
    assert_error(client.get(f"{V1}/auth/me", headers=headers), 401, "unauthorized")


def test_areas_are_geojson_with_pagination_and_etag(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    full = client.get(f"{V1}/areas", params={"level": "buurt"}, headers=auth["viewer"])
    body = full.json()
    assert body["type"] == "FeatureCollection" and body["crs"] == "EPSG:28992" and body["total"] == 90
    assert len(body["features"]) == 90 and all(
        f["geometry"]["type"].endswith("Polygon") for f in body["features"]
    )
    page = client.get(
        f"{V1}/areas", params={"level": "buurt", "limit": 10, "offset": 85}, headers=auth["viewer"]
    ).json()
    assert [f["id"] for f in page["features"]] == [f["id"] for f in body["features"][85:]] and page[
        "total"
    ] == 90
    again = client.get(
        f"{V1}/areas",
        params={"level": "buurt"},
        headers={**auth["viewer"], "If-None-Match": full.headers["etag"]},
    )
    assert again.status_code == 304 and again.headers["etag"] == full.headers["etag"]


def test_areas_in_wgs84_lie_in_heerlen(client: TestClient, auth: dict[str, dict[str, str]]) -> None:
    body = client.get(
        f"{V1}/areas", params={"crs": "EPSG:4326", "level": "buurt"}, headers=auth["viewer"]
    ).json()
    lon0, lat0, lon1, lat1 = body["bbox"]
    assert 5.5 < lon0 < lon1 < 6.5 and 50.5 < lat0 < lat1 < 51.2


def test_one_area_history_and_unknown_area(client: TestClient, auth: dict[str, dict[str, str]]) -> None:
    feature = client.get(f"{V1}/areas/BU09170000", headers=auth["viewer"]).json()
    assert feature["properties"]["level"] == "buurt"
    history = client.get(
        f"{V1}/areas/BU09170000/history", params={"category": "violence"}, headers=auth["viewer"]
    )
    points = history.json()["points"]
    assert len(points) > 50 and all(p["count"] is None or p["count"] >= 0 for p in points)
    assert_error(client.get(f"{V1}/areas/BU99999999", headers=auth["viewer"]), 404, "not_found")


@pytest.mark.parametrize("role", ["viewer", "analyst", "admin"])
def test_protected_attributes_are_refused_to_non_auditors(
    client: TestClient, auth: dict[str, dict[str, str]], role: str
) -> None:
    assert_error(client.get(f"{V1}/areas/BU09170000/protected", headers=auth[role]), 403, "forbidden")


def test_auditor_sees_protected_attributes_and_the_read_is_logged(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    before = len(log_actions(client, auth, "read_protected"))
    body = client.get(f"{V1}/areas/BU09170000/protected", headers=auth["auditor"]).json()
    assert body["values"] and all(v["attribute"] for v in body["values"])
    records = log_actions(client, auth, "read_protected")
    assert len(records) == before + 1 and records[0]["actor"] == "auditor-user"


def test_runs_list_and_detail(client: TestClient, auth: dict[str, dict[str, str]], run_id: str) -> None:
    runs = client.get(f"{V1}/runs", params={"kind": "forecast"}, headers=auth["viewer"]).json()
    assert [r["run_id"] for r in runs["items"]] == [run_id] and runs["total"] == 1
    detail = client.get(f"{V1}/runs/{run_id}", headers=auth["viewer"]).json()
    assert len(detail["categories"]) == 9 and len(detail["periods"]) == 2
    assert detail["vintage"]["data_until"] < detail["periods"][0]
    assert_error(client.get(f"{V1}/runs/nope", headers=auth["viewer"]), 404, "not_found")


def test_forecasts_filter_and_carry_intervals(
    client: TestClient, auth: dict[str, dict[str, str]], run_id: str
) -> None:
    detail = client.get(f"{V1}/runs/{run_id}", headers=auth["viewer"]).json()
    params = {"run_id": run_id, "category": "violence", "period_start": detail["periods"][0], "limit": 1000}
    body = client.get(f"{V1}/forecasts", params=params, headers=auth["viewer"]).json()
    assert body["total"] == 90 == len(body["items"])
    assert all(r["q05"] <= r["q50"] <= r["q95"] and r["category"] == "violence" for r in body["items"])
    means = sorted(r["mean"] for r in body["items"])
    flagged = [r for r in body["items"] if r["flagged"]]
    assert flagged and min(r["mean"] for r in flagged) >= means[int(0.85 * len(means))]
    one = client.get(
        f"{V1}/forecasts", params={**params, "area_code": "BU09170000"}, headers=auth["viewer"]
    ).json()
    assert one["total"] == 1 and one["vintage"]["data_until"]


def test_every_forecast_view_is_logged_including_304(
    client: TestClient, auth: dict[str, dict[str, str]], run_id: str
) -> None:
    before = len(log_actions(client, auth, "view_forecasts"))
    first = client.get(f"{V1}/forecasts", params={"run_id": run_id, "limit": 5}, headers=auth["viewer"])
    second = client.get(
        f"{V1}/forecasts",
        params={"run_id": run_id, "limit": 5},
        headers={**auth["viewer"], "If-None-Match": first.headers["etag"]},
    )
    assert first.status_code == 200 and second.status_code == 304
    records = log_actions(client, auth, "view_forecasts")
    assert len(records) == before + 2
    assert [r["detail"]["not_modified"] for r in records[:2]] == [True, False]  # type: ignore[index]


def test_bad_query_gets_the_error_body(
    client: TestClient, auth: dict[str, dict[str, str]], run_id: str
) -> None:
    response = client.get(f"{V1}/forecasts", params={"run_id": run_id, "limit": 0}, headers=auth["viewer"])
    assert_error(response, 422, "invalid_request")
    assert response.json()["error"]["details"]["problems"][0]["where"] == "query.limit"


def test_area_forecast_explains_against_the_record(
    client: TestClient, auth: dict[str, dict[str, str]], run_id: str
) -> None:
    body = client.get(
        f"{V1}/forecasts/{run_id}/areas/BU09170000", params={"category": "violence"}, headers=auth["viewer"]
    ).json()
    assert len(body["forecast"]) == 2 and body["history"]
    assert max(p["period_start"] for p in body["history"]) < body["forecast"][0]["period_start"]
    explanation = body["explanation"]
    recent = [p["count"] for p in body["history"][-8:] if p["count"] is not None]
    assert explanation["recent_mean"] == pytest.approx(sum(recent) / len(recent))
    assert explanation["direction"] in {"up", "down", "flat"}
    missing = client.get(
        f"{V1}/forecasts/{run_id}/areas/BU09170000", params={"category": "nope"}, headers=auth["viewer"]
    )
    assert_error(missing, 404, "not_found")


def test_export_is_for_analysts_and_logged(
    client: TestClient, auth: dict[str, dict[str, str]], run_id: str
) -> None:
    assert_error(client.get(f"{V1}/forecasts/{run_id}/export", headers=auth["viewer"]), 403, "forbidden")
    before = len(log_actions(client, auth, "export"))
    response = client.get(f"{V1}/forecasts/{run_id}/export", headers=auth["analyst"])
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text.splitlines()[0].startswith("area_code,area_name,category,period_start,mean,q05")
    assert len(response.text.splitlines()) == 1 + 90 * 9 * 2
    assert len(log_actions(client, auth, "export")) == before + 1


def test_evidence_holds_baselines_with_intervals(
    client: TestClient, auth: dict[str, dict[str, str]], run_id: str
) -> None:
    body = client.get(f"{V1}/evidence/{run_id}", headers=auth["viewer"]).json()
    models = {m["model"]: m for m in body["models"]}
    assert {"naive_last", "naive_mean_k"} <= set(models) and body["baseline"] in models
    base = models[body["baseline"]]
    assert base["skill"] == pytest.approx(0.0) and set(base["pai"]) == {"1", "3", "5", "10"}
    assert all(m["skill_lo"] <= m["skill"] <= m["skill_hi"] for m in models.values())
    audit_run = client.get(f"{V1}/runs", params={"kind": "audit"}, headers=auth["viewer"]).json()["items"][0]
    assert_error(client.get(f"{V1}/evidence/{audit_run['run_id']}", headers=auth["viewer"]), 404, "not_found")


@pytest.mark.parametrize("resource", ["audits", "scenarios"])
def test_results_list_and_get(client: TestClient, auth: dict[str, dict[str, str]], resource: str) -> None:
    body = client.get(f"{V1}/{resource}", headers=auth["viewer"]).json()
    assert body["total"] == len(body["items"]) >= 1
    for item in body["items"]:
        one = client.get(f"{V1}/{resource}/{item['result_id']}", headers=auth["viewer"]).json()
        assert one["payload"] == item["payload"]
    assert_error(client.get(f"{V1}/{resource}/unknown", headers=auth["viewer"]), 404, "not_found")


def test_scenario_documents_are_results(client: TestClient, auth: dict[str, dict[str, str]]) -> None:
    items = client.get(f"{V1}/scenarios", headers=auth["viewer"]).json()["items"]
    assert {i["source"] for i in items} == {"run", "document"}


def test_log_is_for_readers_newest_first_and_verifies(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    assert_error(client.get(f"{V1}/log", headers=auth["viewer"]), 403, "forbidden")
    body = client.get(f"{V1}/log", params={"limit": 5}, headers=auth["auditor"]).json()
    seqs = [r["seq"] for r in body["items"]]
    assert seqs == sorted(seqs, reverse=True) and body["total"] >= seqs[0]
    check = client.get(f"{V1}/log/verify", headers=auth["analyst"]).json()
    assert check["ok"] and check["n_records"] == body["total"]
    assert_error(client.get(f"{V1}/log/head", headers=auth["viewer"]), 403, "forbidden")
    head = client.get(f"{V1}/log/head", headers=auth["auditor"]).json()
    records = client.get(f"{V1}/log", params={"limit": 1000}, headers=auth["auditor"]).json()["items"]
    assert [r["hash"] for r in records if r["seq"] == head["seq"]] == [head["hash"]]


def test_documents_list_download_and_no_path_tricks(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    names = [d["name"] for d in client.get(f"{V1}/documents", headers=auth["viewer"]).json()]
    assert names == ["report.html", "scenario.json"]
    before = len(log_actions(client, auth, "export"))
    response = client.get(f"{V1}/documents/report.html", headers=auth["viewer"])
    assert response.status_code == 200 and "report" in response.text
    assert len(log_actions(client, auth, "export")) == before + 1
    for name in ("../pulsetwin.duckdb", "%2e%2e/pulsetwin.duckdb", "nope.html"):
        assert client.get(f"{V1}/documents/{name}", headers=auth["viewer"]).status_code == 404


def test_decisions_need_a_role_a_reason_and_a_known_area(
    client: TestClient, auth: dict[str, dict[str, str]], run_id: str
) -> None:
    body = {"run_id": run_id, "area_code": "BU09170001", "action": "reject", "reason": "school holiday"}
    assert_error(client.post(f"{V1}/decisions", json=body, headers=auth["viewer"]), 403, "forbidden")
    assert_error(client.post(f"{V1}/decisions", json=body, headers=auth["auditor"]), 403, "forbidden")
    assert_error(
        client.post(f"{V1}/decisions", json={**body, "reason": "no"}, headers=auth["analyst"]),
        422,
        "invalid_request",
    )
    assert_error(
        client.post(f"{V1}/decisions", json={**body, "action": "delete"}, headers=auth["analyst"]),
        422,
        "invalid_request",
    )
    unknown = client.post(
        f"{V1}/decisions", json={**body, "area_code": "BU00000000"}, headers=auth["analyst"]
    )
    assert_error(unknown, 404, "not_found")


def test_a_decision_is_stored_shown_and_logged_once(
    client: TestClient, auth: dict[str, dict[str, str]], run_id: str
) -> None:
    before = len(log_actions(client, auth, "decision"))
    body = {
        "run_id": run_id,
        "area_code": "BU09170002",
        "action": "annotate",
        "reason": "market day every Friday",
    }
    created = client.post(f"{V1}/decisions", json=body, headers=auth["analyst"])
    assert created.status_code == 201
    decision = created.json()
    records = log_actions(client, auth, "decision")
    assert len(records) == before + 1 and records[0]["seq"] == decision["log_seq"]
    assert records[0]["detail"] == {
        "action": "annotate",
        "reason": body["reason"],
        "id": decision["decision_id"],
    }
    listed = client.get(f"{V1}/decisions", params={"area_code": "BU09170002"}, headers=auth["viewer"]).json()
    assert listed["items"][0] == decision
    area = client.get(
        f"{V1}/forecasts/{run_id}/areas/BU09170002", params={"category": "violence"}, headers=auth["viewer"]
    ).json()
    assert area["decisions"][0]["reason"] == body["reason"]


def test_admin_routes_refuse_other_roles(
    client: TestClient, auth: dict[str, dict[str, str]], run_id: str
) -> None:
    for role in ("viewer", "analyst", "auditor"):
        assert_error(client.get(f"{V1}/admin/users", headers=auth[role]), 403, "forbidden")
        kill = client.post(
            f"{V1}/admin/kill-switches", json={"run_id": run_id, "reason": "test it"}, headers=auth[role]
        )
        assert_error(kill, 403, "forbidden")
    users = client.get(f"{V1}/admin/users", headers=auth["admin"]).json()
    assert {u["role"] for u in users} == {"viewer", "analyst", "auditor", "admin"}
    assert all("pw_hash" not in json.dumps(u) for u in users)


def test_kill_switch_withdraws_and_lifts_a_run(
    client: TestClient, auth: dict[str, dict[str, str]], run_id: str
) -> None:
    reason = "complaint by the council under review"
    created = client.post(
        f"{V1}/admin/kill-switches", json={"run_id": run_id, "reason": reason}, headers=auth["admin"]
    )
    try:
        assert created.status_code == 201
        again = client.post(
            f"{V1}/admin/kill-switches", json={"run_id": run_id, "reason": reason}, headers=auth["admin"]
        )
        assert_error(again, 409, "conflict")
        refused = client.get(f"{V1}/forecasts", params={"run_id": run_id}, headers=auth["viewer"])
        assert_error(refused, 451, "withdrawn")
        assert (
            reason in refused.json()["error"]["message"]
            and "admin-user" in refused.json()["error"]["message"]
        )
        area = client.get(
            f"{V1}/forecasts/{run_id}/areas/BU09170000",
            params={"category": "violence"},
            headers=auth["viewer"],
        )
        assert_error(area, 451, "withdrawn")
        assert client.get(f"{V1}/runs/{run_id}", headers=auth["viewer"]).json()["withdrawn"] is True
        listed = client.get(f"{V1}/admin/kill-switches", headers=auth["admin"]).json()
        assert [k["run_id"] for k in listed] == [run_id]
    finally:
        lifted = client.post(
            f"{V1}/admin/kill-switches/{run_id}/lift", json={"reason": "review done"}, headers=auth["admin"]
        )
    assert lifted.status_code == 204
    assert client.get(f"{V1}/forecasts", params={"run_id": run_id}, headers=auth["viewer"]).status_code == 200
    assert log_actions(client, auth, "kill_switch")[0]["detail"] == {"reason": reason}
    assert log_actions(client, auth, "kill_switch_lifted")[0]["subject"] == run_id
    assert_error(
        client.post(f"{V1}/admin/kill-switches/{run_id}/lift", json={"reason": "again again"}, headers=auth["admin"]),
        404, "not_found",
    )  # fmt: skip


def test_the_log_verifies_after_all_of_this(client: TestClient, auth: dict[str, dict[str, str]]) -> None:
    assert client.get(f"{V1}/log/verify", headers=auth["admin"]).json()["ok"] is True


def test_dashboard_and_plotly_are_served_locally(client: TestClient) -> None:
    page = client.get("/")
    assert (
        page.status_code == 200
        and 'src="/static/app.js"' in page.text
        and "http" not in page.text.split("<body")[0]
    )
    assert client.get("/vendor/plotly.min.js").status_code == 200
    nl, en = client.get("/static/i18n/nl.json").json(), client.get("/static/i18n/en.json").json()
    assert set(nl) == set(en) and nl["nav.map"] != en["nav.map"]


def test_area_forecast_gives_the_models_own_explanation_for_a_glm_run(tmp_path: Path) -> None:
    fixture = build_store(tmp_path)
    with Store(fixture.db) as store:
        glm = run_forecast(
            store, RollingOrigin("W", horizon=2, folds=2), model="glm", lineup=Lineup(naive=["naive_last"]),
            skill=SkillSettings(n_boot=50, seed=3), scheduler="serial", categories=["violence"],
        )  # fmt: skip
    expected = glm.forecasts.sort_values(["period_start", "area_code"]).iloc[0]
    url = f"{V1}/forecasts/{{}}/areas/{expected['area_code']}"
    languages = {"nl": "fr, nl;q=0.5, en;q=0.4", "en": "en-GB,en;q=0.9,nl;q=0.8"}
    with TestClient(create_app(Settings(db=fixture.db, documents=fixture.documents))) as client:
        login = {"username": "viewer-user", "password": fixture.passwords["viewer-user"]}
        token = client.post(f"{V1}/auth/token", json=login).json()["access_token"]
        by_run = {
            run_id: {
                lang: client.get(
                    url.format(run_id), params={"category": "violence"},
                    headers={"Authorization": f"Bearer {token}", "Accept-Language": header},
                )
                for lang, header in languages.items()
            }
            for run_id in (glm.run_id, fixture.run_id)
        }  # fmt: skip
    glm_answers = by_run[glm.run_id]
    assert [glm_answers[lang].headers["content-language"] for lang in ("nl", "en")] == ["nl", "en"]
    nl, en = (glm_answers[lang].json()["explanation"] for lang in ("nl", "en"))
    assert nl["source"] == en["source"] == "model"
    model = en["model"]
    assert model["lang"] == "en" and model["text"].startswith(("Higher", "Lower", "About"))
    assert nl["model"]["lang"] == "nl" and nl["model"]["text"].startswith(("Hoger", "Lager", "Ongeveer"))
    assert nl["model"]["drivers"] == model["drivers"] and set(model["drivers"]) == set(DRIVERS)
    assert model["period_start"] == str(expected["period_start"].date()) == en["first_period"]
    assert model["mean"] == pytest.approx(expected["mean"], rel=1e-9)
    assert model["usual"] + sum(model["drivers"].values()) == pytest.approx(model["mean"], rel=1e-9)
    for answer in by_run[fixture.run_id].values():  # the naive run has no drivers: labelled fallback
        fallback = answer.json()["explanation"]
        assert fallback["source"] == "recent_history" and fallback["model"] is None
        assert fallback["recent_mean"] is not None
