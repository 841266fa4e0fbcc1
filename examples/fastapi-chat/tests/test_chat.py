"""The chat app against the real service in its embedded default (demo user, SQLite file)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from app import create_app
from better_auth_grpc.testing import LocalService


@pytest.fixture(scope="module")
def service(binary: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalService]:
    with LocalService(binary, tmp_path_factory.mktemp("svc")) as svc:
        yield svc


@pytest.fixture(scope="module")
def http(service: LocalService) -> Iterator[TestClient]:
    with TestClient(create_app(service.target)) as c:
        yield c


def _cookie(svc: LocalService) -> dict[str, str]:
    assert svc.cookie_header
    return {"Cookie": svc.cookie_header}


def _bearer(svc: LocalService) -> dict[str, str]:
    return {"Authorization": f"Bearer {svc.session_token}"}


def test_me_with_the_session_cookie(http: TestClient, service: LocalService) -> None:
    r = http.get("/me", headers=_cookie(service))
    assert r.status_code == 200, r.text
    me = r.json()
    assert me["name"] == "Demo User" and me["email"] == "demo@example.com" and me["email_verified"] is True
    assert me["credential"] == "SESSION_COOKIE" and me["session_id"] and me["expires_at"]


def test_me_with_a_bearer_session_token(http: TestClient, service: LocalService) -> None:
    r = http.get("/me", headers=_bearer(service))
    assert r.status_code == 200, r.text
    assert r.json()["credential"] == "SESSION_TOKEN"
    assert r.json()["id"] == http.get("/me", headers=_cookie(service)).json()["id"]


def test_chat_echoes_with_the_users_name(http: TestClient, service: LocalService) -> None:
    r = http.post("/chat", json={"message": "hello there"}, headers=_cookie(service))
    assert r.status_code == 200, r.text
    assert r.json()["reply"] == "Demo User: hello there"
    assert r.json()["user_id"] == http.get("/me", headers=_cookie(service)).json()["id"]


def test_chat_body_is_still_validated(http: TestClient, service: LocalService) -> None:
    assert http.post("/chat", json={"message": ""}, headers=_cookie(service)).status_code == 422


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "EMPTY"),
        ({"Cookie": "theme=dark"}, "EMPTY"),
        ({"Authorization": "Bearer " + "Z" * 32}, "SESSION_NOT_FOUND"),
        ({"Cookie": "better-auth.session_token=" + "Z" * 32 + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D"}, "BAD_SIGNATURE"),
    ],
)
def test_no_valid_credential_is_401_with_the_reason(http: TestClient, headers: dict[str, str], reason: str) -> None:
    for r in (http.get("/me", headers=headers), http.post("/chat", json={"message": "hi"}, headers=headers)):
        assert r.status_code == 401
        assert r.json()["detail"]["reason"] == reason
        assert isinstance(r.json()["detail"]["message"], str)


def test_index_greets_guests_and_users(http: TestClient, service: LocalService) -> None:
    assert http.get("/").json() == {"hello": "guest"}
    assert http.get("/", headers={"Authorization": "Bearer nope"}).json() == {"hello": "guest"}
    assert http.get("/", headers=_cookie(service)).json() == {"hello": "Demo User"}


def _sql(svc: LocalService, statement: str) -> None:
    with sqlite3.connect(svc.workdir / "better-auth-grpc.sqlite") as db:
        assert db.execute(statement).rowcount == 1


def _refused(c: TestClient, headers: dict[str, str]) -> Response:
    """The first answer that is not 200: the service's session cache follows another process' commit
    within its 25 ms data_version poll, not at once; allow a second."""
    start = time.monotonic()
    while (r := c.get("/me", headers=headers)).status_code == 200:
        assert time.monotonic() - start < 1.0, "still let through a second after the change"
        time.sleep(0.005)
    return r


def test_an_expired_session_is_401_session_expired(demo_service: LocalService) -> None:
    with TestClient(create_app(demo_service.target)) as c:
        assert c.get("/me", headers=_cookie(demo_service)).status_code == 200
        _sql(demo_service, """UPDATE session SET "expiresAt" = '2020-01-01T00:00:00.000Z'""")
        r = _refused(c, _cookie(demo_service))
    assert r.status_code == 401 and r.json()["detail"]["reason"] == "SESSION_EXPIRED"


def test_a_deleted_session_is_401_session_not_found(demo_service: LocalService) -> None:
    with TestClient(create_app(demo_service.target)) as c:
        assert c.get("/me", headers=_bearer(demo_service)).status_code == 200
        _sql(demo_service, "DELETE FROM session")
        r = _refused(c, _bearer(demo_service))
    assert r.status_code == 401 and r.json()["detail"]["reason"] == "SESSION_NOT_FOUND"


def test_auth_service_down_is_503_and_back_up_is_200(demo_service: LocalService) -> None:
    with TestClient(create_app(demo_service.target)) as c:
        assert c.get("/me", headers=_cookie(demo_service)).status_code == 200
        demo_service.stop()
        r = c.post("/chat", json={"message": "hi"}, headers=_cookie(demo_service))
        assert r.status_code == 503 and r.json()["detail"]["reason"] == "AUTH_UNAVAILABLE"
        demo_service.start()
        deadline = time.monotonic() + 5
        while (code := c.get("/me", headers=_cookie(demo_service)).status_code) == 503:
            assert time.monotonic() < deadline, "the app did not reach the restarted service"
            time.sleep(0.1)
        assert code == 200
