"""`AsyncAuthClient`: the asyncio client (grpc.aio), with the same methods as `AuthClient`."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from types import TracebackType
from typing import Any, TypeVar

import grpc
from grpc import aio

from . import models
from ._local_cache import DEFAULT_ENTRIES, LocalCache, LocalCacheStats
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
from ._watch import KEEPALIVE_OPTIONS, AsyncWatcher
from ._trace import trace_metadata

Req = TypeVar("Req")
Resp = TypeVar("Resp")


class AsyncAuthClient:
    """Calls `auth.v1.AuthService` from asyncio code; see `AuthClient` for the parameters.

    The channel is opened on the first call, in the running event loop, and reused by every call
    from that loop (a client used from a new loop, as test clients do, opens a new one there).

    `local_cache=True` keeps valid ValidateToken answers (at most `local_cache_entries`, LRU) and
    serves repeats locally while a WatchSessions stream, opened with the channel, is LIVE: its
    events drop what they name, a RESET or a broken stream empties it, expiry is judged per call.
    `local_cache_stats()` reports it. See the package README for the guarantee.
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
        local_cache: bool = False,
        local_cache_entries: int = DEFAULT_ENTRIES,
    ) -> None:
        self._policy = CallPolicy(timeout=timeout, max_attempts=max_attempts, backoff=backoff)
        self._api_key = api_key
        self._target = target
        self._credentials = credentials
        self._options = [*CHANNEL_OPTIONS, *(KEEPALIVE_OPTIONS if local_cache else ()), *options]
        self._watcher = AsyncWatcher(LocalCache(local_cache_entries)) if local_cache else None
        self._channel: aio.Channel | None = None
        self._stub: auth_pb2_grpc.AuthServiceAsyncStub | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def validate_token(
        self, token: str, audience: str | None = None, *, timeout: float | None = None
    ) -> models.Validation:
        """See `AuthClient.validate_token`. With `local_cache`, a repeat may be answered locally."""
        stub = self._ready()
        cache = self._live_cache()
        key = (token, audience or "")
        cached = cache.get(key) if cache else None
        if cached is not None:
            return cached
        epoch = cache.epoch() if cache else None
        reply = await self._call(stub.ValidateToken, validate_request(token, audience), timeout, ())
        answer = models.validation_from_pb(reply)
        if cache is not None:
            cache.put(key, answer, epoch)
        return answer

    def local_cache_stats(self) -> LocalCacheStats | None:
        """The local cache's state and counters; None when the client has none."""
        return self._watcher.cache.stats() if self._watcher else None

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
        """Closes the WatchSessions stream (emptying the local cache) and the channel."""
        if self._watcher is not None:
            await self._watcher.aclose()
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
            if self._watcher is not None:
                self._watcher.start(self._stub)
        return self._stub

    def _live_cache(self) -> LocalCache | None:
        """The cache, when answers may come from or go to it: its stream task is running and the
        channel's connection is up (a closed connection is seen here before the stream's task runs)."""
        if self._watcher is None or not self._watcher.running() or self._channel is None:
            return None
        if self._channel.get_state(try_to_connect=False) != grpc.ChannelConnectivity.READY:
            return None
        return self._watcher.cache

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
