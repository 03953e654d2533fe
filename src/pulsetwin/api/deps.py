"""Annotated dependencies: the backend, settings, the bearer token, the current user and role checks.

They are coroutines: FastAPI runs a plain function dependency in a worker thread, a hop per dependency and
request. Only a token not seen before reads the store, in a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from pulsetwin.api.auth import Role
from pulsetwin.api.errors import ApiError
from pulsetwin.api.services.backend import Backend
from pulsetwin.api.services.users import User, known_token, resolve_token
from pulsetwin.api.settings import Settings
from pulsetwin.api.throttle import LoginThrottle

bearer = HTTPBearer(auto_error=False, description="A token from POST /api/v1/auth/token.")


async def get_backend(request: Request) -> Backend:
    """The app's backend."""
    backend: Backend = request.app.state.backend
    return backend


async def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


async def get_throttle(request: Request) -> LoginThrottle:
    """The app's login throttle."""
    throttle: LoginThrottle = request.app.state.throttle
    return throttle


BackendDep = Annotated[Backend, Depends(get_backend)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ThrottleDep = Annotated[LoginThrottle, Depends(get_throttle)]


async def get_token(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str:
    """The bearer token; 401 when missing."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise ApiError(401, "unauthorized", "log in first: send 'Authorization: Bearer <token>'")
    return credentials.credentials


TokenDep = Annotated[str, Depends(get_token)]


async def get_user(backend: BackendDep, token: TokenDep) -> User:
    """The user of a valid token; 401 when unknown or expired."""
    user = known_token(backend, token) or await run_in_threadpool(resolve_token, backend, token)
    if user is None:
        raise ApiError(401, "unauthorized", "the token is unknown or expired: log in again")
    return user


UserDep = Annotated[User, Depends(get_user)]


def require(*roles: Role) -> Callable[[User], Coroutine[Any, Any, User]]:
    """A dependency admitting only ``roles``; 403 naming the roles otherwise."""

    async def check(user: UserDep) -> User:
        if user.role not in roles:
            raise ApiError(
                403,
                "forbidden",
                f"role '{user.role.value}' may not do this; allowed: {', '.join(r.value for r in roles)}",
                {"role": user.role.value, "allowed": [r.value for r in roles]},
            )
        return user

    return check


AnyUser = UserDep
Analyst = Annotated[User, Depends(require(Role.ANALYST, Role.ADMIN))]
Reader = Annotated[User, Depends(require(Role.ANALYST, Role.AUDITOR, Role.ADMIN))]
Auditor = Annotated[User, Depends(require(Role.AUDITOR))]
Admin = Annotated[User, Depends(require(Role.ADMIN))]
