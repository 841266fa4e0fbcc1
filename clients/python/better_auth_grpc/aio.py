"""`AsyncAuthClient`: the asyncio client (grpc.aio), with the same methods as `AuthClient`."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from types import TracebackType
from typing import Any, TypeVar

import grpc
from grpc import aio

from . import models
from ._policy import (
    CHANNEL_OPTIONS,
    DEFAULT_TARGET,
    Attempts,
    Metadata,
    CallPolicy,
    api_key_metadata,
    get_session_request,
    issue_request,
    validate_request,
)
from ._proto import auth_pb2_grpc
from ._trace import trace_metadata

Req = TypeVar("Req")
Resp = TypeVar("Resp")


class AsyncAuthClient:
    """Calls `auth.v1.AuthService` from asyncio code; see `AuthClient` for the parameters.

    The channel is opened on the first call, in the running event loop, and reused by every call
    from that loop (a client used from a new loop, as test clients do, opens a new one there).
    """

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        *,
        api_key: str | None = None,
        timeout: float = 2.0,
        max_attempts: int = 3,
        backoff: float = 0.05,
        credentials: grpc.ChannelCredentials | None = None,
        options: Sequence[tuple[str, Any]] = (),
    ) -> None:
        self._policy = CallPolicy(timeout=timeout, max_attempts=max_attempts, backoff=backoff)
        self._api_key = api_key
        self._target = target
        self._credentials = credentials
        self._options = [*CHANNEL_OPTIONS, *options]
        self._channel: aio.Channel | None = None
        self._stub: auth_pb2_grpc.AuthServiceAsyncStub | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def validate_token(
        self, token: str, audience: str | None = None, *, timeout: float | None = None
    ) -> models.Validation:
        """See `AuthClient.validate_token`."""
        stub = self._ready()
        reply = await self._call(stub.ValidateToken, validate_request(token, audience), timeout, ())
        return models.validation_from_pb(reply)

    async def get_session(
        self, token: str, disable_refresh: bool = False, *, timeout: float | None = None
    ) -> models.SessionAndUser:
        """See `AuthClient.get_session`."""
        stub = self._ready()
        reply = await self._call(stub.GetSession, get_session_request(token, disable_refresh), timeout, ())
        return models.session_and_user_from_pb(reply)

    async def issue_token(
        self,
        *,
        session_token: str | None = None,
        user_id: str | None = None,
        audience: str | None = None,
        lifetime_seconds: int | None = None,
        timeout: float | None = None,
    ) -> models.IssuedToken:
        """See `AuthClient.issue_token`."""
        req = issue_request(session_token, user_id, audience, lifetime_seconds)
        stub = self._ready()
        reply = await self._call(stub.IssueToken, req, timeout, api_key_metadata(self._api_key))
        return models.issued_from_pb(reply)

    async def close(self) -> None:
        channel, self._channel, self._stub, self._loop = self._channel, None, None, None
        if channel is not None:
            await channel.close()

    async def __aenter__(self) -> AsyncAuthClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def _ready(self) -> auth_pb2_grpc.AuthServiceAsyncStub:
        loop = asyncio.get_running_loop()
        if self._stub is None or self._loop is not loop:
            # A channel belongs to the loop it was made in; the previous loop is gone or not ours.
            if self._credentials is None:
                self._channel = aio.insecure_channel(self._target, options=self._options)
            else:
                self._channel = aio.secure_channel(self._target, self._credentials, options=self._options)
            self._stub = auth_pb2_grpc.AuthServiceStub(self._channel)
            self._loop = loop
        return self._stub

    async def _call(
        self,
        method: aio.UnaryUnaryMultiCallable[Req, Resp],
        request: Req,
        timeout: float | None,
        metadata: Metadata,
    ) -> Resp:
        attempts = Attempts(self._policy, timeout)
        while True:
            try:
                return await method(
                    request, timeout=attempts.remaining(), metadata=(*metadata, *trace_metadata())
                )
            except aio.AioRpcError as e:
                code = e.code()
                delay = attempts.retry_delay(code)
                if delay is None:
                    raise attempts.error(code, e.details(), e.trailing_metadata()) from None
                await asyncio.sleep(delay)
