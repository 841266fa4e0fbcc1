"""ChatKit's request JSON as its front end sends it, and its SSE answers parsed back."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from fastapi.testclient import TestClient


class Response(Protocol):
    """An HTTP answer: the test client's (httpx2 under Starlette) or httpx's."""

    @property
    def status_code(self) -> int: ...
    @property
    def text(self) -> str: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    def json(self) -> Any: ...


def user_input(text: str, attachments: list[str] | None = None) -> dict[str, Any]:
    return {
        "content": [{"type": "input_text", "text": text}],
        "attachments": attachments or [],
        "inference_options": {},
    }


def create(text: str) -> dict[str, Any]:
    return {"type": "threads.create", "params": {"input": user_input(text)}}


def add(thread_id: str, text: str, attachments: list[str] | None = None) -> dict[str, Any]:
    return {"type": "threads.add_user_message", "params": {"thread_id": thread_id, "input": user_input(text, attachments)}}


def listing() -> dict[str, Any]:
    return {"type": "threads.list", "params": {"limit": 50, "order": "desc"}}


def load(thread_id: str) -> dict[str, Any]:
    return {"type": "threads.get_by_id", "params": {"thread_id": thread_id}}


def items(thread_id: str) -> dict[str, Any]:
    return {"type": "items.list", "params": {"thread_id": thread_id}}


def rename(thread_id: str, title: str) -> dict[str, Any]:
    return {"type": "threads.update", "params": {"thread_id": thread_id, "title": title}}


def delete(thread_id: str) -> dict[str, Any]:
    return {"type": "threads.delete", "params": {"thread_id": thread_id}}


def new_attachment(name: str) -> dict[str, Any]:
    return {"type": "attachments.create", "params": {"name": name, "size": 5, "mime_type": "text/plain"}}


def delete_attachment(attachment_id: str) -> dict[str, Any]:
    return {"type": "attachments.delete", "params": {"attachment_id": attachment_id}}


def post(http: TestClient, body: dict[str, Any], headers: dict[str, str]) -> Response:
    return http.post("/chatkit", content=json.dumps(body), headers={"content-type": "application/json", **headers})


def events(r: Response) -> list[dict[str, Any]]:
    """The SSE stream's events, in order."""
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    return [json.loads(line[len("data: "):]) for line in r.text.splitlines() if line.startswith("data: ")]


def of_type(evs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in evs if e["type"] == kind]


def assistant_text(evs: list[dict[str, Any]]) -> str:
    done = [e["item"] for e in of_type(evs, "thread.item.done") if e["item"]["type"] == "assistant_message"]
    assert len(done) == 1, evs
    return "".join(part["text"] for part in done[0]["content"])


def reason(r: Response) -> str:
    detail: dict[str, str] = r.json()["detail"]
    return detail["reason"]
