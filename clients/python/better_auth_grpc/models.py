"""Typed results, converted from the generated messages. Dates are timezone-aware UTC datetimes.

Secrets (a session's token, an issued JWT) are left out of the reprs, so logging a result is safe.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format, struct_pb2, timestamp_pb2

from ._proto import auth_pb2
from .enums import CredentialKind, Reason


@dataclass(frozen=True)
class User:
    """Every Better Auth user column; `extra` holds the others (admin's role, banned, your fields)."""

    id: str
    name: str
    email: str
    email_verified: bool
    image: str | None
    created_at: dt.datetime | None
    updated_at: dt.datetime | None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Session:
    """Every Better Auth session column; `extra` holds the others (impersonatedBy, activeOrganizationId)."""

    id: str
    user_id: str
    expires_at: dt.datetime | None
    created_at: dt.datetime | None
    updated_at: dt.datetime | None
    ip_address: str | None
    user_agent: str | None
    token: str = field(repr=False)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Validation:
    """ValidateToken's answer. An invalid credential is an answer too: `valid=False` and a `reason`."""

    valid: bool
    reason: Reason
    kind: CredentialKind
    user: User | None
    session: Session | None
    expires_at: dt.datetime | None
    claims: dict[str, Any]
    message: str


@dataclass(frozen=True)
class SessionAndUser:
    """GetSession's answer: what Better Auth's get-session returns."""

    session: Session
    user: User


@dataclass(frozen=True)
class IssuedToken:
    """IssueToken's answer: a JWT as Better Auth's jwt plugin mints it."""

    token: str = field(repr=False)
    kid: str
    expires_at: dt.datetime | None


def _time(msg: Any, name: str) -> dt.datetime | None:
    if not msg.HasField(name):
        return None
    ts: timestamp_pb2.Timestamp = getattr(msg, name)
    return ts.ToDatetime(tzinfo=dt.timezone.utc)


def _json(value: Any) -> Any:
    """Struct numbers are doubles: give back the integers JSON had (exp, iat, counters) as ints."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53:
        return int(value)
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value


def _struct(msg: Any, name: str) -> dict[str, Any]:
    if not msg.HasField(name):
        return {}
    value: struct_pb2.Struct = getattr(msg, name)
    return dict(_json(json_format.MessageToDict(value)))


def _optional(msg: Any, name: str) -> str | None:
    return str(getattr(msg, name)) if msg.HasField(name) else None


def user_from_pb(m: auth_pb2.User) -> User:
    return User(
        id=m.id,
        name=m.name,
        email=m.email,
        email_verified=m.email_verified,
        image=_optional(m, "image"),
        created_at=_time(m, "created_at"),
        updated_at=_time(m, "updated_at"),
        extra=_struct(m, "extra"),
    )


def session_from_pb(m: auth_pb2.Session) -> Session:
    return Session(
        id=m.id,
        user_id=m.user_id,
        expires_at=_time(m, "expires_at"),
        created_at=_time(m, "created_at"),
        updated_at=_time(m, "updated_at"),
        ip_address=_optional(m, "ip_address"),
        user_agent=_optional(m, "user_agent"),
        token=m.token,
        extra=_struct(m, "extra"),
    )


def validation_from_pb(m: auth_pb2.ValidateTokenResponse) -> Validation:
    return Validation(
        valid=m.valid,
        reason=Reason(m.reason),
        kind=CredentialKind(m.kind),
        user=user_from_pb(m.user) if m.HasField("user") else None,
        session=session_from_pb(m.session) if m.HasField("session") else None,
        expires_at=_time(m, "expires_at"),
        claims=_struct(m, "claims"),
        message=m.message,
    )


def session_and_user_from_pb(m: auth_pb2.GetSessionResponse) -> SessionAndUser:
    return SessionAndUser(session=session_from_pb(m.session), user=user_from_pb(m.user))


def issued_from_pb(m: auth_pb2.IssueTokenResponse) -> IssuedToken:
    return IssuedToken(token=m.token, kid=m.kid, expires_at=_time(m, "expires_at"))
