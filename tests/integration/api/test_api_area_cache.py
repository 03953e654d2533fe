"""One-area answers come from per-run caches: they must equal what the per-area routes say, and a new
decision must show at once."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

V1 = "/api/v1"


@pytest.mark.parametrize("category", ["violence", "burglary_residential"])
def test_an_areas_record_in_its_forecast_equals_its_history_before_the_origin(
    client: TestClient, auth: dict[str, dict[str, str]], run_id: str, category: str
) -> None:
    rows = client.get(
        f"{V1}/forecasts", params={"run_id": run_id, "category": category}, headers=auth["viewer"]
    )
    codes = sorted({r["area_code"] for r in rows.json()["items"]})[:5]
    assert codes
    for code in codes:
        answer = client.get(
            f"{V1}/forecasts/{run_id}/areas/{code}", params={"category": category}, headers=auth["viewer"]
        )
        body = answer.json()
        origin = body["forecast"][0]["period_start"]
        history = client.get(
            f"{V1}/areas/{code}/history", params={"category": category}, headers=auth["viewer"]
        )
        before = [p for p in history.json()["points"] if p["period_start"] < origin][-52:]
        assert body["history"] == before


def test_a_new_decision_shows_in_the_area_answer_at_once(
    client: TestClient, auth: dict[str, dict[str, str]], run_id: str
) -> None:
    row = client.get(
        f"{V1}/forecasts", params={"run_id": run_id, "limit": 1}, headers=auth["analyst"]
    ).json()["items"][0]
    url = f"{V1}/forecasts/{run_id}/areas/{row['area_code']}"
    params = {"category": row["category"]}
    seen = len(client.get(url, params=params, headers=auth["analyst"]).json()["decisions"])
    decision = {
        "run_id": run_id,
        "area_code": row["area_code"],
        "action": "annotate",
        "reason": "checked on site today",
    }
    assert client.post(f"{V1}/decisions", json=decision, headers=auth["analyst"]).status_code == 201
    after = client.get(url, params=params, headers=auth["analyst"]).json()["decisions"]
    assert len(after) == seen + 1 and after[0]["reason"] == "checked on site today"
