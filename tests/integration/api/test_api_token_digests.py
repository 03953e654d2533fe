"""Logins, logouts and demo users log the digest of ``api_tokens``: a server's store passes ``log verify
--deep``, and a token row written or edited directly in the store is named."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from pulsetwin.api import Settings, create_app
from pulsetwin.store import Store
from pulsetwin.store.logcheck import check_log
from pulsetwin.testing.fixture_store import Fixture

V1 = "/api/v1"


def _failed(db: Path) -> dict[str, str]:
    with Store(db, read_only=True) as store:
        checked = check_log(store, deep=True)
    assert checked.chain.ok and "api_tokens" in {t.table for t in checked.tables}
    return {t.table: t.reason for t in checked.tables if not t.ok}


def _serve_a_session(populated: Fixture, tmp_path: Path, *, demo: bool = False) -> Path:
    """Log in as two users and log one of them out (and for ``demo``, also as a demo user); return the db."""
    shutil.copytree(populated.db.parent, tmp_path, dirs_exist_ok=True)
    db = tmp_path / populated.db.name
    with duckdb.connect(
        str(db)
    ) as con:  # other tests' logins on the shared fixture store: start without tokens
        con.execute("DELETE FROM api_tokens")  # (the first login below logs the table's state afresh)
    app = create_app(Settings(db=db, demo=demo))
    with TestClient(app) as client:
        tokens = []
        logins = dict(list(populated.passwords.items())[:2])
        logins |= dict(list(app.state.demo_passwords.items())[:1]) if demo else {}
        for name, password in logins.items():
            response = client.post(f"{V1}/auth/token", json={"username": name, "password": password})
            assert response.status_code == 200, response.text
            tokens.append(response.json()["access_token"])
        wrong = {"username": "viewer-user", "password": "not the password"}
        assert client.post(f"{V1}/auth/token", json=wrong).status_code == 401
        headers = {"Authorization": f"Bearer {tokens[0]}"}
        assert client.post(f"{V1}/auth/logout", headers=headers).status_code == 204
        assert client.get(f"{V1}/auth/me", headers=headers).status_code == 401
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM api_tokens").fetchall() == [(len(tokens) - 1,)]
    return db


@pytest.mark.parametrize("demo", [False, True])
def test_logins_and_logouts_pass_the_deep_check(populated: Fixture, tmp_path: Path, demo: bool) -> None:
    db = _serve_a_session(populated, tmp_path, demo=demo)
    assert _failed(db) == {}
    with Store(db, read_only=True) as store:
        actions = [r.action for r in store.log.records(limit=4)]
        logged = {r.action: r for r in store.log.records(limit=20)}
    assert actions[-1] == "logout" and "login_failed" in actions
    assert logged["logout"].digests["api_tokens"]["state"]["rows"] == (2 if demo else 1)


@pytest.mark.parametrize(
    ("sql", "words"),
    [
        (
            "INSERT INTO api_tokens SELECT 'f' || repeat('0', 63), 'admin-user', now()::TIMESTAMP, "
            "now()::TIMESTAMP + INTERVAL 1 DAY",
            "holds 2 rows where the log accounts for 1",
        ),
        ("UPDATE api_tokens SET expires_at = expires_at + INTERVAL 365 DAY", "content differs"),
        ("UPDATE api_tokens SET username = 'admin-user'", "content differs"),
        ("DELETE FROM api_tokens", "holds 0 rows where the log accounts for 1"),
    ],
)
def test_a_token_row_written_directly_is_named(
    populated: Fixture, tmp_path: Path, sql: str, words: str
) -> None:
    db = _serve_a_session(populated, tmp_path)
    with duckdb.connect(str(db)) as con:
        con.execute(sql)
    failed = _failed(db)
    assert list(failed) == ["api_tokens"] and words in failed["api_tokens"]
