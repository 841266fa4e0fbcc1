"""A ChatKit backend whose every request is a signed-in Better Auth user's, threads scoped to that user.

    AUTH_GRPC_TARGET=127.0.0.1:50051 CHATKIT_DB=chatkit.sqlite uvicorn app:app --port 8000

`POST /chatkit` takes ChatKit's request JSON and answers JSON or an SSE stream, as ChatKit's SDK
decides. The credential (`Authorization: Bearer <jwt-plugin JWT>` from the front end, or the session
cookie) is checked by better-auth-grpc before ChatKit sees the request: 401 with the reason, 503 when
the auth service cannot answer (the request is then not processed). Another user's thread, item or
attachment id is 404, the same as an id that does not exist.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from chatkit.server import StreamingResult
from chatkit.store import NotFoundError
from fastapi import Depends, FastAPI, HTTPException, Request, Response, status
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from better_auth_grpc.fastapi import AuthenticatedUser, BetterAuthGuard
from chat_server import EchoChatKitServer
from context import RequestContext
from store import Database, SQLiteAttachmentStore, SQLiteStore

MAX_UPLOAD = 10 * 1024 * 1024


def _problem(code: int, reason: str, message: str) -> HTTPException:
    return HTTPException(status_code=code, detail={"reason": reason, "message": message})


def _not_found(e: NotFoundError) -> HTTPException:
    return _problem(status.HTTP_404_NOT_FOUND, "NOT_FOUND", str(e) or "not found")


async def _stream(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for chunk in rest:
        yield chunk


async def _streaming_response(result: StreamingResult) -> Response:
    # The first event comes after the thread was loaded (and the message stored): pulling it here
    # turns "not yours / not found" into a 404 instead of a stream that breaks after its 200.
    events = aiter(result)
    try:
        first = await anext(events)
    except NotFoundError as e:
        raise _not_found(e) from None
    except StopAsyncIteration:
        first = b""
    return StreamingResponse(_stream(first, events), media_type="text/event-stream")


async def _body_at_most(request: Request, limit: int) -> bytes:
    """The body, refused (413) as soon as it grows past `limit` rather than after reading it all."""
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            # 413 as a number: Starlette renamed its constant and warns on the old one
            raise _problem(413, "TOO_LARGE", f"attachments are at most {limit} bytes")
    return bytes(data)


def create_app(target: str | None = None, *, db_path: Path | None = None, audience: str | None = None) -> FastAPI:
    guard = BetterAuthGuard(
        target or os.environ.get("AUTH_GRPC_TARGET", "127.0.0.1:50051"),
        audience=audience or os.environ.get("AUTH_JWT_AUDIENCE") or None,
    )
    db = Database(db_path or Path(os.environ.get("CHATKIT_DB", "chatkit.sqlite")))
    attachments = SQLiteAttachmentStore(db)
    server = EchoChatKitServer(SQLiteStore(db), attachments)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await guard.aclose()

    app = FastAPI(title="chatkit-backend", lifespan=lifespan)

    async def context(request: Request, user: AuthenticatedUser = Depends(guard.require_user)) -> RequestContext:
        return RequestContext.of(user, upload_base=str(request.base_url))

    @app.post("/chatkit")
    async def chatkit(request: Request, ctx: RequestContext = Depends(context)) -> Response:
        try:
            result = await server.process(await request.body(), ctx)
        except ValidationError:
            raise _problem(status.HTTP_400_BAD_REQUEST, "BAD_REQUEST", "not a ChatKit request") from None
        except NotFoundError as e:
            raise _not_found(e) from None
        if isinstance(result, StreamingResult):
            return await _streaming_response(result)
        return Response(content=result.json, media_type="application/json")

    @app.put("/chatkit/attachments/{attachment_id}", status_code=status.HTTP_204_NO_CONTENT)
    async def upload(attachment_id: str, request: Request, ctx: RequestContext = Depends(context)) -> None:
        data = await _body_at_most(request, MAX_UPLOAD)
        try:
            await attachments.upload(attachment_id, data, ctx)
        except NotFoundError as e:
            raise _not_found(e) from None

    return app


app = create_app()
