"""What every ChatKit call knows about its caller: built once per request from `guard.require_user`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from better_auth_grpc.fastapi import AuthenticatedUser


@dataclass(frozen=True)
class RequestContext:
    """The ChatKit `context`: the store scopes every row by `user_id`; `respond` greets by `name`.
    `claims` is the JWT's payload (empty for a session cookie or token); `upload_base` is where the
    browser sends attachment bytes (this app's own URL as the request reached it)."""

    user_id: str
    name: str
    email: str
    credential: str
    claims: dict[str, Any] = field(default_factory=dict)
    upload_base: str = ""

    @classmethod
    def of(cls, user: AuthenticatedUser, upload_base: str = "") -> RequestContext:
        return cls(
            user_id=user.id,
            name=user.user.name,
            email=user.user.email,
            credential=user.kind.name,
            claims=dict(user.claims),
            upload_base=upload_base,
        )
