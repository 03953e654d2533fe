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


def _auth_for(case: Any, mode: GenerationMode, token: dict[str, str]) -> dict[str, str] | None:
    """The admin token for the case, unless a negative case left the Authorization header out on purpose.

    Schemathesis makes a request invalid by dropping the required header as well; adding the token back would
    turn it into a valid request, which the API rightly accepts, and the "invalid data rejected" check would
    then fail on a request that was never invalid. Sent without a token, it must be refused (401).
    """
    if mode is GenerationMode.NEGATIVE and "Authorization" not in (case.headers or {}):
        return None
    return token


def _fuzz(operation: Any, mode: GenerationMode, token: dict[str, str], checks: Any) -> None:
    """Run :data:`MAX_EXAMPLES` cases of ``mode`` on ``operation`` through every check."""

    @given(case=operation.as_strategy(mode))
    @settings(
        max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    def check(case: Any) -> None:
        case.call_and_validate(headers=_auth_for(case, mode, token), checks=checks)

    check()


@pytest.mark.slow
def test_every_operation_passes_every_check(api_schema: Any, fuzz_headers: dict[str, str]) -> None:
    load_all_checks()
    checks = CHECKS.get_all()
    assert len(checks) >= 12
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:
        for mode in GenerationMode:
            try:
                _fuzz(operation, mode, fuzz_headers, checks)
            except Unsatisfiable:  # an operation without parameters has no invalid request
                assert mode is GenerationMode.NEGATIVE
