"""End to end with REAL Better Auth: users sign up with Better Auth (tests/betterauth/server.mjs, the npm
package pinned there, jwt and bearer plugins) on a SQLite file; better-auth-grpc serves the same file;
the chat app is driven with each credential Better Auth hands out.

Needs node and `npm ci --prefix tests/betterauth`; a missing one fails the run.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from app import create_app
from better_auth_grpc import AuthClient
from better_auth_grpc.testing import LocalService

REPO = Path(__file__).resolve().parents[3]
HARNESS = REPO / "tests" / "betterauth"
BASE_URL = "http://127.0.0.1:3000"  # Better Auth's configured origin (its real port is a free one)
COOKIE = "better-auth.session_token"


@dataclass
class BetterAuth:
    url: str
    db: Path
    secret: str
    process: subprocess.Popen[bytes]


@dataclass
class SignedUp:
    name: str
    email: str
    cookie: str  # a whole Cookie header, as a browser sends it
    bearer: str  # the bearer plugin's set-auth-token


def _start_better_auth(workdir: Path, database: str | None = None) -> BetterAuth:
    """Better Auth on a SQLite file in `workdir`, or on `database` (a postgres:// URL)."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node not found: the end-to-end test runs real Better Auth", pytrace=False)
    if not (HARNESS / "node_modules" / "better-auth").is_dir():
        pytest.fail(f"Better Auth is not installed: run `npm ci --prefix {HARNESS}`", pytrace=False)
    db = workdir / "app.sqlite"
    secret = secrets.token_urlsafe(48)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BETTER_AUTH_", "BA_"))}
    env.update(
        BA_DATABASE=database or str(db),
        BA_MIGRATE="1",
        BA_EXIT_WITH_STDIN="1",
        BA_PORT="0",
        BETTER_AUTH_SECRET=secret,
        BETTER_AUTH_URL=BASE_URL,
    )
    with (workdir / "better-auth.err").open("wb") as stderr:
        process = subprocess.Popen(
            [node, str(HARNESS / "server.mjs")], cwd=HARNESS, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr
        )
    assert process.stdout is not None
    line: list[bytes] = []
    reader = threading.Thread(target=lambda: line.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(60)
    if not line or not line[0]:
        _stop(process)
        pytest.fail(f"Better Auth did not start:\n{(workdir / 'better-auth.err').read_text()[-2000:]}", pytrace=False)
    ready = json.loads(line[0])
    assert ready["ready"] is True
    return BetterAuth(url=f"http://127.0.0.1:{ready['port']}", db=db, secret=secret, process=process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            pipe.close()


@pytest.fixture(scope="module")
def better_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BetterAuth]:
    ba = _start_better_auth(tmp_path_factory.mktemp("better-auth"))
    try:
        yield ba
    finally:
        _stop(ba.process)


def _service(binary: Path, workdir: Path, ba: BetterAuth) -> LocalService:
    env = {"DATABASE_URL": f"sqlite://{ba.db}", "BETTER_AUTH_SECRET": ba.secret, "BETTER_AUTH_URL": BASE_URL}
    return LocalService(binary, workdir, env=env)


@pytest.fixture(scope="module")
def service(binary: Path, better_auth: BetterAuth, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalService]:
    with _service(binary, tmp_path_factory.mktemp("svc"), better_auth) as svc:
        yield svc


@pytest.fixture(scope="module")
def http(service: LocalService) -> Iterator[TestClient]:
    with TestClient(create_app(service.target)) as c:
        yield c


def _origin() -> dict[str, str]:
    return {"Origin": BASE_URL}


def sign_up(ba: BetterAuth, name: str) -> SignedUp:
    email = f"{uuid.uuid4().hex[:12]}@example.com"
    r = httpx.post(
        f"{ba.url}/api/auth/sign-up/email",
        json={"email": email, "password": "correct horse battery staple", "name": name},
        headers=_origin(),
    )
    assert r.status_code == 200, r.text
    value = r.cookies.get(COOKIE)
    assert value, f"no {COOKIE} cookie in the sign-up answer"
    # httpx hands the cookie value back as sent (URL-encoded), which is what a browser echoes.
    bearer = r.headers.get("set-auth-token")
    assert bearer, "the bearer plugin sets set-auth-token"
    return SignedUp(name=name, email=email, cookie=f"theme=dark; {COOKIE}={value}", bearer=bearer)


@pytest.fixture(scope="module")
def alice(better_auth: BetterAuth) -> SignedUp:
    return sign_up(better_auth, "Alice Example")


def jwt_of(ba: BetterAuth, user: SignedUp) -> str:
    r = httpx.get(f"{ba.url}/api/auth/token", headers={"Cookie": user.cookie, **_origin()})
    assert r.status_code == 200, r.text
    token: str = r.json()["token"]
    assert token.count(".") == 2
    return token


def test_cookie_from_better_auth(http: TestClient, alice: SignedUp) -> None:
    r = http.get("/me", headers={"Cookie": alice.cookie})
    assert r.status_code == 200, r.text
    me = r.json()
    assert me["name"] == alice.name and me["email"] == alice.email
    assert me["credential"] == "SESSION_COOKIE" and me["session_id"]


def test_bearer_session_token_from_better_auth(http: TestClient, alice: SignedUp) -> None:
    r = http.post("/chat", json={"message": "hi"}, headers={"Authorization": f"Bearer {alice.bearer}"})
    assert r.status_code == 200, r.text
    assert r.json()["reply"] == "Alice Example: hi"
    me = http.get("/me", headers={"Authorization": f"Bearer {alice.bearer}"}).json()
    assert me["credential"] == "SIGNED_SESSION_TOKEN"
    assert me["session_id"] == http.get("/me", headers={"Cookie": alice.cookie}).json()["session_id"]


def test_same_session_as_better_auths_get_session(service: LocalService, better_auth: BetterAuth, alice: SignedUp) -> None:
    theirs = httpx.get(f"{better_auth.url}/api/auth/get-session", headers={"Cookie": alice.cookie, **_origin()}).json()
    with AuthClient(service.target) as c:
        ours = c.get_session(alice.cookie, disable_refresh=True)
    assert ours.session.id == theirs["session"]["id"] and ours.user.id == theirs["user"]["id"]
    assert ours.user.email == theirs["user"]["email"] == alice.email


def test_jwt_from_better_auths_jwt_plugin(http: TestClient, better_auth: BetterAuth, alice: SignedUp) -> None:
    token = jwt_of(better_auth, alice)
    r = http.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    me = r.json()
    assert me["credential"] == "JWT" and me["session_id"] is None
    assert me["email"] == alice.email and me["name"] == alice.name
    assert http.post("/chat", json={"message": "yo"}, headers={"Authorization": f"Bearer {token}"}).json()["reply"] == "Alice Example: yo"


def test_tampered_jwt_is_401(http: TestClient, better_auth: BetterAuth, alice: SignedUp) -> None:
    head, payload, sig = jwt_of(better_auth, alice).split(".")
    forged = f"{head}.{payload}.{('A' if sig[0] != 'A' else 'B')}{sig[1:]}"
    r = http.get("/me", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401 and r.json()["detail"]["reason"] == "JWT_BAD_SIGNATURE"


def _expire_sessions_of(ba: BetterAuth, email: str) -> None:
    with sqlite3.connect(ba.db) as db:
        (current,) = db.execute(
            'SELECT s."expiresAt" FROM session s JOIN "user" u ON u.id = s."userId" WHERE u.email = ?', (email,)
        ).fetchone()
        past: str | int = "2020-01-01T00:00:00.000Z" if isinstance(current, str) else 1577836800000
        n = db.execute(
            'UPDATE session SET "expiresAt" = ? WHERE "userId" = (SELECT id FROM "user" WHERE email = ?)', (past, email)
        ).rowcount
        assert n == 1


def _refused(http: TestClient, headers: dict[str, str]) -> httpx.Response:
    """The first answer that is not 200: the service's session cache follows Better Auth's commits
    within its 25 ms SQLite data_version poll, not at once; allow a second."""
    start = time.monotonic()
    while (r := http.get("/me", headers=headers)).status_code == 200:
        assert time.monotonic() - start < 1.0, "still let through a second after the change"
        time.sleep(0.005)
    return r


def test_expired_session_is_401_session_expired(http: TestClient, better_auth: BetterAuth) -> None:
    bob = sign_up(better_auth, "Bob Expired")
    assert http.get("/me", headers={"Cookie": bob.cookie}).status_code == 200
    _expire_sessions_of(better_auth, bob.email)
    for headers in ({"Cookie": bob.cookie}, {"Authorization": f"Bearer {bob.bearer}"}):
        r = _refused(http, headers)
        assert r.status_code == 401 and r.json()["detail"]["reason"] == "SESSION_EXPIRED", r.text


def test_signed_out_session_is_401_session_not_found(http: TestClient, better_auth: BetterAuth) -> None:
    carol = sign_up(better_auth, "Carol Signed-Out")
    assert http.get("/me", headers={"Authorization": f"Bearer {carol.bearer}"}).status_code == 200
    r = httpx.post(f"{better_auth.url}/api/auth/sign-out", headers={"Cookie": carol.cookie, **_origin()})
    assert r.status_code == 200, r.text
    for headers in ({"Cookie": carol.cookie}, {"Authorization": f"Bearer {carol.bearer}"}):
        r = _refused(http, headers)
        assert r.status_code == 401 and r.json()["detail"]["reason"] == "SESSION_NOT_FOUND", r.text


def test_cookie_signed_with_another_secret_is_401_bad_signature(http: TestClient, alice: SignedUp) -> None:
    token = alice.bearer.split(".")[0]
    r = http.get("/me", headers={"Cookie": f"{COOKIE}={token}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D"})
    assert r.status_code == 401 and r.json()["detail"]["reason"] == "BAD_SIGNATURE"


def test_service_stopped_is_503_then_recovers(binary: Path, better_auth: BetterAuth, alice: SignedUp, tmp_path: Path) -> None:
    svc = _service(binary, tmp_path / "svc", better_auth).start()
    try:
        with TestClient(create_app(svc.target)) as c:
            assert c.get("/me", headers={"Cookie": alice.cookie}).status_code == 200
            svc.stop()
            r = c.get("/me", headers={"Cookie": alice.cookie})
            assert r.status_code == 503 and r.json()["detail"]["reason"] == "AUTH_UNAVAILABLE"
            svc.start()
            deadline = time.monotonic() + 5
            while (code := c.get("/me", headers={"Cookie": alice.cookie}).status_code) == 503:
                assert time.monotonic() < deadline, "the app did not reach the restarted service"
                time.sleep(0.1)
            assert code == 200
    finally:
        svc.stop()


def test_local_cache_refuses_a_sign_out_within_a_second(service: LocalService, better_auth: BetterAuth) -> None:
    """The guard's local cache answers repeats in-process; Better Auth's /sign-out empties it (SQLite
    feed: FLUSH within 25 ms of the commit) and the next request is refused."""
    dave = sign_up(better_auth, "Dave Cached")
    app = create_app(service.target, local_cache=True)
    headers = {"Authorization": f"Bearer {dave.bearer}"}
    with TestClient(app) as c:
        client = app.state.guard.client
        deadline = time.monotonic() + 5
        while not ((s := client.local_cache_stats()) and s.live and s.entries):
            assert time.monotonic() < deadline, f"the local cache did not fill: {s}"
            assert c.get("/me", headers=headers).status_code == 200
        for _ in range(5):  # a FLUSH from Better Auth's sign-up commit may land in between
            before = client.local_cache_stats().hits
            assert c.get("/me", headers=headers).status_code == 200
            if client.local_cache_stats().hits > before:
                break
        else:
            raise AssertionError("the repeat was not answered locally")
        r = httpx.post(f"{better_auth.url}/api/auth/sign-out", headers={"Cookie": dave.cookie, **_origin()})
        assert r.status_code == 200, r.text
        start = time.monotonic()
        while (r := c.get("/me", headers=headers)).status_code == 200:
            assert time.monotonic() - start < 1.0, "a signed-out session was still let through after 1 s"
        took = time.monotonic() - start
    assert r.status_code == 401 and r.json()["detail"]["reason"] == "SESSION_NOT_FOUND"
    print(f"\nlocal cache: Better Auth sign-out refused {took * 1000:.1f} ms after /sign-out returned")
