"""AsyncAuthClient against the real service."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest

from better_auth_grpc import (
    AsyncAuthClient,
    AuthUnavailable,
    CredentialKind,
    InvalidCredential,
    Reason,
    SessionNotFound,
)
from better_auth_grpc.testing import LocalService, free_port


async def test_validate_every_form(service: LocalService, token: str, cookie: str, signed: str) -> None:
    async with AsyncAuthClient(service.target) as c:
        answers = await asyncio.gather(
            c.validate_token(token), c.validate_token(cookie), c.validate_token(f"Bearer {signed}")
        )
    kinds = [a.kind for a in answers]
    assert kinds == [CredentialKind.SESSION_TOKEN, CredentialKind.SESSION_COOKIE, CredentialKind.SIGNED_SESSION_TOKEN]
    assert all(a.valid and a.user is not None and a.user.email == "demo@example.com" for a in answers)
    assert len({a.session.id for a in answers if a.session}) == 1


async def test_invalid_is_an_answer(service: LocalService) -> None:
    async with AsyncAuthClient(service.target) as c:
        v = await c.validate_token("theme=dark")
    assert not v.valid and v.reason is Reason.NO_SESSION_COOKIE and v.kind is CredentialKind.SESSION_COOKIE


async def test_get_session_and_its_errors(service: LocalService, token: str) -> None:
    async with AsyncAuthClient(service.target) as c:
        s = await c.get_session(token, disable_refresh=True)
        assert s.session.token == token and s.user.email == "demo@example.com"
        with pytest.raises(SessionNotFound) as nf:
            await c.get_session("B" * 32)
        with pytest.raises(InvalidCredential) as bad:
            await c.get_session("")
    assert nf.value.reason == "SESSION_NOT_FOUND" and nf.value.code is grpc.StatusCode.NOT_FOUND
    assert bad.value.reason == "EMPTY" and bad.value.code is grpc.StatusCode.INVALID_ARGUMENT


async def test_nothing_listening_is_auth_unavailable_in_bounded_time() -> None:
    async with AsyncAuthClient(f"127.0.0.1:{free_port()}", timeout=1.5) as c:
        start = time.monotonic()
        with pytest.raises(AuthUnavailable) as info:
            await c.validate_token("whatever")
    assert time.monotonic() - start < 1.5
    assert info.value.code is grpc.StatusCode.UNAVAILABLE


async def test_a_stopped_service_is_unavailable(own_service: LocalService) -> None:
    token = own_service.session_token
    assert token
    c = AsyncAuthClient(own_service.target, timeout=2.0)
    assert (await c.validate_token(token)).valid
    own_service.stop()
    start = time.monotonic()
    with pytest.raises(AuthUnavailable):
        await c.validate_token(token)
    assert time.monotonic() - start < 2.0
    await c.close()


def test_one_client_serves_successive_event_loops(service: LocalService, token: str) -> None:
    """Test clients (and some servers) run a new loop per run: the client follows."""
    c = AsyncAuthClient(service.target)
    first = asyncio.run(c.validate_token(token))
    second = asyncio.run(c.validate_token(token))
    assert first.valid and second.valid
    asyncio.run(c.close())
