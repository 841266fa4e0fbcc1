"""ChatKit's `Store` on a SQLite file, every row owned by one user.

Every query carries `user_id = ?` from the request context, so another user's thread, item or
attachment id answers exactly like an id that does not exist: `NotFoundError` (the app's 404). A
write that would land on another user's row (an upsert on their id) is refused the same way.
Rows keep ChatKit's own JSON; `seq` gives a stable order for pagination cursors.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from chatkit.store import AttachmentStore, NotFoundError, Store, StoreItemType, default_generate_id
from chatkit.types import Attachment, AttachmentCreateParams, FileAttachment, Page, ThreadItem, ThreadMetadata
from pydantic import TypeAdapter

from context import RequestContext

T = TypeVar("T")
_ITEM: TypeAdapter[ThreadItem] = TypeAdapter(ThreadItem)
_ATTACHMENT: TypeAdapter[Attachment] = TypeAdapter(Attachment)

SCHEMA = """
CREATE TABLE IF NOT EXISTS threads (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, user_id TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS threads_user ON threads (user_id, seq);
CREATE TABLE IF NOT EXISTS items (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, thread_id TEXT NOT NULL,
    user_id TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS items_thread ON items (user_id, thread_id, seq);
CREATE TABLE IF NOT EXISTS attachments (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL, data TEXT NOT NULL, bytes BLOB);
"""


class Database:
    """One SQLite file, created with its tables on first use. Calls run on a worker thread (sqlite3
    blocks), each in its own transaction."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._created = False

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=5)
        if not self._created:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)  # idempotent, so a race between two first calls is harmless
            self._created = True
        return db

    def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        db = self._connect()
        try:
            with db:  # commits, or rolls back on an exception
                return fn(db)
        finally:
            db.close()

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.to_thread(self._call, fn)


def new_id(kind: StoreItemType) -> str:
    """ChatKit's prefix with a whole UUID: its default 8 hex digits collide within one table of ~10^5
    rows, and ids are unique across users here."""
    prefix = default_generate_id(kind).partition("_")[0]
    return f"{prefix}_{uuid.uuid4().hex}"


def _found(changed: int, what: str) -> None:
    if changed == 0:
        raise NotFoundError(f"{what} not found")


def _page(rows: list[tuple[Any, ...]], limit: int, parse: Callable[[str], T]) -> Page[T]:
    """rows: up to limit+1 of (id, data); the extra one only says there is more."""
    data = [parse(r[1]) for r in rows[:limit]]
    has_more = len(rows) > limit
    return Page(data=data, has_more=has_more, after=rows[limit - 1][0] if has_more else None)


def _order(order: str) -> tuple[str, str]:
    """SQL direction and the comparison that continues after a cursor."""
    return ("ASC", ">") if order == "asc" else ("DESC", "<")


