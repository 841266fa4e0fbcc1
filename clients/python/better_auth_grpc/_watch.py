"""Keeps one WatchSessions stream open for a local cache: asyncio (`AsyncWatcher`) and a thread
(`ThreadWatcher`). Whenever the stream ends or fails the cache is emptied (nothing is served from it
until the next LIVE) and the stream is opened again after a backoff (100 ms doubling to 2 s, reset by
LIVE)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading

import grpc
from grpc import aio

from ._local_cache import LocalCache
from ._proto import auth_pb2, auth_pb2_grpc

log = logging.getLogger("better_auth_grpc")

#: With no call of its own, a client learns of a silently dead connection only from HTTP/2 pings:
#: every 5 s, 2 s to answer. This bounds how long a cache outlives a partition it cannot see.
KEEPALIVE_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.keepalive_time_ms", 5000),
    ("grpc.keepalive_timeout_ms", 2000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
)


class Backoff:
    FIRST = 0.1
    MAX = 2.0

    def __init__(self) -> None:
        self.delay = self.FIRST

    def reset(self) -> None:
        self.delay = self.FIRST

    def next(self) -> float:
        delay = self.delay * random.uniform(0.8, 1.2)
        self.delay = min(self.delay * 2, self.MAX)
        return delay


def _feed(cache: LocalCache, event: auth_pb2.SessionEvent, backoff: Backoff) -> None:
    cache.apply(event)
    if event.kind == auth_pb2.SessionEvent.LIVE:
        backoff.reset()


class AsyncWatcher:
    """The stream as a task of the event loop that `start` runs in."""

    def __init__(self, cache: LocalCache) -> None:
        self.cache = cache
        self._task: asyncio.Task[None] | None = None

    def start(self, stub: auth_pb2_grpc.AuthServiceAsyncStub) -> None:
        """Opens the stream in the running loop (a task of a previous, closed loop is gone)."""
        self.cache.reset()
        self._task = asyncio.get_running_loop().create_task(self._run(stub), name="better-auth-grpc-watch")

    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.cache.reset()

    async def _run(self, stub: auth_pb2_grpc.AuthServiceAsyncStub) -> None:
        backoff = Backoff()
        while True:
            call = stub.WatchSessions(auth_pb2.WatchSessionsRequest())
            try:
                async for event in call:
                    _feed(self.cache, event, backoff)
                log.info("WatchSessions ended; local cache emptied")
            except aio.AioRpcError as e:
                log.info("WatchSessions failed (%s); local cache emptied", e.code().name)
            except Exception:  # anything else: still never serve from the cache, and try again
                log.warning("WatchSessions failed; local cache emptied", exc_info=True)
            finally:
                self.cache.reset()
                call.cancel()
            await asyncio.sleep(backoff.next())


class ThreadWatcher:
    """The stream read by a daemon thread, for the sync client."""

    def __init__(self, cache: LocalCache, stub: auth_pb2_grpc.AuthServiceStub) -> None:
        self.cache = cache
        self._stub = stub
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._call: grpc.Call | None = None
        self._thread = threading.Thread(target=self._run, name="better-auth-grpc-watch", daemon=True)
        self._thread.start()

    def running(self) -> bool:
        return self._thread.is_alive() and not self._stop.is_set()

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            if self._call is not None:
                self._call.cancel()
        self._thread.join(timeout=5)
        self.cache.reset()

    def _run(self) -> None:
        backoff = Backoff()
        while not self._stop.is_set():
            with self._lock:
                if self._stop.is_set():
                    break
                call = self._stub.WatchSessions(auth_pb2.WatchSessionsRequest())
                self._call = call
            try:
                for event in call:
                    _feed(self.cache, event, backoff)
            except grpc.RpcError as e:
                code = e.code() if isinstance(e, grpc.Call) else None
                log.info("WatchSessions failed (%s); local cache emptied", code)
            except Exception:  # anything else: still never serve from the cache, and try again
                log.warning("WatchSessions failed; local cache emptied", exc_info=True)
            finally:
                self.cache.reset()
                call.cancel()
            self._stop.wait(backoff.next())
