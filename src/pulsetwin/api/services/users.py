"""Users and bearer tokens in the store (tables ``users`` and ``api_tokens``); logins are logged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pulsetwin.api.auth import (
    Role,
    check_username,
    dummy_hash,
    hash_password,
    new_token,
    parse_role,
    random_password,
    token_digest,
    verify_password,
)
from pulsetwin.api.services.backend import Backend
from pulsetwin.exceptions import ConflictError
from pulsetwin.store import accounts
from pulsetwin.store.accounts import StoredToken, StoredUser

DEMO_PREFIX = "demo-"


@dataclass(frozen=True)
class User:
    """A user as the API sees it."""

    username: str
    role: Role
    created_at: datetime


@dataclass(frozen=True)
class IssuedToken:
    """A token handed out at login (the only time the plain token exists)."""

    token: str
    user: User
    expires_at: datetime


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def add_user(backend: Backend, username: str, role: str, password: str, *, actor: str = "cli") -> User:
    """Create a user; ConflictError when the name is taken. Logged without the password."""
    name, parsed = check_username(username), parse_role(role)
    scheme, salt, digest = hash_password(password)
    created = _now()
    with backend.session() as store, store.transaction():
        if accounts.find_user(store, name) is not None:
            raise ConflictError(f"user '{name}' already exists. Fix: pick another name")
        accounts.insert_user(store, StoredUser(name, parsed.value, scheme, salt, digest, created))
        store.log.append(actor, "user_add", name, {"role": parsed.value}, tables=("users",))
    return User(name, parsed, created)


def list_users(backend: Backend) -> list[User]:
    """All users by name."""
    with backend.session() as store:
        stored = accounts.read_users(store)
    return [User(u.username, Role(u.role), u.created_at) for u in stored]


def count_users(backend: Backend) -> int:
    """Number of users."""
    with backend.session() as store:
        return accounts.count_users(store)


def ensure_demo_users(backend: Backend) -> dict[str, str]:
    """Give each role a ``demo-<role>`` user with a fresh random password; return name -> password."""
    passwords: dict[str, str] = {}
    with backend.session() as store, store.transaction():
        for role in Role:
            name, password = f"{DEMO_PREFIX}{role.value}", random_password()
            scheme, salt, digest = hash_password(password)
            accounts.replace_user(store, StoredUser(name, role.value, scheme, salt, digest, _now()))
            backend.tokens.clear()
            passwords[name] = password
        store.log.append(
            "server", "demo_users", "users", {"users": sorted(passwords)}, tables=("users", "api_tokens")
        )
    return passwords


def login(backend: Backend, username: str, password: str, minutes: int) -> IssuedToken | None:
    """A new token when the password matches, else None. Both outcomes are logged.

    The password is hashed without holding the store's lock (scrypt takes tens of milliseconds; other
    requests go on meanwhile), and an unknown user name is checked against a dummy hash so that the answer
    takes as long as for a known one. The token row is written before the login's record, which carries the
    digest of ``api_tokens``, so ``log verify --deep`` names a token row written directly into the store.
    """
    found = backend.read(lambda cursor: accounts.find_user(cursor, username))
    scheme, salt, digest = (found.scheme, found.salt, found.pw_hash) if found is not None else dummy_hash()
    matches = verify_password(password, scheme, salt, digest)  # also for an unknown name: same time taken
    if found is None or not matches:
        backend.log_writer.write("anonymous", "login_failed", username, {})
        return None
    token, expires = new_token(), _now() + timedelta(minutes=minutes)
    with backend.session() as store, store.transaction():
        accounts.insert_token(store, StoredToken(token_digest(token), username, _now(), expires))
        store.log.append(username, "login", username, {}, tables=("api_tokens",))
    return IssuedToken(token, User(username, Role(found.role), found.created_at), expires)


def known_token(backend: Backend, token: str) -> User | None:
    """The user of a token resolved before and not expired yet, else None; reads no store."""
    known = backend.tokens.get(token_digest(token))  # a dict read: no lock needed
    if known is not None and known[1] > _now():
        user: User = known[0]
        return user
    return None


def resolve_token(backend: Backend, token: str) -> User | None:
    """The user a valid, unexpired token belongs to, else None (memoised: tokens change only here)."""
    known = known_token(backend, token)
    if known is not None:
        return known
    digest = token_digest(token)
    with backend.session() as store:
        owner = accounts.token_owner(store, digest, _now())
        if owner is None:
            return None
        stored, expires = owner
        found = User(stored.username, Role(stored.role), stored.created_at)
        backend.tokens[digest] = (found, expires)
    return found


def logout(backend: Backend, token: str, user: User) -> None:
    """Revoke a token (logged with the digest of ``api_tokens``)."""
    with backend.session() as store, store.transaction():
        accounts.delete_token(store, token_digest(token))
        backend.tokens.pop(token_digest(token), None)
        store.log.append(user.username, "logout", user.username, {}, tables=("api_tokens",))
