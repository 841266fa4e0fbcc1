"""`AuthClient`: the synchronous client. One channel, reused by every call, until `close()`."""

from __future__ import annotations

import time
from collections.abc import Sequence
from types import TracebackType
from typing import Any, TypeVar, cast

import grpc

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
from ._watch import KEEPALIVE_OPTIONS, ThreadWatcher
from ._trace import trace_metadata

Req = TypeVar("Req")
Resp = TypeVar("Resp")


class AuthClient:
    """Calls `auth.v1.AuthService`.

    `timeout` bounds each call, retries included (override per call with `timeout=`); only
    UNAVAILABLE is retried (`max_attempts`, backoff from `backoff` seconds). `api_key` is sent as
    `x-api-key` with IssueToken. Pass `credentials` (grpc.ssl_channel_credentials()) for TLS.
    `local_cache=True`: see `AsyncAuthClient` (here a daemon thread reads the WatchSessions stream).
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
        opts = [*CHANNEL_OPTIONS, *(KEEPALIVE_OPTIONS if local_cache else ()), *options]
        if credentials is None:
            self._channel = grpc.insecure_channel(target, options=opts)
        else:
            self._channel = grpc.secure_channel(target, credentials, options=opts)
        self._stub = auth_pb2_grpc.AuthServiceStub(self._channel)
        self._connectivity: grpc.ChannelConnectivity | None = None
        self._watcher: ThreadWatcher | None = None
        if local_cache:
            self._channel.subscribe(self._on_connectivity)
            self._watcher = ThreadWatcher(LocalCache(local_cache_entries), self._stub)

    def validate_token(
        self, token: str, audience: str | None = None, *, timeout: float | None = None
    ) -> models.Validation:
        """Any credential form: raw or signed session token, a whole Cookie header, `Bearer …`, a JWT.
        An invalid credential is an answer (`valid=False`, `reason`), not an exception.
        With `local_cache`, a repeat may be answered locally."""
        cache = self._live_cache()
        key = (token, audience or "")
        cached = cache.get(key) if cache else None
        if cached is not None:
            return cached
        epoch = cache.epoch() if cache else None
        reply = self._call(self._stub.ValidateToken, validate_request(token, audience), timeout, ())
        answer = models.validation_from_pb(reply)
        if cache is not None:
            cache.put(key, answer, epoch)
        return answer

    def local_cache_stats(self) -> LocalCacheStats | None:
        """The local cache's state and counters; None when the client has none."""
        return self._watcher.cache.stats() if self._watcher else None

    def get_session(
        self, token: str, disable_refresh: bool = False, *, timeout: float | None = None
    ) -> models.SessionAndUser:
        """What Better Auth's get-session returns (refreshing the session like it does).
        Raises InvalidCredential (bad input) or SessionNotFound (no live session)."""
        reply = self._call(self._stub.GetSession, get_session_request(token, disable_refresh), timeout, ())
        return models.session_and_user_from_pb(reply)

    def issue_token(
        self,
        *,
        session_token: str | None = None,
        user_id: str | None = None,
        audience: str | None = None,
        lifetime_seconds: int | None = None,
        timeout: float | None = None,
    ) -> models.IssuedToken:
        """A JWT for the holder of `session_token`, or (callers allowed to) for `user_id`."""
        req = issue_request(session_token, user_id, audience, lifetime_seconds)
        reply = self._call(self._stub.IssueToken, req, timeout, api_key_metadata(self._api_key))
        return models.issued_from_pb(reply)

    def close(self) -> None:
        """Closes the WatchSessions stream (emptying the local cache) and the channel."""
        if self._watcher is not None:
            self._channel.unsubscribe(self._on_connectivity)
            self._watcher.close()
        self._channel.close()

    def __enter__(self) -> AuthClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _on_connectivity(self, state: grpc.ChannelConnectivity) -> None:
        self._connectivity = state

    def _live_cache(self) -> LocalCache | None:
        """The cache, when answers may come from or go to it: its thread runs and the connection is up."""
        if self._watcher is None or not self._watcher.running():
            return None
        return self._watcher.cache if self._connectivity == grpc.ChannelConnectivity.READY else None

    def _call(
        self,
        method: grpc.UnaryUnaryMultiCallable[Req, Resp],
        request: Req,
        timeout: float | None,
        metadata: Metadata,
    ) -> Resp:
        attempts = Attempts(self._policy, timeout)
        while True:
            try:
                return method(
                    request, timeout=attempts.remaining(), metadata=(*metadata, *trace_metadata())
                )
            except grpc.RpcError as e:
                call = cast(grpc.Call, e)
                code = call.code()
                delay = attempts.retry_delay(code)
                if delay is None:
                    raise attempts.error(code, call.details(), call.trailing_metadata()) from None
                time.sleep(delay)
