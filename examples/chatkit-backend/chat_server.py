"""The ChatKit server: ChatKit's SDK drives threads and streaming; `respond` writes the answer.

This one answers deterministically (it echoes the message, addressed to the signed-in user), so it
runs and is tested without a model or network. README.md shows the Agents SDK call that replaces it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from chatkit.server import ChatKitServer
from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageContentPartTextDelta,
    AssistantMessageItem,
    ThreadItemAddedEvent,
    ThreadItemDoneEvent,
    ThreadItemUpdatedEvent,
    ThreadMetadata,
    ThreadStreamEvent,
    UserMessageItem,
    UserMessageTextContent,
)

from context import RequestContext


def text_of(message: UserMessageItem | None) -> str:
    if message is None:
        return ""
    return " ".join(part.text for part in message.content if isinstance(part, UserMessageTextContent))


def reply_to(context: RequestContext, text: str) -> str:
    return f"{context.name}, you said: {text}"


class EchoChatKitServer(ChatKitServer[RequestContext]):
    async def respond(
        self, thread: ThreadMetadata, input_user_message: UserMessageItem | None, context: RequestContext
    ) -> AsyncIterator[ThreadStreamEvent]:
        text = text_of(input_user_message)
        if thread.title is None and text:
            thread.title = text[:60]  # ChatKit saves it and streams thread.updated
        reply = reply_to(context, text)
        item = AssistantMessageItem(
            id=self.store.generate_item_id("message", thread, context),
            thread_id=thread.id,
            created_at=datetime.now(),
            content=[],
        )
        # Streamed as a model's answer would be: the item, text deltas, then the finished item.
        yield ThreadItemAddedEvent(item=item)
        for chunk in _chunks(reply):
            yield ThreadItemUpdatedEvent(
                item_id=item.id, update=AssistantMessageContentPartTextDelta(content_index=0, delta=chunk)
            )
        done = item.model_copy(update={"content": [AssistantMessageContent(text=reply)]})
        yield ThreadItemDoneEvent(item=done)


def _chunks(text: str, size: int = 16) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]
