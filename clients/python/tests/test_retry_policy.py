"""Retry and error mapping, exactly: a scripted in-process AuthService answers with chosen statuses
(the real service cannot be told to fail once and then succeed), and counts the attempts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

from better_auth_grpc import (
    AsyncAuthClient,
    AuthClient,
    AuthServiceError,
    AuthUnavailable,
    InvalidCredential,
    InvalidRequest,
    PermissionDenied,
    SessionNotFound,
    Unauthenticated,
)
from better_auth_grpc._proto import auth_pb2, auth_pb2_grpc


class Scripted(auth_pb2_grpc.AuthServiceServicer):
    """Fails the first `failures` calls of every method with `code` (ErrorInfo `reason`), then answers."""

    def __init__(self) -> None:
        self.code = grpc.StatusCode.UNAVAILABLE
        self.reason = "DATABASE_UNAVAILABLE"
        self.failures = 0
        self.calls = 0
        self.api_keys: list[str | None] = []

    def _maybe_fail(self, context: grpc.ServicerContext) -> None:
        self.calls += 1
        self.api_keys.append(dict(context.invocation_metadata()).get("x-api-key"))  # type: ignore[arg-type]
        if self.calls <= self.failures:
            detail = any_pb2.Any()
            if self.reason:
                detail.Pack(error_details_pb2.ErrorInfo(reason=self.reason, domain="better-auth-grpc"))
            status = status_pb2.Status(code=self.code.value[0], message="scripted failure", details=[detail] if self.reason else [])
            context.set_trailing_metadata((("grpc-status-details-bin", status.SerializeToString()),))
            context.abort(self.code, "scripted failure")

    def ValidateToken(self, request: Any, context: grpc.ServicerContext) -> auth_pb2.ValidateTokenResponse:
        self._maybe_fail(context)
        return auth_pb2.ValidateTokenResponse(valid=True, user=auth_pb2.User(id="u1", email="a@b.c"))

    def GetSession(self, request: Any, context: grpc.ServicerContext) -> auth_pb2.GetSessionResponse:
        self._maybe_fail(context)
        return auth_pb2.GetSessionResponse(session=auth_pb2.Session(id="s1", user_id="u1"), user=auth_pb2.User(id="u1"))

    def IssueToken(self, request: Any, context: grpc.ServicerContext) -> auth_pb2.IssueTokenResponse:
        self._maybe_fail(context)
        return auth_pb2.IssueTokenResponse(token="e.y.j", kid="k1")


@pytest.fixture
def scripted() -> Iterator[tuple[Scripted, str]]:
    servicer = Scripted()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    auth_pb2_grpc.add_AuthServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield servicer, f"127.0.0.1:{port}"
    finally:
        server.stop(None)


Call = Callable[[str, str], Any]


def sync_call(method: str) -> Call:
    def run(target: str, key: str) -> Any:
        with AuthClient(target, api_key=key, timeout=3.0, max_attempts=3, backoff=0.01) as c:
            return _invoke(c, method)

    return run


def async_call(method: str) -> Call:
    def run(target: str, key: str) -> Any:
        async def go() -> Any:
            async with AsyncAuthClient(target, api_key=key, timeout=3.0, max_attempts=3, backoff=0.01) as c:
                result = _invoke(c, method)
                return await result

        return asyncio.run(go())

    return run


def _invoke(c: Any, method: str) -> Any:
    if method == "validate":
        return c.validate_token("t")
    if method == "session":
        return c.get_session("t")
    return c.issue_token(user_id="u1")


CLIENTS = [pytest.param(f, id=f.__name__.split("_")[0]) for f in (sync_call, async_call)]
METHODS = ["validate", "session", "issue"]


@pytest.mark.parametrize("make", CLIENTS)
@pytest.mark.parametrize("method", METHODS)
def test_unavailable_is_retried_until_an_answer(scripted: tuple[Scripted, str], make: Callable[[str], Call], method: str) -> None:
    servicer, target = scripted
    servicer.failures = 2
    assert make(method)(target, "k") is not None
    assert servicer.calls == 3


@pytest.mark.parametrize("make", CLIENTS)
def test_unavailable_gives_up_after_max_attempts(scripted: tuple[Scripted, str], make: Callable[[str], Call]) -> None:
    servicer, target = scripted
    servicer.failures = 100
    start = time.monotonic()
    with pytest.raises(AuthUnavailable) as info:
        make("validate")(target, "k")
    assert servicer.calls == 3
    assert time.monotonic() - start < 1.0
    assert info.value.reason == "DATABASE_UNAVAILABLE" and "after 3 attempts" in str(info.value)


@pytest.mark.parametrize("make", CLIENTS)
@pytest.mark.parametrize(
    ("code", "reason", "error"),
    [
        (grpc.StatusCode.NOT_FOUND, "SESSION_EXPIRED", SessionNotFound),
        (grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED", InvalidCredential),
        (grpc.StatusCode.INVALID_ARGUMENT, "", InvalidRequest),
        (grpc.StatusCode.PERMISSION_DENIED, "", PermissionDenied),
        (grpc.StatusCode.UNAUTHENTICATED, "", Unauthenticated),
        (grpc.StatusCode.INTERNAL, "DATABASE_ERROR", AuthServiceError),
        (grpc.StatusCode.UNIMPLEMENTED, "", AuthServiceError),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "", AuthServiceError),
    ],
)
def test_other_codes_are_never_retried_and_map_to_their_error(
    scripted: tuple[Scripted, str],
    make: Callable[[str], Call],
    code: grpc.StatusCode,
    reason: str,
    error: type[AuthServiceError],
) -> None:
    servicer, target = scripted
    servicer.failures, servicer.code, servicer.reason = 100, code, reason
    with pytest.raises(AuthServiceError) as info:
        make("issue")(target, "k")
    assert type(info.value) is error
    assert info.value.code is code
    assert info.value.reason == (reason or None)
    assert servicer.calls == 1


@pytest.mark.parametrize("make", CLIENTS)
def test_api_key_goes_with_issue_token_only(scripted: tuple[Scripted, str], make: Callable[[str], Call]) -> None:
    servicer, target = scripted
    make("validate")(target, "the-key")
    make("session")(target, "the-key")
    issued = make("issue")(target, "the-key")
    assert servicer.api_keys == [None, None, "the-key"]
    assert issued.kid == "k1" and "e.y.j" not in repr(issued)
