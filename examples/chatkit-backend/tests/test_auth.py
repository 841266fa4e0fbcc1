"""Credentials at the ChatKit endpoint: none or a tampered JWT → 401 with the reason, an expired JWT →
401 JWT_EXPIRED, a signed-out session's cookie refused at once while its JWT lives to `exp`, and the
auth service down → 503 with the ChatKit request not processed."""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from pathlib import Path

from fastapi.testclient import TestClient

import chatkit_requests as ck
from app import create_app
from better_auth_grpc import AuthClient
from better_auth_grpc.testing import LocalService
from conftest import API_KEY, new_service
from harness import BetterAuth, SignedUp, jwt_of, sign_out, sign_up


def test_no_credential_is_401_empty(http: TestClient) -> None:
    r = ck.post(http, ck.listing(), {})
    assert r.status_code == 401 and ck.reason(r) == "EMPTY", r.text
    assert r.headers["www-authenticate"] == "Bearer"


def test_tampered_jwt_is_401_bad_signature(http: TestClient, alice_jwt: dict[str, str]) -> None:
    head, payload, sig = alice_jwt["Authorization"].removeprefix("Bearer ").split(".")
    forged = f"{head}.{payload}.{('A' if sig[0] != 'A' else 'B')}{sig[1:]}"
    r = ck.post(http, ck.create("hi"), {"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401 and ck.reason(r) == "JWT_BAD_SIGNATURE", r.text


def test_expired_jwt_is_401_jwt_expired(
    http: TestClient, service: LocalService, alice: SignedUp, alice_jwt: dict[str, str]
) -> None:
    # A JWT as the jwt plugin mints it (same keys), living one second instead of fifteen minutes.
    with AuthClient(service.target, api_key=API_KEY) as c:
        issued = c.issue_token(session_token=alice.bearer, lifetime_seconds=1)
    assert issued.expires_at is not None
    auth = {"Authorization": f"Bearer {issued.token}"}
    assert ck.post(http, ck.listing(), auth).status_code == 200
    time.sleep(max(0.0, (issued.expires_at - dt.datetime.now(dt.timezone.utc)).total_seconds()) + 0.05)
    r = ck.post(http, ck.listing(), auth)
    assert r.status_code == 401 and ck.reason(r) == "JWT_EXPIRED", r.text


def test_signed_out_cookie_is_refused_at_once_its_jwt_lives_to_exp(http: TestClient, better_auth: BetterAuth) -> None:
    dora = sign_up(better_auth, "Dora Leaving")
    token = {"Authorization": f"Bearer {jwt_of(better_auth, dora)}"}
    cookie = {"Cookie": dora.cookie}
    thread = ck.of_type(ck.events(ck.post(http, ck.create("before"), cookie)), "thread.created")[0]["thread"]
    sign_out(better_auth, dora)
    r = ck.post(http, ck.listing(), cookie)
    assert r.status_code == 401 and ck.reason(r) == "SESSION_NOT_FOUND", r.text
    # Stateless, as Better Auth's own JWTs: valid until exp although the session is gone.
    r = ck.post(http, ck.listing(), token)
    assert r.status_code == 200 and [t["id"] for t in r.json()["data"]] == [thread["id"]]


def _threads_in(db: Path) -> int:
    with sqlite3.connect(db) as c:
        (n,) = c.execute("SELECT count(*) FROM threads").fetchone()
        return int(n)


def test_auth_service_down_is_503_and_nothing_is_processed(
    binary: Path, better_auth: BetterAuth, alice: SignedUp, tmp_path: Path
) -> None:
    svc = new_service(binary, tmp_path / "svc", better_auth).start()
    db = tmp_path / "chatkit.sqlite"
    try:
        with TestClient(create_app(svc.target, db_path=db)) as c:
            cookie = {"Cookie": alice.cookie}
            assert ck.events(ck.post(c, ck.create("while up"), cookie))
            assert _threads_in(db) == 1
            svc.stop()
            r = ck.post(c, ck.create("while down"), cookie)
            assert r.status_code == 503 and ck.reason(r) == "AUTH_UNAVAILABLE", r.text
            assert r.headers["retry-after"] == "1"
            assert _threads_in(db) == 1, "the ChatKit request must not run without a verdict"
    finally:
        svc.stop()
