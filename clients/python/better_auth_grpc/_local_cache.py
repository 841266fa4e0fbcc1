"""The local cache of valid ValidateToken answers, driven by WatchSessions events.

Pure bookkeeping, no I/O: the clients feed it the stream's events (`apply`) and tell it when the
stream broke (`reset`). It answers only while the stream is subscribed and LIVE, drops what each
event names, and refuses to store an answer fetched while an event arrived (the epoch check), so a
revocation applied during a lookup is never outlived by that lookup's answer. Thread-safe (the sync
client feeds it from a thread).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ._proto import auth_pb2
from .enums import CredentialKind
from .models import Validation

Key = tuple[str, str]
N = TypeVar("N", bytes, str)
Clock = Callable[[], dt.datetime]

_Kind = auth_pb2.SessionEvent

#: Entries kept by default; the least recently used one goes first past it.
DEFAULT_ENTRIES = 10_000


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass(frozen=True)
class LocalCacheStats:
    """A snapshot: `live` (subscribed and LIVE: answers may come from the cache), `entries`, and the
    counts since the client was made: `hits` (answered locally), `misses` (asked the service),
    `resets` (times a live cache was emptied: RESET, FLUSH, a broken stream, `close`)."""

    live: bool
    entries: int
    hits: int
    misses: int
    resets: int


@dataclass(frozen=True)
class _Entry:
    answer: Validation
    expires_at: dt.datetime
    session_sha256: bytes | None
    user_id: str | None
    jwt: bool


class LocalCache:
    """Valid answers keyed by (credential, audience), at most `max_entries` of them (LRU)."""

    def __init__(self, max_entries: int = DEFAULT_ENTRIES, clock: Clock = utc_now) -> None:
        if max_entries < 1:
            raise ValueError("local_cache_entries must be >= 1")
        self._max = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[Key, _Entry] = OrderedDict()
        self._by_session: dict[bytes, set[Key]] = {}
        self._by_user: dict[str, set[Key]] = {}
        self._jwts: set[Key] = set()
        self._live = False
        self._epoch = 0
        self._hits = self._misses = self._resets = 0

    def get(self, key: Key) -> Validation | None:
        """The cached answer, or None (a miss: not LIVE, not cached, or past its expiry)."""
        with self._lock:
            entry = self._entries.get(key) if self._live else None
            if entry is not None and entry.expires_at <= self._clock():
                self._drop(key)
                entry = None
            if entry is None:
                self._misses += 1
                return None
            self._entries.move_to_end(key)
            self._hits += 1
            return entry.answer

    def epoch(self) -> int | None:
        """Taken before asking the service; None when the answer must not be stored (not LIVE)."""
        with self._lock:
            return self._epoch if self._live else None

    def put(self, key: Key, answer: Validation, epoch: int | None) -> None:
        """Stores a valid answer unless an event (or a reset) arrived since `epoch` was taken."""
        entry = _entry(answer)
        with self._lock:
            if entry is None or epoch is None or epoch != self._epoch or not self._live:
                return
            self._drop(key)
            self._entries[key] = entry
            self._index(key, entry)
            while len(self._entries) > self._max:
                self._drop(next(iter(self._entries)))

    def apply(self, event: auth_pb2.SessionEvent) -> None:
        """Acts on one WatchSessions event."""
        with self._lock:
            self._epoch += 1
            kind = event.kind
            if kind == _Kind.LIVE:
                self._live = True
            elif kind == _Kind.SESSION:
                self._drop_all(self._by_session.get(bytes(event.session_token_sha256), set()))
            elif kind == _Kind.USER:
                self._drop_all(self._by_user.get(event.user_id, set()))
            elif kind == _Kind.KEYS:
                self._drop_all(self._jwts)
            elif kind == _Kind.RESET:
                self._clear(live=False)
            else:  # FLUSH, or a kind from a newer service: something changed, so drop everything
                self._clear(live=self._live)

    def reset(self) -> None:
        """The stream ended or failed (or the client closed): empty, and cache nothing until LIVE."""
        with self._lock:
            self._epoch += 1
            self._clear(live=False)

    def stats(self) -> LocalCacheStats:
        with self._lock:
            return LocalCacheStats(self._live, len(self._entries), self._hits, self._misses, self._resets)

    def _clear(self, *, live: bool) -> None:
        if self._live or self._entries:
            self._resets += 1
        self._live = live
        self._entries.clear()
        self._by_session.clear()
        self._by_user.clear()
        self._jwts.clear()

    def _index(self, key: Key, entry: _Entry) -> None:
        if entry.session_sha256 is not None:
            self._by_session.setdefault(entry.session_sha256, set()).add(key)
        if entry.user_id is not None:
            self._by_user.setdefault(entry.user_id, set()).add(key)
        if entry.jwt:
            self._jwts.add(key)

    def _drop_all(self, keys: set[Key]) -> None:
        for key in list(keys):
            self._drop(key)

    def _drop(self, key: Key) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        if entry.session_sha256 is not None:
            _discard(self._by_session, entry.session_sha256, key)
        if entry.user_id is not None:
            _discard(self._by_user, entry.user_id, key)
        self._jwts.discard(key)


def _discard(index: dict[N, set[Key]], name: N, key: Key) -> None:
    keys = index.get(name)
    if keys is not None:
        keys.discard(key)
        if not keys:
            del index[name]


def _entry(v: Validation) -> _Entry | None:
    """What to remember of a valid answer; None for one that must not be cached."""
    expires_at = v.expires_at or (v.session.expires_at if v.session else None)
    if not v.valid or expires_at is None:
        return None
    jwt = v.kind is CredentialKind.JWT
    if v.session is None and not jwt:
        return None  # a valid answer names a session or is a JWT; anything else is not understood
    session = hashlib.sha256(v.session.token.encode()).digest() if v.session else None
    user = v.user.id if v.user else (v.session.user_id if v.session else None)
    if jwt and user is None:
        sub = v.claims.get("sub")
        user = sub if isinstance(sub, str) else None
    return _Entry(v, expires_at, session, user, jwt)