class SQLiteStore(Store[RequestContext]):
    def __init__(self, db: Database) -> None:
        self.db = db

    def generate_thread_id(self, context: RequestContext) -> str:
        return new_id("thread")

    def generate_item_id(self, item_type: StoreItemType, thread: ThreadMetadata, context: RequestContext) -> str:
        return new_id(item_type)

    async def load_thread(self, thread_id: str, context: RequestContext) -> ThreadMetadata:
        def q(db: sqlite3.Connection) -> str | None:
            row = db.execute("SELECT data FROM threads WHERE id = ? AND user_id = ?", (thread_id, context.user_id)).fetchone()
            return row[0] if row else None

        data = await self.db.run(q)
        if data is None:
            raise NotFoundError("thread not found")
        return ThreadMetadata.model_validate_json(data)

    async def save_thread(self, thread: ThreadMetadata, context: RequestContext) -> None:
        # ChatKit may hand a Thread (with its items): only the metadata is stored.
        data = ThreadMetadata.model_validate(thread.model_dump(exclude={"items"})).model_dump_json()
        sql = (
            "INSERT INTO threads (id, user_id, data) VALUES (?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET data = excluded.data WHERE threads.user_id = excluded.user_id"
        )
        changed = await self.db.run(lambda db: db.execute(sql, (thread.id, context.user_id, data)).rowcount)
        _found(changed, "thread")

    async def load_threads(self, limit: int, after: str | None, order: str, context: RequestContext) -> Page[ThreadMetadata]:
        direction, cmp = _order(order)
        cursor = f"AND seq {cmp} (SELECT seq FROM threads WHERE id = ?2 AND user_id = ?1)" if after else ""
        sql = f"SELECT id, data FROM threads WHERE user_id = ?1 {cursor} ORDER BY seq {direction} LIMIT ?3"

        def q(db: sqlite3.Connection) -> list[tuple[Any, ...]]:
            return db.execute(sql, (context.user_id, after, limit + 1)).fetchall()

        return _page(await self.db.run(q), limit, ThreadMetadata.model_validate_json)

    async def delete_thread(self, thread_id: str, context: RequestContext) -> None:
        def q(db: sqlite3.Connection) -> int:
            args = (thread_id, context.user_id)
            db.execute("DELETE FROM items WHERE thread_id = ? AND user_id = ?", args)
            return db.execute("DELETE FROM threads WHERE id = ? AND user_id = ?", args).rowcount

        _found(await self.db.run(q), "thread")

    async def load_thread_items(
        self, thread_id: str, after: str | None, limit: int, order: str, context: RequestContext
    ) -> Page[ThreadItem]:
        await self.load_thread(thread_id, context)  # another user's thread is not found, not empty
        direction, cmp = _order(order)
        cursor = f"AND seq {cmp} (SELECT seq FROM items WHERE id = ?3 AND user_id = ?1)" if after else ""
        sql = f"SELECT id, data FROM items WHERE user_id = ?1 AND thread_id = ?2 {cursor} ORDER BY seq {direction} LIMIT ?4"

        def q(db: sqlite3.Connection) -> list[tuple[Any, ...]]:
            return db.execute(sql, (context.user_id, thread_id, after, limit + 1)).fetchall()

        return _page(await self.db.run(q), limit, _ITEM.validate_json)

    async def add_thread_item(self, thread_id: str, item: ThreadItem, context: RequestContext) -> None:
        await self.save_item(thread_id, item, context)

    async def save_item(self, thread_id: str, item: ThreadItem, context: RequestContext) -> None:
        # Inserted only into a thread of this user; an existing id is updated only if it is this
        # user's item in this thread.
        sql = (
            "INSERT INTO items (id, thread_id, user_id, data) "
            "SELECT ?1, id, user_id, ?4 FROM threads WHERE id = ?2 AND user_id = ?3 "
            "ON CONFLICT (id) DO UPDATE SET data = excluded.data "
            "WHERE items.user_id = excluded.user_id AND items.thread_id = excluded.thread_id"
        )
        args = (item.id, thread_id, context.user_id, _ITEM.dump_json(item).decode())
        _found(await self.db.run(lambda db: db.execute(sql, args).rowcount), "item")

    async def load_item(self, thread_id: str, item_id: str, context: RequestContext) -> ThreadItem:
        def q(db: sqlite3.Connection) -> str | None:
            sql = "SELECT data FROM items WHERE id = ? AND thread_id = ? AND user_id = ?"
            row = db.execute(sql, (item_id, thread_id, context.user_id)).fetchone()
            return row[0] if row else None

        data = await self.db.run(q)
        if data is None:
            raise NotFoundError("item not found")
        return _ITEM.validate_json(data)

    async def delete_thread_item(self, thread_id: str, item_id: str, context: RequestContext) -> None:
        sql = "DELETE FROM items WHERE id = ? AND thread_id = ? AND user_id = ?"
        _found(await self.db.run(lambda db: db.execute(sql, (item_id, thread_id, context.user_id)).rowcount), "item")

    async def save_attachment(self, attachment: Attachment, context: RequestContext) -> None:
        sql = (
            "INSERT INTO attachments (id, user_id, data) VALUES (?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET data = excluded.data WHERE attachments.user_id = excluded.user_id"
        )
        args = (attachment.id, context.user_id, _ATTACHMENT.dump_json(attachment).decode())
        _found(await self.db.run(lambda db: db.execute(sql, args).rowcount), "attachment")

    async def load_attachment(self, attachment_id: str, context: RequestContext) -> Attachment:
        def q(db: sqlite3.Connection) -> str | None:
            row = db.execute(
                "SELECT data FROM attachments WHERE id = ? AND user_id = ?", (attachment_id, context.user_id)
            ).fetchone()
            return row[0] if row else None

        data = await self.db.run(q)
        if data is None:
            raise NotFoundError("attachment not found")
        return _ATTACHMENT.validate_json(data)

    async def delete_attachment(self, attachment_id: str, context: RequestContext) -> None:
        sql = "DELETE FROM attachments WHERE id = ? AND user_id = ?"
        _found(await self.db.run(lambda db: db.execute(sql, (attachment_id, context.user_id)).rowcount), "attachment")


class SQLiteAttachmentStore(AttachmentStore[RequestContext]):
    """Two-phase upload: `attachments.create` answers an upload URL on this app
    (`PUT /chatkit/attachments/{id}`), whose bytes land in the same row, for the same user only."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def generate_attachment_id(self, mime_type: str, context: RequestContext) -> str:
        return new_id("attachment")

    async def create_attachment(self, input: AttachmentCreateParams, context: RequestContext) -> Attachment:
        attachment_id = self.generate_attachment_id(input.mime_type, context)
        url = f"{context.upload_base.rstrip('/')}/chatkit/attachments/{attachment_id}"
        # ChatKit's store.save_attachment records the row (owned by this user) right after this.
        return FileAttachment.model_validate(
            {"id": attachment_id, "name": input.name, "mime_type": input.mime_type,
             "upload_descriptor": {"url": url, "method": "PUT"}}
        )

    async def upload(self, attachment_id: str, data: bytes, context: RequestContext) -> None:
        sql = "UPDATE attachments SET bytes = ? WHERE id = ? AND user_id = ?"
        _found(await self.db.run(lambda db: db.execute(sql, (data, attachment_id, context.user_id)).rowcount), "attachment")

    async def delete_attachment(self, attachment_id: str, context: RequestContext) -> None:
        # The row goes with Store.delete_attachment, which ChatKit calls next: here only the
        # bytes, and only this user's.
        sql = "UPDATE attachments SET bytes = NULL WHERE id = ? AND user_id = ?"
        _found(await self.db.run(lambda db: db.execute(sql, (attachment_id, context.user_id)).rowcount), "attachment")
