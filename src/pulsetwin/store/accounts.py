"""The ``users`` and ``api_tokens`` tables: who may use the API, with which role, and their bearer tokens.

Storage only: password hashing, roles and token rules are the API's (:mod:`pulsetwin.api.auth`); the rows hold
a salted hash of each password and a digest of each token, never the secrets. The store creates the tables;
writers log the change with the tables' state digests (see :data:`pulsetwin.store.digest.COVERED_TABLES`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from pulsetwin.store.access import Source, connection_of

if TYPE_CHECKING:
    from pulsetwin.store.database import Store

USERS: Final = "users"
TOKENS: Final = "api_tokens"
ACCOUNTS_DDL: Final = (
    f"CREATE TABLE IF NOT EXISTS {USERS} (username VARCHAR PRIMARY KEY, role VARCHAR NOT NULL, "
    "scheme VARCHAR NOT NULL, salt VARCHAR NOT NULL, pw_hash VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS {TOKENS} (token_hash VARCHAR PRIMARY KEY, username VARCHAR NOT NULL, "
    "created_at TIMESTAMP NOT NULL, expires_at TIMESTAMP NOT NULL)",
)
USER_COLUMNS: Final = ("username", "role", "scheme", "salt", "pw_hash", "created_at")


@dataclass(frozen=True)
class StoredUser:
    """One row of ``users``: the name, the role's word and the password's hash (scheme, salt, digest)."""

    username: str
    role: str
    scheme: str
    salt: str
    pw_hash: str
    created_at: datetime


@dataclass(frozen=True)
class StoredToken:
    """One row of ``api_tokens``: the digest of a bearer token, its user and its lifetime."""

    token_hash: str
    username: str
    created_at: datetime
    expires_at: datetime


def _user(row: tuple[Any, ...]) -> StoredUser:
    name, role, scheme, salt, digest, created = row
    return StoredUser(str(name), str(role), str(scheme), str(salt), str(digest), created)


def find_user(source: Source, username: str) -> StoredUser | None:
    """The user ``username``, else ``None``."""
    rows = (
        connection_of(source)
        .execute(f"SELECT {', '.join(USER_COLUMNS)} FROM {USERS} WHERE username = ?", [username])
        .fetchall()
    )
    return _user(rows[0]) if rows else None


def read_users(source: Source) -> list[StoredUser]:
    """All users by name."""
    rows = connection_of(source).execute(f"SELECT {', '.join(USER_COLUMNS)} FROM {USERS} ORDER BY username")
    return [_user(row) for row in rows.fetchall()]


def count_users(source: Source) -> int:
    """Number of users."""
    return int(connection_of(source).execute(f"SELECT count(*) FROM {USERS}").fetchall()[0][0])


def insert_user(store: Store, user: StoredUser) -> None:
    """Add ``user`` (inside the caller's transaction, which logs it); the name must be free."""
    with store.transaction():
        store._con.execute(
            f"INSERT INTO {USERS} VALUES (?, ?, ?, ?, ?, ?)",
            [user.username, user.role, user.scheme, user.salt, user.pw_hash, user.created_at],
        )


def replace_user(store: Store, user: StoredUser) -> None:
    """Store ``user`` in place of any user of that name, whose tokens are revoked (caller's transaction)."""
    with store.transaction():
        store._con.execute(f"DELETE FROM {TOKENS} WHERE username = ?", [user.username])
        store._con.execute(f"DELETE FROM {USERS} WHERE username = ?", [user.username])
        insert_user(store, user)


def insert_token(store: Store, token: StoredToken) -> None:
    """Add ``token`` and drop the tokens expired by its creation time (caller's transaction)."""
    with store.transaction():
        store._con.execute(f"DELETE FROM {TOKENS} WHERE expires_at < ?", [token.created_at])
        store._con.execute(
            f"INSERT INTO {TOKENS} VALUES (?, ?, ?, ?)",
            [token.token_hash, token.username, token.created_at, token.expires_at],
        )


def token_owner(source: Source, token_hash: str, now: datetime) -> tuple[StoredUser, datetime] | None:
    """The user of the token with digest ``token_hash`` and when it expires, if it has not at ``now``."""
    rows = (
        connection_of(source)
        .execute(
            f"SELECT {', '.join(f'u.{c}' for c in USER_COLUMNS)}, t.expires_at FROM {TOKENS} t "
            f"JOIN {USERS} u USING (username) WHERE t.token_hash = ? AND t.expires_at > ?",
            [token_hash, now],
        )
        .fetchall()
    )
    if not rows:
        return None
    *user, expires = rows[0]
    return _user(tuple(user)), expires


def delete_token(store: Store, token_hash: str) -> None:
    """Revoke the token with digest ``token_hash`` (caller's transaction)."""
    with store.transaction():
        store._con.execute(f"DELETE FROM {TOKENS} WHERE token_hash = ?", [token_hash])
