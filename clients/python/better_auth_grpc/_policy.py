"""What the sync and async clients share: the channel options, the retry rule, the requests."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

import grpc

from ._proto import auth_pb2
from .errors import AuthServiceError, AuthUnavailable, from_status

DEFAULT_TARGET = "127.0.0.1:50051"

Metadata = tuple[tuple[str, str], ...]

#: A restarted service is reached again within about a second: the default reconnect backoff
#: (1 s, growing to 120 s) would keep failing calls long after the service is back.
CHANNEL_OPTIONS: tuple[tuple[str, Any], ...] = (
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
)


@dataclass(frozen=True)
class CallPolicy:
    """`timeout`: seconds for a whole call, retries included. Only UNAVAILABLE is retried, at most
    `max_attempts` attempts in all, waiting `backoff`, then twice as long each time (with jitter)."""

    timeout: float = 2.0
    max_attempts: int = 3
    backoff: float = 0.05

    def __post_init__(self) -> None:
        if self.timeout <= 0:
            raise ValueError("timeout must be > 0 seconds")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if self.backoff < 0:
            raise ValueError("backoff must be >= 0 seconds")


class Attempts:
    """Tracks one call's attempts against its deadline."""

    def __init__(self, policy: CallPolicy, timeout: float | None) -> None:
        self.policy = policy
        self.deadline = time.monotonic() + (policy.timeout if timeout is None else timeout)
        self.count = 0

    def remaining(self) -> float:
        """Seconds left for the next attempt; raises AuthUnavailable when none are."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise AuthUnavailable("deadline exceeded", code=grpc.StatusCode.DEADLINE_EXCEEDED)
        self.count += 1
        return left

    def retry_delay(self, code: grpc.StatusCode) -> float | None:
        """How long to wait before retrying after `code`, or None when not to retry."""
        if code != grpc.StatusCode.UNAVAILABLE or self.count >= self.policy.max_attempts:
            return None
        delay: float = self.policy.backoff * 2.0 ** (self.count - 1) * random.uniform(0.8, 1.2)
        # Retry only when the wait still leaves the attempt a useful slice of the deadline.
        if time.monotonic() + delay + 0.01 >= self.deadline:
            return None
        return delay

    def error(self, code: grpc.StatusCode, details: str | None, trailing: Any) -> AuthServiceError:
        err = from_status(code, details, trailing)
        if isinstance(err, AuthUnavailable) and self.count > 1:
            err.message = f"{err.message} (after {self.count} attempts)"
        return err


def api_key_metadata(api_key: str | None) -> Metadata:
    return (("x-api-key", api_key),) if api_key else ()


def validate_request(token: str, audience: str | None) -> auth_pb2.ValidateTokenRequest:
    return auth_pb2.ValidateTokenRequest(token=token, audience=audience or "")


def get_session_request(token: str, disable_refresh: bool) -> auth_pb2.GetSessionRequest:
    return auth_pb2.GetSessionRequest(token=token, disable_refresh=disable_refresh)


def issue_request(
    session_token: str | None, user_id: str | None, audience: str | None, lifetime_seconds: int | None
) -> auth_pb2.IssueTokenRequest:
    if (session_token is None) == (user_id is None):
        raise ValueError("issue_token needs exactly one of session_token= or user_id=")
    if lifetime_seconds is not None and lifetime_seconds <= 0:
        raise ValueError("lifetime_seconds must be > 0")
    req = auth_pb2.IssueTokenRequest(audience=audience or "")
    if session_token is not None:
        req.session_token = session_token
    else:
        req.user_id = user_id or ""
    if lifetime_seconds is not None:
        req.lifetime_seconds = lifetime_seconds
    return req
