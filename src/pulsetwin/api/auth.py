"""Passwords, tokens and roles: scrypt with a per-user salt, random bearer tokens stored as SHA-256.

Notes
-----
scrypt (Percival 2009, RFC 7914) from the standard library; tokens from :mod:`secrets`, never from a seeded
generator, because they must not be reproducible.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from enum import StrEnum
from functools import cache

from pulsetwin.exceptions import ParameterError

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SCHEME = f"scrypt:{SCRYPT_N}:{SCRYPT_R}:{SCRYPT_P}"
MIN_PASSWORD = 10
USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")


class Role(StrEnum):
    """What a user may do: read (viewer), decide (analyst), see protected attributes (auditor), govern (admin)."""

    VIEWER = "viewer"
    ANALYST = "analyst"
    AUDITOR = "auditor"
    ADMIN = "admin"


def hash_password(password: str, salt: bytes | None = None) -> tuple[str, str, str]:
    """Hash ``password`` with scrypt; return ``(scheme, salt_hex, hash_hex)``. A new salt when none is given."""
    check_password_strength(password)
    salt = secrets.token_bytes(16) if salt is None else salt
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return SCHEME, salt.hex(), digest.hex()


def verify_password(password: str, scheme: str, salt_hex: str, hash_hex: str) -> bool:
    """Whether ``password`` matches the stored hash (constant-time comparison)."""
    _, n, r, p = scheme.split(":")
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=bytes.fromhex(salt_hex), n=int(n), r=int(r), p=int(p), dklen=32
    )
    return hmac.compare_digest(digest.hex(), hash_hex)


@cache
def dummy_hash() -> tuple[str, str, str]:
    """A hash of a random password, made once: logins of unknown users are checked against it, so they take
    as long as those of known users and the time does not tell whether a name exists."""
    return hash_password(random_password())


def check_password_strength(password: str) -> None:
    """Refuse passwords shorter than ``MIN_PASSWORD`` characters."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ParameterError(
            f"The password must have at least {MIN_PASSWORD} characters. "
            f"Got {len(password) if isinstance(password, str) else type(password).__name__} instead."
        )


def check_username(name: str) -> str:
    """Refuse user names outside ``a-z 0-9 . _ -`` (3 to 64 characters); return the name."""
    if not isinstance(name, str) or not 3 <= len(name) <= 64 or not set(name) <= USERNAME_CHARS:
        raise ParameterError(
            "The user name must have 3 to 64 characters from a-z, 0-9, '.', '_' and '-'. "
            f"Got {name!r} instead."
        )
    return name


def parse_role(value: str) -> Role:
    """The role called ``value``; ParameterError listing the roles otherwise."""
    try:
        return Role(value)
    except ValueError:
        raise ParameterError(
            f"The role must be one of {', '.join(r.value for r in Role)}. Got {value!r} instead."
        ) from None


def new_token() -> str:
    """A fresh bearer token (256 random bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """SHA-256 of a token: what the store keeps, so a leaked store reveals no usable token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def random_password() -> str:
    """A random password for demo users (printed once, never fixed in code)."""
    return secrets.token_urlsafe(12)
