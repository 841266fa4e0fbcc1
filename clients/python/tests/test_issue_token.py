"""IssueToken (and JWT validation) against the real service, with callers from a --config file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import grpc
import pytest

from better_auth_grpc import (
    AsyncAuthClient,
    AuthClient,
    AuthServiceError,
    CredentialKind,
    InvalidCredential,
    InvalidRequest,
    PermissionDenied,
    Reason,
    SessionNotFound,
    Unauthenticated,
)
from better_auth_grpc.testing import LocalService

ORIGIN = "http://127.0.0.1:3000"  # the jwt_service's BETTER_AUTH_URL (conftest.py)
KEY = "svc-key-0123456789"  # the callers conftest.py configures
LIMITED_KEY = "limited-key-0123456789"


@pytest.fixture(scope="module")
def client(jwt_service: LocalService) -> Iterator[AuthClient]:
    with AuthClient(jwt_service.target, api_key=KEY) as c:
        yield c


@pytest.fixture(scope="module")
def session_token(jwt_service: LocalService) -> str:
    assert jwt_service.session_token
    return jwt_service.session_token


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def test_a_session_gets_a_jwt_that_validates_as_its_user(client: AuthClient, session_token: str) -> None:
    user = client.validate_token(session_token).user
    assert user is not None
    issued = client.issue_token(session_token=session_token)
    assert issued.kid and issued.token.count(".") == 2
    assert issued.expires_at is not None
    assert dt.timedelta(minutes=14) < issued.expires_at - _now() <= dt.timedelta(minutes=15, seconds=5)
    assert issued.token not in repr(issued)
    v = client.validate_token(issued.token)
    assert v.valid and v.kind is CredentialKind.JWT, v.message
    assert v.session is None and v.user is not None and v.user.id == user.id
    assert v.claims["sub"] == user.id and v.claims["iss"] == ORIGIN and v.claims["aud"] == ORIGIN
    assert isinstance(v.claims["exp"], int) and v.expires_at == dt.datetime.fromtimestamp(v.claims["exp"], dt.timezone.utc)
    bearer = client.validate_token(f"Bearer {issued.token}")
    assert bearer.valid and bearer.kind is CredentialKind.JWT


def test_lifetime_and_audience(client: AuthClient, session_token: str) -> None:
    issued = client.issue_token(session_token=session_token, audience="chat", lifetime_seconds=60)
    assert issued.expires_at is not None and issued.expires_at - _now() <= dt.timedelta(seconds=61)
    assert client.validate_token(issued.token, audience="chat").valid
    other = client.validate_token(issued.token, audience=ORIGIN)
    assert not other.valid and other.reason is Reason.JWT_BAD_AUDIENCE and other.kind is CredentialKind.JWT
    # Narrowing to an audience the service does not accept at all is a bad request, not an answer.
    with pytest.raises(InvalidRequest) as info:
        client.validate_token(issued.token, audience="billing")
    assert type(info.value) is InvalidRequest and info.value.reason == "BAD_REQUEST"


def test_user_id_subject_for_an_allowed_caller(client: AuthClient, session_token: str) -> None:
    user = client.validate_token(session_token).user
    assert user is not None
    v = client.validate_token(client.issue_token(user_id=user.id).token)
    assert v.valid and v.user is not None and v.user.email == user.email


def test_tampered_jwt_is_refused(client: AuthClient, session_token: str) -> None:
    head, payload, sig = client.issue_token(session_token=session_token).token.split(".")
    forged = f"{head}.{payload}.{'A' if sig[0] != 'A' else 'B'}{sig[1:]}"
    v = client.validate_token(forged)
    assert not v.valid and v.reason is Reason.JWT_BAD_SIGNATURE


@pytest.mark.parametrize(
    ("api_key", "kwargs", "error", "code", "reason"),
    [
        (None, {"session_token": "S"}, Unauthenticated, grpc.StatusCode.UNAUTHENTICATED, "API_KEY_MISSING"),
        ("wrong-key", {"session_token": "S"}, Unauthenticated, grpc.StatusCode.UNAUTHENTICATED, "API_KEY_UNKNOWN"),
        (LIMITED_KEY, {"user_id": "U"}, PermissionDenied, grpc.StatusCode.PERMISSION_DENIED, None),
        (LIMITED_KEY, {"session_token": "S", "audience": "chat"}, PermissionDenied, grpc.StatusCode.PERMISSION_DENIED, None),
        (KEY, {"session_token": "S", "lifetime_seconds": 10**6}, InvalidRequest, grpc.StatusCode.INVALID_ARGUMENT, None),
        (KEY, {"session_token": ""}, InvalidCredential, grpc.StatusCode.INVALID_ARGUMENT, "EMPTY"),
        (KEY, {"session_token": "Q" * 32}, SessionNotFound, grpc.StatusCode.NOT_FOUND, "SESSION_NOT_FOUND"),
        (KEY, {"user_id": "no-such-user"}, SessionNotFound, grpc.StatusCode.NOT_FOUND, "USER_NOT_FOUND"),
    ],
    ids=["no-key", "unknown-key", "user-id-not-allowed", "audience-not-allowed", "lifetime", "empty", "no-session", "no-user"],
)
def test_refusals_map_to_typed_errors(
    jwt_service: LocalService,
    session_token: str,
    api_key: str | None,
    kwargs: dict[str, object],
    error: type[AuthServiceError],
    code: grpc.StatusCode,
    reason: str | None,
) -> None:
    args = {k: (session_token if v == "S" else v) for k, v in kwargs.items()}
    with AuthClient(jwt_service.target, api_key=api_key) as c, pytest.raises(AuthServiceError) as info:
        c.issue_token(**args)  # type: ignore[arg-type]
    e = info.value
    assert type(e) is error and e.code is code, str(e)
    if reason is not None:
        assert e.reason == reason
    for secret in (KEY, LIMITED_KEY, session_token):
        assert secret not in str(e) and secret not in repr(e)


async def test_async_issue_and_validate(jwt_service: LocalService, session_token: str) -> None:
    async with AsyncAuthClient(jwt_service.target, api_key=KEY) as c:
        issued = await c.issue_token(session_token=session_token, lifetime_seconds=120)
        v = await c.validate_token(issued.token)
        with pytest.raises(Unauthenticated):
            await AsyncAuthClient(jwt_service.target).issue_token(session_token=session_token)
    assert v.valid and v.kind is CredentialKind.JWT and v.claims["sub"] == (v.user.id if v.user else None)


def test_issuing_without_jwt_configured_is_a_typed_error(service: LocalService, token: str) -> None:
    """The embedded default without BETTER_AUTH_URL or callers: refused, never a crash or a hang."""
    with AuthClient(service.target, api_key=KEY) as c, pytest.raises(AuthServiceError) as info:
        c.issue_token(session_token=token)
    assert info.value.code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.FAILED_PRECONDITION)
