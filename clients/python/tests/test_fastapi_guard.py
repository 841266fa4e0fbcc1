"""better_auth_grpc.fastapi: the guard in a minimal app, against the real service."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from starlette.requests import Request

from better_auth_grpc import AuthClient, CredentialKind
from better_auth_grpc.fastapi import AuthenticatedUser, BetterAuthGuard
from better_auth_grpc.testing import LocalService, free_port


def _request(headers: dict[str, str]) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": raw})


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"Authorization": "Bearer abc.def"}, "abc.def"),
        ({"Authorization": "bearer  abc "}, "abc"),
        ({"Authorization": "Bearer "}, None),
        ({"Authorization": "Basic dXNlcjpwdw=="}, None),
        ({"Cookie": "theme=dark; better-auth.session_token=t.s"}, "theme=dark; better-auth.session_token=t.s"),
        ({"Cookie": "__Secure-better-auth.session_token=t.s"}, "__Secure-better-auth.session_token=t.s"),
        ({"Cookie": "theme=dark"}, None),
        ({"Cookie": "x-better-auth.session_token=t"}, None),
        ({"Authorization": "Bearer b", "Cookie": "better-auth.session_token=c"}, "b"),
        ({"Authorization": "Basic x", "Cookie": "better-auth.session_token=c"}, "better-auth.session_token=c"),
    ],
)
def test_credential_comes_from_bearer_then_session_cookie(headers: dict[str, str], expected: str | None) -> None:
    assert BetterAuthGuard().credential(_request(headers)) == expected


def test_cookie_names_and_sources_are_configurable() -> None:
    guard = BetterAuthGuard(cookie_names=["myapp.session_token"], accept_bearer=False)
    assert guard.credential(_request({"Cookie": "myapp.session_token=v"})) == "myapp.session_token=v"
    assert guard.credential(_request({"Cookie": "better-auth.session_token=v"})) is None
    assert guard.credential(_request({"Authorization": "Bearer b"})) is None


def _app(guard: BetterAuthGuard) -> FastAPI:
    app = FastAPI()

    @app.get("/private")
    async def private(user: AuthenticatedUser = Depends(guard.require_user)) -> dict[str, str]:
        return {"id": user.id, "email": user.user.email, "kind": user.kind.name}

    @app.get("/public")
    async def public(user: AuthenticatedUser | None = Depends(guard.optional_user)) -> dict[str, str | None]:
        return {"email": user.user.email if user else None}

    return app


@pytest.fixture(scope="module")
def http(service: LocalService) -> Iterator[TestClient]:
    with TestClient(_app(BetterAuthGuard(service.target))) as c:
        yield c


def test_bearer_and_cookie_get_through(http: TestClient, token: str, cookie: str, signed: str) -> None:
    for headers, kind in [
        ({"Authorization": f"Bearer {token}"}, CredentialKind.SESSION_TOKEN),
        ({"Authorization": f"Bearer {signed}"}, CredentialKind.SIGNED_SESSION_TOKEN),
        ({"Cookie": f"theme=dark; {cookie}"}, CredentialKind.SESSION_COOKIE),
    ]:
        r = http.get("/private", headers=headers)
        assert r.status_code == 200, r.text
        assert r.json()["email"] == "demo@example.com" and r.json()["kind"] == kind.name


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "EMPTY"),
        ({"Cookie": "theme=dark"}, "EMPTY"),
        ({"Authorization": "Bearer " + "A" * 32}, "SESSION_NOT_FOUND"),
        ({"Authorization": "Bearer not a token"}, "MALFORMED"),
        ({"Cookie": "better-auth.session_token=" + "A" * 32 + "." + "A" * 43 + "%3D"}, "BAD_SIGNATURE"),
    ],
)
def test_missing_or_invalid_is_401_with_the_reason(http: TestClient, headers: dict[str, str], reason: str) -> None:
    r = http.get("/private", headers=headers)
    assert r.status_code == 401
    detail = r.json()["detail"]
    assert detail["reason"] == reason and detail["message"]
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert http.get("/public", headers=headers).json() == {"email": None}


def test_optional_user_sees_a_signed_in_user(http: TestClient, cookie: str) -> None:
    assert http.get("/public", headers={"Cookie": cookie}).json() == {"email": "demo@example.com"}


def test_auth_service_down_is_503_not_401() -> None:
    guard = BetterAuthGuard(f"127.0.0.1:{free_port()}", timeout=1.0)
    with TestClient(_app(guard)) as c:
        for path in ("/private", "/public"):
            r = c.get(path, headers={"Authorization": "Bearer " + "A" * 32})
            assert r.status_code == 503
            assert r.json()["detail"]["reason"] == "AUTH_UNAVAILABLE"
            assert r.headers["retry-after"] == "1"
        assert c.get("/public").json() == {"email": None}, "no credential needs no auth service"


def test_a_jwt_gets_through_without_a_session(jwt_service: LocalService) -> None:
    assert jwt_service.session_token
    with AuthClient(jwt_service.target, api_key="svc-key-0123456789") as c:
        plain = c.issue_token(session_token=jwt_service.session_token).token
        for_chat = c.issue_token(session_token=jwt_service.session_token, audience="chat").token
    app = FastAPI()
    chat_guard = BetterAuthGuard(jwt_service.target, audience="chat")

    @app.get("/jwt")
    async def jwt(user: AuthenticatedUser = Depends(chat_guard.require_user)) -> dict[str, object]:
        return {"kind": user.kind.name, "session": user.session is not None, "sub": user.claims.get("sub"), "id": user.id}

    with TestClient(app) as http:
        ok = http.get("/jwt", headers={"Authorization": f"Bearer {for_chat}"})
        assert ok.status_code == 200, ok.text
        body = ok.json()
        assert body["kind"] == "JWT" and body["session"] is False and body["sub"] == body["id"]
        wrong_audience = http.get("/jwt", headers={"Authorization": f"Bearer {plain}"})
        assert wrong_audience.status_code == 401
        assert wrong_audience.json()["detail"]["reason"] == "JWT_BAD_AUDIENCE"


def test_the_guard_with_local_cache_refuses_a_deleted_session_within_a_second(own_service: LocalService) -> None:
    token = own_service.session_token
    assert token
    guard = BetterAuthGuard(own_service.target, local_cache=True)
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(_app(guard)) as http:
        deadline = time.monotonic() + 5
        while not ((s := guard.client.local_cache_stats()) and s.live and s.entries):
            assert time.monotonic() < deadline, f"the guard's local cache did not fill: {s}"
            assert http.get("/private", headers=headers).status_code == 200
        for _ in range(5):  # a FLUSH from an earlier commit may land between two requests
            before = guard.client.local_cache_stats()
            assert http.get("/private", headers=headers).status_code == 200
            after = guard.client.local_cache_stats()
            if before is not None and after is not None and after.hits == before.hits + 1:
                break
        else:
            raise AssertionError("the repeat was not answered from the guard's local cache")
        with sqlite3.connect(own_service.workdir / "better-auth-grpc.sqlite") as db:
            db.execute("DELETE FROM session WHERE token = ?", (token,))
        db.close()
        start = time.monotonic()
        while (r := http.get("/private", headers=headers)).status_code == 200:
            assert time.monotonic() - start < 1.0, "the guard still let a deleted session through"
        took = time.monotonic() - start
        assert r.status_code == 401 and r.json()["detail"]["reason"] == "SESSION_NOT_FOUND"
    print(f"\nguard with local cache: deleted session refused after {took * 1000:.1f} ms")
