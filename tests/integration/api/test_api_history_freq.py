"""``/areas/{code}/history`` reads the store's frequency: the only one when one is held, a refusal listing the
choices when both are and none is asked for, and an explicit ``freq`` as asked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from pulsetwin.api import Settings, create_app
from pulsetwin.api.services.backend import Backend
from pulsetwin.api.services.users import add_user
from pulsetwin.store.database import Store

V1 = "/api/v1"
CODE = "BU09170000"
PASSWORD = "viewer-password-1"


def _incidents(freq: str, starts: pd.DatetimeIndex, counts: list[int]) -> pd.DataFrame:
    return pd.DataFrame(
        {"area_code": CODE, "period_start": starts, "freq": freq, "category": "burglary_residential",
         "count": counts, "source": "politie"}
    )  # fmt: skip


def _client(tmp_path: Path, incidents: pd.DataFrame | None) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The app on a store of one area (listed by name only) with ``incidents``, and a viewer's headers."""
    db = tmp_path / "h.duckdb"
    areas = pd.DataFrame(
        {
            "area_code": [CODE],
            "name": ["Centrum"],
            "level": ["buurt"],
            "parent_code": ["GM0917"],
            "geometry": [""],
        }
    )
    with Store(db) as store:
        frames = {"areas": areas} if incidents is None else {"areas": areas, "incidents": incidents}
        store.import_frames(frames, source="test")
        add_user(Backend(store), "viewer-user", "viewer", PASSWORD)
    documents = tmp_path / "documents"
    documents.mkdir()
    with TestClient(create_app(Settings(db=db, documents=documents))) as client:
        token = client.post(
            f"{V1}/auth/token", json={"username": "viewer-user", "password": PASSWORD}
        ).json()["access_token"]
        yield client, {"Authorization": f"Bearer {token}"}


MONTHS = pd.date_range("2024-01-01", periods=3, freq="MS")
WEEKS = pd.date_range("2024-01-01", periods=4, freq="W-MON")


@pytest.fixture
def monthly(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    yield from _client(tmp_path, _incidents("M", MONTHS, [3, 5, 7]))


@pytest.fixture
def both(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    yield from _client(
        tmp_path, pd.concat([_incidents("M", MONTHS, [3, 5, 7]), _incidents("W", WEEKS, [1, 0, 2, 1])])
    )


def test_monthly_store_answers_its_months_without_freq(monthly: tuple[TestClient, dict[str, str]]) -> None:
    client, headers = monthly
    response = client.get(f"{V1}/areas/{CODE}/history", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["freq"] == "M"
    assert [(p["period_start"], p["count"]) for p in body["points"]] == [
        ("2024-01-01", 3), ("2024-02-01", 5), ("2024-03-01", 7)
    ]  # fmt: skip
    explicit = client.get(f"{V1}/areas/{CODE}/history", params={"freq": "M"}, headers=headers).json()
    assert explicit == body


def test_a_frequency_the_store_lacks_is_refused_with_the_choice(
    monthly: tuple[TestClient, dict[str, str]],
) -> None:
    client, headers = monthly
    response = client.get(f"{V1}/areas/{CODE}/history", params={"freq": "W"}, headers=headers)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["details"] == {"freq_choices": ["M"]}
    assert "no incidents at freq W" in error["message"] and "?freq=M" in error["message"]


def test_both_frequencies_need_a_choice(both: tuple[TestClient, dict[str, str]]) -> None:
    client, headers = both
    response = client.get(f"{V1}/areas/{CODE}/history", headers=headers)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and error["details"] == {"freq_choices": ["M", "W"]}
    assert "more than one frequency" in error["message"] and "?freq= with one of M, W" in error["message"]
    weekly = client.get(f"{V1}/areas/{CODE}/history", params={"freq": "W"}, headers=headers).json()
    assert weekly["freq"] == "W" and [p["count"] for p in weekly["points"]] == [1, 0, 2, 1]
    monthly = client.get(f"{V1}/areas/{CODE}/history", params={"freq": "M"}, headers=headers).json()
    assert monthly["freq"] == "M" and [p["count"] for p in monthly["points"]] == [3, 5, 7]


def test_a_store_without_incidents_says_so(tmp_path: Path) -> None:
    for client, headers in _client(tmp_path, None):
        response = client.get(f"{V1}/areas/{CODE}/history", headers=headers)
        assert response.status_code == 404, response.text
        assert "holds no incidents" in response.json()["error"]["message"]
