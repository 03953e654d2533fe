"""A populated store, the app on it, and one bearer token per role (session-scoped: built once)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from pulsetwin.api import Settings, create_app
from pulsetwin.testing.fixture_store import Fixture, build_store


@pytest.fixture(scope="session")
def stores(tmp_path_factory: pytest.TempPathFactory) -> tuple[Fixture, Fixture]:
    """Two identical stores (the second for schemathesis, which writes at random): built once, copied."""
    first = build_store(tmp_path_factory.mktemp("api-store"))
    copy = tmp_path_factory.mktemp("api-store-copy")
    shutil.copytree(first.db.parent, copy, dirs_exist_ok=True)
    second = replace(first, db=copy / first.db.name, documents=copy / first.documents.name)
    return first, second


@pytest.fixture(scope="session")
def populated(stores: tuple[Fixture, Fixture]) -> Fixture:
    """Twin store with a forecast run, audit and scenario runs, users per role and documents."""
    return stores[0]


@pytest.fixture(scope="session")
def client(populated: Fixture) -> Iterator[TestClient]:
    """A TestClient on the app serving the populated store."""
    app = create_app(Settings(db=populated.db, documents=populated.documents))
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def tokens(client: TestClient, populated: Fixture) -> dict[str, str]:
    """A bearer token per role."""
    out = {}
    for name, password in populated.passwords.items():
        response = client.post("/api/v1/auth/token", json={"username": name, "password": password})
        assert response.status_code == 200, response.text
        out[name.removesuffix("-user")] = response.json()["access_token"]
    return out


@pytest.fixture(scope="session")
def auth(tokens: dict[str, str]) -> dict[str, dict[str, str]]:
    """Authorization headers per role."""
    return {role: {"Authorization": f"Bearer {token}"} for role, token in tokens.items()}


@pytest.fixture(scope="session")
def run_id(populated: Fixture) -> str:
    """The forecast run of the populated store."""
    return populated.run_id
