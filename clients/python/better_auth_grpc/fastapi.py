"""FastAPI dependencies that let a route through only with a valid Better Auth credential.

    guard = BetterAuthGuard("127.0.0.1:50051")

    @app.get("/me")
    async def me(user: AuthenticatedUser = Depends(guard.require_user)) -> dict[str, str]:
        return {"name": user.user.name}

The credential is the `Authorization: Bearer …` value when there is one (a session token, signed or
not, or a jwt-plugin JWT), else the whole `Cookie` header when it holds a Better Auth session cookie.
`require_user` answers 401 `{"detail": {"reason": "<Reason name>", "message": …}}` when it is missing
(reason `EMPTY`) or invalid, and 503 (reason `AUTH_UNAVAILABLE`) when the auth service cannot answer.
`optional_user` gives None instead of a 401. Needs the `fastapi` extra.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request, status

from ._policy import DEFAULT_TARGET
from .aio import AsyncAuthClient
from .enums import CredentialKind, Reason
from .errors import AuthServiceError, AuthUnavailable
from .models import Session, User, Validation

__all__ = ["DEFAULT_COOKIE_NAMES", "AuthenticatedUser", "BetterAuthGuard"]

log = logging.getLogger(__name__)

#: Better Auth's session cookie, and its name when BETTER_AUTH_URL is https.
DEFAULT_COOKIE_NAMES: tuple[str, ...] = ("better-auth.session_token", "__Secure-better-auth.session_token")


@dataclass(frozen=True)
class AuthenticatedUser:
    """Who made the request. `session` is None for a JWT (stateless); `claims` is set only for one."""

    user: User
    session: Session | None
    kind: CredentialKind
    claims: dict[str, Any]
    expires_at: dt.datetime | None

    @property
    def id(self) -> str:
        return self.user.id


def _problem(code: int, reason: str, message: str, headers: dict[str, str] | None = None) -> HTTPException:
    return HTTPException(status_code=code, detail={"reason": reason, "message": message}, headers=headers)


class BetterAuthGuard:
    """Configures the dependencies; `.require_user` and `.optional_user` are what routes depend on.

    `target`: the better-auth-grpc address. `cookie_names`: the session cookie names to look for
    (set `advanced.cookiePrefix`'s if you changed it). `audience`: for JWTs, accept only this
    audience. `timeout`/`max_attempts`: per request to the auth service, see `AsyncAuthClient`.
    `local_cache=True`: repeats of a valid credential are answered in-process while the service's
    WatchSessions stream is live, and a revocation it reports is refused at once (see the package
    README). Pass `client=` to share an `AsyncAuthClient` (its own `local_cache` then applies).
    Call `await guard.aclose()` at shutdown (it closes the stream).
    """

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        *,
        client: AsyncAuthClient | None = None,
        cookie_names: Sequence[str] = DEFAULT_COOKIE_NAMES,
        audience: str | None = None,
        accept_bearer: bool = True,
        accept_cookie: bool = True,
        timeout: float = 2.0,
        max_attempts: int = 3,
        local_cache: bool = False,
    ) -> None:
        self.client = (
            client
            if client is not None
            else AsyncAuthClient(target, timeout=timeout, max_attempts=max_attempts, local_cache=local_cache)
        )
        self.cookie_names = frozenset(cookie_names)
        self.audience = audience
        self.accept_bearer = accept_bearer
        self.accept_cookie = accept_cookie

    def credential(self, request: Request) -> str | None:
        """The value to validate: the bearer value, else the Cookie header holding a session cookie."""
        if self.accept_bearer:
            scheme, _, value = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() == "bearer" and value.strip():
                return value.strip()
        if self.accept_cookie:
            header = request.headers.get("cookie", "")
            names = {part.split("=", 1)[0].strip() for part in header.split(";")}
            if names & self.cookie_names:
                return header
        return None

    async def validate(self, request: Request) -> Validation | None:
        """The auth service's answer for this request's credential; None when it carries none.
        Raises HTTPException 503/502 when the service cannot answer."""
        credential = self.credential(request)
        if credential is None:
            return None
        try:
            return await self.client.validate_token(credential, self.audience)
        except AuthUnavailable as e:
            log.warning("auth service unavailable: %s", e)
            raise _problem(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                "AUTH_UNAVAILABLE",
                "the auth service is unavailable; retry",
                {"Retry-After": "1"},
            ) from None
        except AuthServiceError as e:
            log.error("auth service error: %s", e)
            raise _problem(status.HTTP_502_BAD_GATEWAY, "AUTH_SERVICE_ERROR", "the auth service failed") from None

    async def require_user(self, request: Request) -> AuthenticatedUser:
        """The dependency for routes that need a signed-in user (401 otherwise)."""
        v = await self.validate(request)
        if v is None:
            raise _problem(
                status.HTTP_401_UNAUTHORIZED,
                Reason.EMPTY.name,
                "no credential: send Authorization: Bearer <token> or the session cookie",
                {"WWW-Authenticate": "Bearer"},
            )
        user = _authenticated(v)
        if user is None:
            raise _problem(
                status.HTTP_401_UNAUTHORIZED,
                v.reason.name,
                v.message or "invalid credential",
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return user

    async def optional_user(self, request: Request) -> AuthenticatedUser | None:
        """The dependency for routes open to everyone: the user, or None (no or invalid credential).
        Still 503 when the auth service cannot answer, so a signed-in user is never silently anonymous."""
        v = await self.validate(request)
        return None if v is None else _authenticated(v)

    async def aclose(self) -> None:
        await self.client.close()


def _authenticated(v: Validation) -> AuthenticatedUser | None:
    if not v.valid or v.user is None:
        return None
    return AuthenticatedUser(user=v.user, session=v.session, kind=v.kind, claims=v.claims, expires_at=v.expires_at)
