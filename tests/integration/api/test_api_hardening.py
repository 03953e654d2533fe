"""The service under hostile input: security headers everywhere, a body size limit before parsing, 400 for
non-UTF-8 JSON, bad documents skipped, a 405 naming every method, timestamps with their offset."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pulsetwin.api import Settings, create_app
from pulsetwin.testing.fixture_store import Fixture

V1 = "/api/v1"
HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options")


@pytest.fixture
def own(populated: Fixture, tmp_path: Path) -> Iterator[tuple[TestClient, Path]]:
    """A client on a copy of the populated store and documents (tests here add files and flood logins)."""
    shutil.copytree(populated.db.parent, tmp_path, dirs_exist_ok=True)
    documents = tmp_path / populated.documents.name
    app = create_app(Settings(db=tmp_path / populated.db.name, documents=documents, max_body_bytes=4096))
    with TestClient(app) as client:
        yield client, documents


@pytest.mark.parametrize(
    "path", ["/", "/static/app.js", "/openapi.json", f"{V1}/health", f"{V1}/runs", f"{V1}/documents/report.html",
             f"{V1}/nope", "/vendor/plotly.min.js"],
)  # fmt: skip
def test_every_response_carries_the_security_headers(
    client: TestClient, auth: dict[str, dict[str, str]], path: str
) -> None:
    response = client.get(path, headers=auth["viewer"])
    assert response.status_code in (200, 404)
    assert {h: response.headers.get(h) for h in HEADERS} == {
        "Content-Security-Policy": response.headers["Content-Security-Policy"],
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
    }
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_docs_are_off_so_nothing_loads_from_a_cdn(client: TestClient) -> None:
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404
    assert client.get("/openapi.json").status_code == 200


def test_a_body_over_the_limit_is_refused_before_parsing(own: tuple[TestClient, Path]) -> None:
    client, _ = own
    declared = client.post(
        f"{V1}/auth/token", content=b"{" + b" " * 5000 + b"}", headers={"Content-Type": "application/json"}
    )
    assert declared.status_code == 413 and declared.json()["error"]["code"] == "payload_too_large"
    assert declared.headers["X-Frame-Options"] == "DENY"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while read
        yield b'{"username": "'
        for _ in range(10):
            yield b"x" * 1000

    chunked = client.post(f"{V1}/auth/token", content=chunks(), headers={"Content-Type": "application/json"})
    assert chunked.status_code == 413
    small = client.post(f"{V1}/auth/token", json={"username": "nobody-here", "password": "0123456789"})
    assert small.status_code == 401


def test_a_json_body_that_is_not_utf8_gets_a_documented_400(own: tuple[TestClient, Path]) -> None:
    client, _ = own
    answer = client.post(
        f"{V1}/auth/token",
        content=b'{"username": "\xff\xfe", "password": "x"}',
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 400 and "not UTF-8" in answer.json()["error"]["message"]
    documented = client.get("/openapi.json").json()["paths"][f"{V1}/auth/token"]["post"]["responses"]
    assert {"400", "413", "429"} <= set(documented)


def test_bad_json_documents_are_skipped_with_a_warning(
    own: tuple[TestClient, Path],
    auth: dict[str, dict[str, str]],
    caplog: pytest.LogCaptureFixture,
    populated: Fixture,
) -> None:
    client, documents = own
    (documents / "audit-broken.json").write_text("{not json", encoding="utf-8")
    (documents / "audit-latin1.json").write_bytes('{"naam": "Geleen-Zuid é"}'.encode("latin-1"))
    (documents / "audit-good.json").write_text('{"finding": "ok"}', encoding="utf-8")
    token = client.post(
        f"{V1}/auth/token", json={"username": "viewer-user", "password": populated.passwords["viewer-user"]}
    )
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    with caplog.at_level(logging.WARNING, logger="pulsetwin.api.services.results"):
        answer = client.get(f"{V1}/audits", headers=headers)
    assert answer.status_code == 200
    ids = [item["result_id"] for item in answer.json()["items"]]
    assert "audit-good.json" in ids and "audit-broken.json" not in ids and "audit-latin1.json" not in ids
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert "audit-broken.json" in warned and "audit-latin1.json" in warned


def test_a_405_names_every_method_of_the_path(client: TestClient, auth: dict[str, dict[str, str]]) -> None:
    answer = client.put(f"{V1}/decisions", headers=auth["analyst"])
    assert answer.status_code == 405
    assert {m.strip() for m in answer.headers["Allow"].split(",")} >= {"GET", "POST"}


def test_timestamps_carry_their_offset_and_documents_their_type(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    runs = client.get(f"{V1}/runs", headers=auth["viewer"]).json()["items"]
    assert all(datetime.fromisoformat(r["created_at"]).utcoffset() is not None for r in runs)
    listed = {d["name"]: d for d in client.get(f"{V1}/documents", headers=auth["viewer"]).json()}
    assert datetime.fromisoformat(listed["report.html"]["modified"]).utcoffset() is not None
    assert listed["scenario.json"]["media_type"] == "application/json"
    sent = client.get(f"{V1}/documents/scenario.json", headers=auth["viewer"])
    assert sent.headers["content-type"].split(";")[0] == "application/json"
    declared = client.get("/openapi.json").json()["paths"][f"{V1}/documents/{{name}}"]["get"]["responses"][
        "200"
    ]
    assert {"application/json", "text/html", "text/markdown"} <= set(declared["content"])


@pytest.mark.parametrize("hidden", ["\x00", "\u202e", "\u2066", "\x1b"])
def test_decision_reasons_refuse_nul_control_and_bidi_characters(
    client: TestClient, auth: dict[str, dict[str, str]], run_id: str, hidden: str
) -> None:
    area = client.get(f"{V1}/forecasts", params={"run_id": run_id, "limit": 1}, headers=auth["analyst"])
    code = area.json()["items"][0]["area_code"]
    body = {"run_id": run_id, "area_code": code, "action": "annotate", "reason": f"checked {hidden}on site"}
    before = client.get(f"{V1}/decisions", headers=auth["analyst"]).json()["total"]
    answer = client.post(f"{V1}/decisions", json=body, headers=auth["analyst"])
    assert answer.status_code == 422 and "reason" in answer.json()["error"]["message"]
    assert client.get(f"{V1}/decisions", headers=auth["analyst"]).json()["total"] == before


def test_an_unexpected_error_is_a_500_with_the_headers_and_no_internals(
    own: tuple[TestClient, Path], caplog: pytest.LogCaptureFixture
) -> None:
    client, _ = own

    @client.app.get("/boom-for-test")  # type: ignore[attr-defined]
    def boom() -> None:
        raise RuntimeError("secret internal detail")

    with caplog.at_level(logging.ERROR, logger="pulsetwin.api.middleware"):
        answer = client.get("/boom-for-test")
    assert answer.status_code == 500
    assert answer.json()["error"] == {
        "code": "server_error",
        "message": "unexpected error: RuntimeError",
        "details": {},
    }
    assert answer.headers["X-Frame-Options"] == "DENY" and "secret" not in answer.text
    assert "secret internal detail" in caplog.text  # the traceback is in the server's log
