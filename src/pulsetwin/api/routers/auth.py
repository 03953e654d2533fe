"""Login, logout and who am I."""

from __future__ import annotations

import hashlib
import logging
import math

from fastapi import APIRouter, Request, Response

from pulsetwin.api.deps import AnyUser, BackendDep, SettingsDep, ThrottleDep, TokenDep
from pulsetwin.api.errors import ApiError
from pulsetwin.api.schemas.requests import LoginIn
from pulsetwin.api.schemas.responses import ErrorOut, TokenOut, UserOut
from pulsetwin.api.services import users

router = APIRouter(prefix="/auth", tags=["auth"])
logger = logging.getLogger(__name__)
TOO_MANY = {"model": ErrorOut, "description": "Too many failed logins for this user name or address."}


def _keys(username: str, request: Request) -> tuple[str, str]:
    """Throttle keys: the user name, and the client address as a short SHA-256 (no address is kept)."""
    address = request.client.host if request.client else "unknown"
    return f"user:{username}", f"address:{hashlib.sha256(address.encode()).hexdigest()[:12]}"


@router.post("/token", responses={401: {"model": ErrorOut}, 429: TOO_MANY})
def create_token(
    body: LoginIn,
    request: Request,
    response: Response,
    backend: BackendDep,
    settings: SettingsDep,
    throttle: ThrottleDep,
) -> TokenOut:
    """Exchange a user name and password for a bearer token (never cached).

    After too many wrong passwords for one user name or from one address within a minute, logins of that
    name or address are refused with 429 for a while, doubling with each repeat."""
    keys = _keys(body.username, request)
    wait = throttle.retry_after(keys)
    if wait > 0:
        raise ApiError(
            429, "too_many_requests",
            f"too many failed logins for this user name or address: try again in {math.ceil(wait)} s",
            {"retry_after": math.ceil(wait)}, headers={"Retry-After": str(math.ceil(wait))},
        )  # fmt: skip
    issued = users.login(backend, body.username, body.password, settings.token_minutes)
    if issued is None:
        for block in throttle.failed(keys):
            logger.warning(
                "login blocked for %s: %d failures, %.0f s", block.key, block.failures, block.seconds
            )
            detail = {"failures": block.failures, "seconds": block.seconds}
            backend.log_writer.write("server", "login_blocked", block.key, detail)
        raise ApiError(401, "unauthorized", "unknown user name or wrong password")
    throttle.succeeded(keys[0])
    response.headers["Cache-Control"] = "no-store"
    user = UserOut(
        username=issued.user.username, role=issued.user.role.value, created_at=issued.user.created_at
    )
    return TokenOut(access_token=issued.token, token_type="bearer", expires_at=issued.expires_at, user=user)


@router.get("/me", responses={401: {"model": ErrorOut}})
def me(user: AnyUser) -> UserOut:
    """The logged-in user."""
    return UserOut(username=user.username, role=user.role.value, created_at=user.created_at)


@router.post("/logout", status_code=204, responses={401: {"model": ErrorOut}})
def logout(user: AnyUser, token: TokenDep, backend: BackendDep) -> Response:
    """Revoke the token."""
    users.logout(backend, token, user)
    return Response(status_code=204)
