"""The opt-in local cache against the real service: the embedded default (SQLite), whose feed polls
`PRAGMA data_version` every 25 ms and sends FLUSH on any commit by another connection."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable

import pytest
from grpc import aio

from better_auth_grpc import AsyncAuthClient, AuthClient, AuthUnavailable, LocalCacheStats, Reason, Validation
from better_auth_grpc._proto import auth_pb2, auth_pb2_grpc
from better_auth_grpc.testing import LocalService

Kind = auth_pb2.SessionEvent
#: The demo data's file in the service's working directory (the embedded default).
DB_FILE = "better-auth-grpc.sqlite"
BOUND = 1.0


def write(svc: LocalService, sql: str, *args: str) -> None:
    """A commit by another process' connection, as Better Auth's would be."""
    with sqlite3.connect(svc.workdir / DB_FILE) as db:
        db.execute(sql, args)
    db.close()


def demo_token(svc: LocalService) -> str:
    assert svc.session_token
    return svc.session_token


async def until_live(stats: Callable[[], LocalCacheStats | None], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not (s := stats()) or not s.live:
        assert time.monotonic() < deadline, f"the local cache did not go live: {s}"
        await asyncio.sleep(0.01)


async def warm(c: AsyncAuthClient, token: str) -> Validation:
    """Opens the stream, waits for LIVE, fills the entry, and proves the next answer is local."""
    await c.validate_token(token)
    await until_live(c.local_cache_stats)
    # A FLUSH (SQLite: any commit, e.g. the service's own start-up writes seen by the next poll)
    # may land between the two calls; a few tries tell that apart from a cache that never hits.
    for _ in range(5):
        first = await c.validate_token(token)
        hits = c.local_cache_stats()
        again = await c.validate_token(token)
        after = c.local_cache_stats()
        if again is first:
            break
    assert first.valid and again is first, "the repeat was not answered from the local cache"
    assert hits is not None and after is not None and after.hits == hits.hits + 1
    return first


async def refused_after(c: AsyncAuthClient, token: str) -> tuple[Validation, float]:
    """Polls until the credential is refused; the answer and the seconds it took."""
    start = time.monotonic()
    while (v := await c.validate_token(token)).valid:
        assert time.monotonic() - start < 5, "still valid after 5 s"
        await asyncio.sleep(0.002)
    return v, time.monotonic() - start


async def test_a_repeat_is_answered_locally_and_close_empties_it(own_service: LocalService) -> None:
    c = AsyncAuthClient(own_service.target, local_cache=True)
    await warm(c, demo_token(own_service))
    stats = c.local_cache_stats()
    assert stats is not None and stats.entries == 1
    await c.close()
    assert c.local_cache_stats() == LocalCacheStats(False, 0, stats.hits, stats.misses, stats.resets + 1)
    assert (await c.validate_token(demo_token(own_service))).valid, "a closed client opens again on use"
    await c.close()


async def test_a_deleted_session_is_refused_within_the_bound(own_service: LocalService) -> None:
    token = demo_token(own_service)
    async with AsyncAuthClient(own_service.target, local_cache=True) as c:
        await warm(c, token)
        write(own_service, "DELETE FROM session WHERE token = ?", token)
        v, took = await refused_after(c, token)
    print(f"\nlocal cache: deleted session refused after {took * 1000:.1f} ms")
    assert v.reason is Reason.SESSION_NOT_FOUND and took < BOUND


async def test_a_stopped_service_empties_the_cache(own_service: LocalService) -> None:
    token = demo_token(own_service)
    async with AsyncAuthClient(own_service.target, local_cache=True, timeout=1.0) as c:
        await warm(c, token)
        # An open WatchSessions stream keeps a draining service up for its whole drain timeout
        # (10 s): cut it short, as a crash would.
        own_service.stop(timeout=1.0)
        with pytest.raises(AuthUnavailable):
            await c.validate_token(token)
        await asyncio.sleep(0.2)  # the stream's task sees the end too
        stats = c.local_cache_stats()
        assert stats is not None and not stats.live and stats.entries == 0
        own_service.start()
        await until_live(c.local_cache_stats, timeout=10)  # resubscribed by itself
        assert (await c.validate_token(token)).valid


async def next_kind(call: aio.UnaryStreamCall[auth_pb2.WatchSessionsRequest, auth_pb2.SessionEvent]) -> int:
    event = await asyncio.wait_for(call.read(), timeout=BOUND)
    assert isinstance(event, auth_pb2.SessionEvent), "the stream ended"
    return event.kind


async def test_watch_sessions_says_reset_live_then_flush_after_a_write(own_service: LocalService) -> None:
    async with aio.insecure_channel(own_service.target) as channel:
        call = auth_pb2_grpc.AuthServiceStub(channel).WatchSessions(auth_pb2.WatchSessionsRequest())
        first = [await next_kind(call), await next_kind(call)]
        write(own_service, 'UPDATE "user" SET name = ? WHERE email = ?', "Renamed", "demo@example.com")
        then = await next_kind(call)
        call.cancel()
    assert first == [Kind.RESET, Kind.LIVE] and then == Kind.FLUSH


def test_the_sync_client_caches_and_sees_a_deletion(own_service: LocalService) -> None:
    token = demo_token(own_service)
    with AuthClient(own_service.target, local_cache=True) as c:
        deadline = time.monotonic() + 5
        while not ((s := c.local_cache_stats()) and s.live):
            assert time.monotonic() < deadline, "the sync client's cache did not go live"
            c.validate_token(token)  # connects the channel, whose state the cache follows
            time.sleep(0.01)
        for _ in range(5):  # a FLUSH from an earlier commit may land between two calls
            first = c.validate_token(token)
            if c.validate_token(token) is first:
                break
        else:
            raise AssertionError("the repeat was not answered from the local cache")
        write(own_service, "DELETE FROM session WHERE token = ?", token)
        start = time.monotonic()
        while c.validate_token(token).valid:
            assert time.monotonic() - start < BOUND
            time.sleep(0.002)
    stats = c.local_cache_stats()
    assert stats is not None and not stats.live and stats.entries == 0


def test_without_local_cache_there_are_no_stats(service: LocalService) -> None:
    with AuthClient(service.target) as c:
        assert c.local_cache_stats() is None


def test_local_cache_entries_must_be_positive() -> None:
    with pytest.raises(ValueError):
        AsyncAuthClient(local_cache=True, local_cache_entries=0)



def test_the_sync_client_stops_serving_from_cache_when_the_service_stops(own_service: LocalService) -> None:
    token = demo_token(own_service)
    with AuthClient(own_service.target, local_cache=True, timeout=1.0) as c:
        deadline = time.monotonic() + 5
        while not ((s := c.local_cache_stats()) and s.live and s.entries):
            assert time.monotonic() < deadline, "the sync client's cache did not fill"
            c.validate_token(token)
            time.sleep(0.01)
        assert c.validate_token(token).valid
        own_service.stop(timeout=1.0)  # the drain would wait for the open stream: cut it short
        with pytest.raises(AuthUnavailable):
            c.validate_token(token)
