"""Startup rules: no users outside demo mode is refused; demo users get random passwords; ``user add``."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from pulsetwin.api import Settings, create_app
from pulsetwin.cli.serve import register
from pulsetwin.exceptions import ServerConfigError, StoreError
from pulsetwin.store.database import Store


@pytest.fixture
def empty_store(tmp_path: Path) -> Path:
    """A store without users."""
    path = tmp_path / "empty.duckdb"
    Store(path).close()
    return path


def test_a_store_without_users_is_refused_with_the_fix(empty_store: Path) -> None:
    with pytest.raises(ServerConfigError, match="pulsetwin user add NAME --role admin"):
        create_app(Settings(db=empty_store))


def test_a_missing_store_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        Settings(db=tmp_path / "nope.duckdb")


def test_demo_users_get_fresh_random_passwords_that_work(empty_store: Path) -> None:
    first = create_app(Settings(db=empty_store, demo=True))
    passwords = dict(first.state.demo_passwords)
    with TestClient(first) as client:
        assert set(passwords) == {"demo-viewer", "demo-analyst", "demo-auditor", "demo-admin"}
        ok = client.post(
            "/api/v1/auth/token", json={"username": "demo-admin", "password": passwords["demo-admin"]}
        )
        assert ok.status_code == 200 and ok.json()["user"]["role"] == "admin"
    second = create_app(Settings(db=empty_store, demo=True))
    with TestClient(second) as client:
        assert second.state.demo_passwords["demo-admin"] != passwords["demo-admin"]
        old = client.post(
            "/api/v1/auth/token", json={"username": "demo-admin", "password": passwords["demo-admin"]}
        )
        assert old.status_code == 401


def test_user_add_hashes_the_password_and_refuses_duplicates(empty_store: Path) -> None:
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    args = ["user", "add", "alice", "--role", "auditor", "--db", str(empty_store)]
    done = runner.invoke(app, args, input="correct-horse-battery\ncorrect-horse-battery\n")
    assert done.exit_code == 0, done.output
    assert "alice added with role auditor" in done.output
    again = runner.invoke(app, args, input="correct-horse-battery\ncorrect-horse-battery\n")
    assert again.exit_code != 0 and "user 'alice' already exists. Fix: pick another name" in str(
        again.exception
    )
    short = runner.invoke(
        app, ["user", "add", "bob", "--role", "viewer", "--db", str(empty_store), "--password", "short"]
    )
    assert short.exit_code != 0
    assert "The password must have at least 10 characters. Got 5 instead." in str(short.exception)
    bad_role = runner.invoke(
        app, ["user", "add", "carol", "--role", "boss", "--db", str(empty_store), "--password", "x" * 12]
    )
    assert bad_role.exit_code != 0
    assert "The role must be one of viewer, analyst, auditor, admin. Got 'boss' instead." in str(
        bad_role.exception
    )
    with TestClient(create_app(Settings(db=empty_store))) as client:
        token = client.post(
            "/api/v1/auth/token", json={"username": "alice", "password": "correct-horse-battery"}
        )
        assert token.json()["user"]["role"] == "auditor"
    with Store(empty_store, read_only=True) as store:
        assert "correct-horse-battery" not in str(store.log.records())
