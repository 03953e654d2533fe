"""Login, logout and who am I."""

from __future__ import annotations

from fastapi import APIRouter, Response

from pulsetwin.api.deps import AnyUser, BackendDep, SettingsDep, TokenDep
from pulsetwin.api.errors import ApiError
from pulsetwin.api.schemas.requests import LoginIn
from pulsetwin.api.schemas.responses import ErrorOut, TokenOut, UserOut
from pulsetwin.api.services import users

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", responses={401: {"model": ErrorOut}})
def create_token(body: LoginIn, backend: BackendDep, settings: SettingsDep) -> TokenOut:
    """Exchange a user name and password for a bearer token."""
    issued = users.login(backend, body.username, body.password, settings.token_minutes)
    if issued is None:
        raise ApiError(401, "unauthorized", "unknown user name or wrong password")
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
