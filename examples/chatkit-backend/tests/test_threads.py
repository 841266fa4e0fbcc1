"""User A's threads through ChatKit's real request JSON and SSE stream, and user B (its own valid JWT
or cookie) getting nothing of them: whatever ids B sends, A's thread looks like one that does not exist."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

import chatkit_requests as ck
from app import MAX_UPLOAD
from harness import BetterAuth, SignedUp, jwt_of, sign_up


@pytest.fixture(scope="module")
def a_thread(http: TestClient, alice_jwt: dict[str, str]) -> dict[str, Any]:
    """A's thread: created with one message, then one more added; both answered."""
    evs = ck.events(ck.post(http, ck.create("hello there"), alice_jwt))
    (created,) = ck.of_type(evs, "thread.created")
    assert ck.assistant_text(evs) == "Alice Example, you said: hello there"
    thread_id: str = created["thread"]["id"]
    more = ck.events(ck.post(http, ck.add(thread_id, "second"), alice_jwt))
    assert ck.assistant_text(more) == "Alice Example, you said: second"
    return {"id": thread_id, "events": evs}


@pytest.fixture(params=["jwt", "cookie"])
def bob_creds(request: pytest.FixtureRequest, bob: SignedUp) -> dict[str, str]:
    """B's own valid credential, each form in turn."""
    if request.param == "jwt":
        headers: dict[str, str] = request.getfixturevalue("bob_jwt")
        return headers
    return {"Cookie": bob.cookie}


def _item_texts(thread: dict[str, Any]) -> list[tuple[str, str]]:
    return [(i["type"], i["content"][0]["text"]) for i in thread["items"]["data"]]


def test_a_creates_a_thread_streamed_as_chatkit_streams(a_thread: dict[str, Any]) -> None:
    evs = a_thread["events"]
    kinds = [e["type"] for e in evs]
    assert kinds[0] == "thread.created" and "stream_options" in kinds
    assert kinds.count("thread.item.updated") >= 2, "the answer arrives as text deltas"
    user_items = [e["item"] for e in ck.of_type(evs, "thread.item.done") if e["item"]["type"] == "user_message"]
    assert user_items[0]["content"][0]["text"] == "hello there"
    (updated,) = ck.of_type(evs, "thread.updated")
    assert updated["thread"]["title"] == "hello there"


def test_a_loads_and_lists_its_thread(http: TestClient, alice_jwt: dict[str, str], a_thread: dict[str, Any]) -> None:
    r = ck.post(http, ck.load(a_thread["id"]), alice_jwt)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json", r.text
    assert _item_texts(r.json()) == [
        ("user_message", "hello there"),
        ("assistant_message", "Alice Example, you said: hello there"),
        ("user_message", "second"),
        ("assistant_message", "Alice Example, you said: second"),
    ]
    listed = ck.post(http, ck.listing(), alice_jwt).json()
    assert a_thread["id"] in [t["id"] for t in listed["data"]]


def test_a_with_its_cookie_sees_the_same_thread(http: TestClient, alice: SignedUp, a_thread: dict[str, Any]) -> None:
    r = ck.post(http, ck.load(a_thread["id"]), {"Cookie": alice.cookie})
    assert r.status_code == 200 and len(r.json()["items"]["data"]) == 4


def test_b_lists_none_of_as_threads(http: TestClient, bob_creds: dict[str, str], a_thread: dict[str, Any]) -> None:
    r = ck.post(http, ck.listing(), bob_creds)
    assert r.status_code == 200, r.text
    assert a_thread["id"] not in [t["id"] for t in r.json()["data"]]


@pytest.mark.parametrize(
    "request_of",
    [ck.load, ck.items, ck.delete, lambda t: ck.rename(t, "mine now"), lambda t: ck.add(t, "let me in")],
    ids=["load", "items", "delete", "rename", "add-message"],
)
def test_b_is_refused_as_thread_not_found(
    http: TestClient, bob_creds: dict[str, str], alice_jwt: dict[str, str], a_thread: dict[str, Any], request_of: Any
) -> None:
    r = ck.post(http, request_of(a_thread["id"]), bob_creds)
    assert r.status_code == 404 and ck.reason(r) == "NOT_FOUND", r.text
    # exactly what a thread that never existed answers
    missing = ck.post(http, request_of("thr_doesnotexist"), bob_creds)
    assert (missing.status_code, missing.json()) == (404, r.json())
    unchanged = ck.post(http, ck.load(a_thread["id"]), alice_jwt).json()
    assert unchanged["title"] == "hello there" and len(unchanged["items"]["data"]) == 4


def test_b_cannot_use_or_delete_as_attachment(
    http: TestClient, alice_jwt: dict[str, str], bob_creds: dict[str, str]
) -> None:
    r = ck.post(http, ck.new_attachment("notes.txt"), alice_jwt)
    assert r.status_code == 200, r.text
    attachment = r.json()
    upload_path = "/chatkit/attachments/" + attachment["id"]
    assert attachment["upload_descriptor"]["url"].endswith(upload_path)
    assert http.put(upload_path, content=b"psst!", headers=bob_creds).status_code == 404
    assert http.put(upload_path, content=b"hello", headers=alice_jwt).status_code == 204
    # B's own thread, A's attachment id: refused before anything is stored
    own = ck.events(ck.post(http, ck.create("mine"), bob_creds))
    (created,) = ck.of_type(own, "thread.created")
    r = ck.post(http, ck.add(created["thread"]["id"], "look", [attachment["id"]]), bob_creds)
    assert r.status_code == 404 and ck.reason(r) == "NOT_FOUND", r.text
    r = ck.post(http, ck.delete_attachment(attachment["id"]), bob_creds)
    assert r.status_code == 404, r.text
    assert ck.post(http, ck.delete_attachment(attachment["id"]), alice_jwt).status_code == 200


def test_a_deletes_its_thread(http: TestClient, alice_jwt: dict[str, str]) -> None:
    evs = ck.events(ck.post(http, ck.create("short-lived"), alice_jwt))
    thread_id = ck.of_type(evs, "thread.created")[0]["thread"]["id"]
    r = ck.post(http, ck.delete(thread_id), alice_jwt)
    assert r.status_code == 200 and r.json() == {}
    assert ck.post(http, ck.load(thread_id), alice_jwt).status_code == 404


def test_pages_through_threads(http: TestClient, better_auth: BetterAuth) -> None:
    carol = sign_up(better_auth, "Carol Pages")
    auth = {"Authorization": f"Bearer {jwt_of(better_auth, carol)}"}
    ids = [ck.of_type(ck.events(ck.post(http, ck.create(f"t{i}"), auth)), "thread.created")[0]["thread"]["id"] for i in range(3)]
    page = ck.post(http, {"type": "threads.list", "params": {"limit": 2, "order": "asc"}}, auth).json()
    assert [t["id"] for t in page["data"]] == ids[:2] and page["has_more"] and page["after"] == ids[1]
    rest = ck.post(http, {"type": "threads.list", "params": {"limit": 2, "order": "asc", "after": page["after"]}}, auth).json()
    assert [t["id"] for t in rest["data"]] == ids[2:] and not rest["has_more"]


def test_an_upload_over_the_limit_is_413(http: TestClient, alice_jwt: dict[str, str]) -> None:
    attachment = ck.post(http, ck.new_attachment("big.bin"), alice_jwt).json()
    r = http.put("/chatkit/attachments/" + attachment["id"], content=b"x" * (MAX_UPLOAD + 1), headers=alice_jwt)
    assert r.status_code == 413 and ck.reason(r) == "TOO_LARGE", r.text
