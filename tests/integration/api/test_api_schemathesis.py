"""Property-based fuzzing of every OpenAPI operation (schemathesis, in-process via ASGI) with every check
(``--checks all``: no server error, status codes, content types, headers and bodies as documented, invalid
data rejected, valid data accepted, Allow headers, auth not ignored), on valid and on invalid requests.

It runs on its own copy of the populated store, logged in as admin (every route reachable), with a small
number of examples per operation and mode; logout is left out so the token stays valid.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks

from pulsetwin.api import Settings, create_app
from pulsetwin.testing.fixture_store import Fixture

MAX_EXAMPLES = 6


@pytest.fixture(scope="session")
def fuzz_app(stores: tuple[Fixture, Fixture]) -> Iterator[FastAPI]:
    """The app on the second copy of the store."""
    copy = stores[1]
    app = create_app(Settings(db=copy.db, documents=copy.documents))
    with TestClient(app):
        yield app


@pytest.fixture(scope="session")
def fuzz_headers(fuzz_app: FastAPI, stores: tuple[Fixture, Fixture]) -> dict[str, str]:
    """An admin bearer token on the fuzzed app."""
    body = (
        TestClient(fuzz_app)
        .post(  # no lifespan: the fuzz_app fixture owns the store
            "/api/v1/auth/token",
            json={"username": "admin-user", "password": stores[1].passwords["admin-user"]},
        )
        .json()
    )
    return {"Authorization": f"Bearer {body['access_token']}"}


@pytest.fixture(scope="session")
def api_schema(fuzz_app: FastAPI) -> Any:
    """The app's OpenAPI document, loaded in-process, without logout."""
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_app).exclude(path="/api/v1/auth/logout")


@pytest.mark.slow
def test_every_operation_passes_every_check(api_schema: Any, fuzz_headers: dict[str, str]) -> None:
    load_all_checks()
    checks = CHECKS.get_all()
    assert len(checks) >= 12
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:
        for mode in GenerationMode:

            @given(case=operation.as_strategy(mode))
            @settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                database=None,
            )
            def check(case: Any) -> None:
                case.call_and_validate(headers=fuzz_headers, checks=checks)

            try:
                check()
            except Unsatisfiable:  # an operation without parameters has no invalid request
                assert mode is GenerationMode.NEGATIVE
