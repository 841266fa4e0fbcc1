"""A small chat backend whose routes only answer signed-in Better Auth users.

    AUTH_GRPC_TARGET=127.0.0.1:50051 uvicorn app:app --port 8000

Credentials are checked by better-auth-grpc (ValidateToken): the browser's Better Auth session cookie,
or `Authorization: Bearer <session token | signed token | jwt-plugin JWT>` from another client.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from pydantic import BaseModel, Field

from better_auth_grpc.fastapi import AuthenticatedUser, BetterAuthGuard


class ChatIn(BaseModel):
    message: str = Field(min_length=1, max_length=4000)


class ChatOut(BaseModel):
    reply: str
    user_id: str


class Me(BaseModel):
    id: str
    name: str
    email: str
    email_verified: bool
    credential: str
    session_id: str | None
    expires_at: dt.datetime | None


def create_app(target: str | None = None, *, audience: str | None = None, local_cache: bool | None = None) -> FastAPI:
    guard = BetterAuthGuard(
        target or os.environ.get("AUTH_GRPC_TARGET", "127.0.0.1:50051"),
        audience=audience or os.environ.get("AUTH_JWT_AUDIENCE") or None,
        local_cache=os.environ.get("AUTH_LOCAL_CACHE") == "1" if local_cache is None else local_cache,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await guard.aclose()

    app = FastAPI(title="fastapi-chat", lifespan=lifespan)
    app.state.guard = guard  # for its client's local_cache_stats()

    @app.get("/")
    async def index(user: AuthenticatedUser | None = Depends(guard.optional_user)) -> dict[str, str]:
        return {"hello": user.user.name if user else "guest"}

    @app.get("/me")
    async def me(user: AuthenticatedUser = Depends(guard.require_user)) -> Me:
        return Me(
            id=user.id,
            name=user.user.name,
            email=user.user.email,
            email_verified=user.user.email_verified,
            credential=user.kind.name,
            session_id=user.session.id if user.session else None,
            expires_at=user.expires_at,
        )

    @app.post("/chat")
    async def chat(body: ChatIn, user: AuthenticatedUser = Depends(guard.require_user)) -> ChatOut:
        return ChatOut(reply=f"{user.user.name}: {body.message}", user_id=user.id)

    return app


app = create_app()
