"""LocalCache's bookkeeping, event by event, with a fake clock (no service)."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from better_auth_grpc import CredentialKind, Reason, Session, User, Validation
from better_auth_grpc._local_cache import LocalCache
from better_auth_grpc._proto import auth_pb2

Kind = auth_pb2.SessionEvent
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


def _user(uid: str) -> User:
    return User(uid, "n", f"{uid}@example.com", True, None, None, None)


def session_answer(token: str, uid: str = "u1", minutes: int = 10) -> Validation:
    expires = T0 + dt.timedelta(minutes=minutes)
    s = Session("s-" + token, uid, expires, None, None, None, None, token)
    return Validation(True, Reason.REASON_UNSPECIFIED, CredentialKind.SESSION_TOKEN, _user(uid), s, expires, {}, "")


def jwt_answer(uid: str = "u1") -> Validation:
    expires = T0 + dt.timedelta(minutes=5)
    return Validation(True, Reason.REASON_UNSPECIFIED, CredentialKind.JWT, _user(uid), None, expires, {"sub": uid}, "")


def event(kind: int, token: str = "", user_id: str = "") -> auth_pb2.SessionEvent:
    sha = hashlib.sha256(token.encode()).digest() if token else b""
    return auth_pb2.SessionEvent(kind=kind, session_token_sha256=sha, user_id=user_id)  # type: ignore[arg-type]


def live_cache(clock: Clock | None = None, entries: int = 100) -> LocalCache:
    cache = LocalCache(entries, clock or Clock())
    cache.apply(event(Kind.RESET))
    cache.apply(event(Kind.LIVE))
    return cache


def fill(cache: LocalCache, key: str, answer: Validation) -> None:
    cache.put((key, ""), answer, cache.epoch())


def test_nothing_is_cached_or_served_before_live() -> None:
    cache = LocalCache(10, Clock())
    assert cache.epoch() is None
    cache.put(("t", ""), session_answer("t"), 0)
    cache.apply(event(Kind.LIVE))
    assert cache.get(("t", "")) is None
    fill(cache, "t", session_answer("t"))
    assert cache.get(("t", "")) is not None


def test_invalid_answers_are_not_kept() -> None:
    cache = live_cache()
    refused = Validation(False, Reason.SESSION_NOT_FOUND, CredentialKind.SESSION_TOKEN, None, None, None, {}, "")
    fill(cache, "x", refused)
    assert cache.get(("x", "")) is None and cache.stats().entries == 0


def test_the_key_includes_the_audience() -> None:
    cache = live_cache()
    cache.put(("j", "chat"), jwt_answer(), cache.epoch())
    assert cache.get(("j", "")) is None and cache.get(("j", "chat")) is not None


def test_session_event_drops_only_that_session() -> None:
    cache = live_cache()
    fill(cache, "a", session_answer("a"))
    fill(cache, "cookie: a", session_answer("a"))
    fill(cache, "b", session_answer("b"))
    cache.apply(event(Kind.SESSION, token="a", user_id="u1"))
    assert cache.get(("a", "")) is None and cache.get(("cookie: a", "")) is None
    assert cache.get(("b", "")) is not None and cache.stats().live


def test_user_event_drops_that_users_sessions_and_jwts() -> None:
    cache = live_cache()
    fill(cache, "a", session_answer("a", uid="u1"))
    fill(cache, "j", jwt_answer("u1"))
    fill(cache, "b", session_answer("b", uid="u2"))
    cache.apply(event(Kind.USER, user_id="u1"))
    assert cache.get(("a", "")) is None and cache.get(("j", "")) is None
    assert cache.get(("b", "")) is not None


def test_keys_event_drops_jwts_only() -> None:
    cache = live_cache()
    fill(cache, "a", session_answer("a"))
    fill(cache, "j", jwt_answer())
    cache.apply(event(Kind.KEYS))
    assert cache.get(("j", "")) is None and cache.get(("a", "")) is not None


@pytest.mark.parametrize(("kind", "still_live"), [(Kind.FLUSH, True), (Kind.RESET, False), (99, True)])
def test_flush_reset_and_unknown_kinds_drop_everything(kind: int, still_live: bool) -> None:
    cache = live_cache()
    fill(cache, "a", session_answer("a"))
    cache.apply(event(kind))
    assert cache.stats().entries == 0 and cache.stats().live is still_live


def test_a_broken_stream_empties_and_stops_serving() -> None:
    cache = live_cache()
    fill(cache, "a", session_answer("a"))
    cache.reset()
    assert cache.stats().entries == 0 and not cache.stats().live and cache.epoch() is None


def test_an_answer_fetched_while_an_event_arrived_is_not_stored() -> None:
    cache = live_cache()
    epoch = cache.epoch()
    cache.apply(event(Kind.SESSION, token="a"))  # the sign-out, applied while the lookup was out
    cache.put(("a", ""), session_answer("a"), epoch)
    assert cache.get(("a", "")) is None


def test_expiry_is_judged_per_call() -> None:
    clock = Clock()
    cache = live_cache(clock)
    fill(cache, "a", session_answer("a", minutes=1))
    assert cache.get(("a", "")) is not None
    clock.now = T0 + dt.timedelta(minutes=1)
    assert cache.get(("a", "")) is None and cache.stats().entries == 0


def test_size_is_bounded_least_recently_used_first() -> None:
    cache = live_cache(entries=2)
    fill(cache, "a", session_answer("a"))
    fill(cache, "b", session_answer("b"))
    assert cache.get(("a", "")) is not None  # b is now the least recently used
    fill(cache, "c", session_answer("c"))
    assert cache.get(("b", "")) is None
    assert cache.get(("a", "")) is not None and cache.get(("c", "")) is not None
    cache.apply(event(Kind.SESSION, token="b"))  # the evicted entry left no index behind
    assert cache.stats().entries == 2


def test_counters() -> None:
    cache = live_cache()
    fill(cache, "a", session_answer("a"))
    cache.get(("a", ""))
    cache.get(("z", ""))
    s = cache.stats()
    assert (s.hits, s.misses, s.entries) == (1, 1, 1)
