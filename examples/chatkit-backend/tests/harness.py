"""Real Better Auth (tests/betterauth/server.mjs, the npm package pinned there, jwt and bearer plugins)
on a SQLite file that the real better-auth-grpc serves; users signed up through its HTTP API."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[3]
HARNESS = REPO / "tests" / "betterauth"
BASE_URL = "http://127.0.0.1:3000"  # Better Auth's configured origin (its real port is a free one)
COOKIE = "better-auth.session_token"
ORIGIN = {"Origin": BASE_URL}


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
    bearer: str  # the bearer plugin's set-auth-token (a signed session token)


def start_better_auth(workdir: Path) -> BetterAuth:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node not found: these tests run real Better Auth", pytrace=False)
    if not (HARNESS / "node_modules" / "better-auth").is_dir():
        pytest.fail(f"Better Auth is not installed: run `npm ci --prefix {HARNESS}`", pytrace=False)
    db = workdir / "app.sqlite"
    secret = secrets.token_urlsafe(48)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BETTER_AUTH_", "BA_"))}
    env.update(BA_DATABASE=str(db), BA_MIGRATE="1", BA_EXIT_WITH_STDIN="1", BA_PORT="0",
               BETTER_AUTH_SECRET=secret, BETTER_AUTH_URL=BASE_URL)
    with (workdir / "better-auth.err").open("wb") as stderr:
        process = subprocess.Popen([node, str(HARNESS / "server.mjs")], cwd=HARNESS, env=env,
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr)
    assert process.stdout is not None
    line: list[bytes] = []
    reader = threading.Thread(target=lambda: line.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(60)
    if not line or not line[0]:
        stop(process)
        pytest.fail(f"Better Auth did not start:\n{(workdir / 'better-auth.err').read_text()[-2000:]}", pytrace=False)
    ready = json.loads(line[0])
    assert ready["ready"] is True
    return BetterAuth(url=f"http://127.0.0.1:{ready['port']}", db=db, secret=secret, process=process)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            pipe.close()


def sign_up(ba: BetterAuth, name: str) -> SignedUp:
    email = f"{uuid.uuid4().hex[:12]}@example.com"
    r = httpx.post(f"{ba.url}/api/auth/sign-up/email", headers=ORIGIN,
                   json={"email": email, "password": "correct horse battery staple", "name": name})
    assert r.status_code == 200, r.text
    value = r.cookies.get(COOKIE)
    assert value, f"no {COOKIE} cookie in the sign-up answer"
    bearer = r.headers.get("set-auth-token")
    assert bearer, "the bearer plugin sets set-auth-token"
    return SignedUp(name=name, email=email, cookie=f"theme=dark; {COOKIE}={value}", bearer=bearer)


def jwt_of(ba: BetterAuth, user: SignedUp) -> str:
    """The front end's flow: `authClient.token()` is GET /api/auth/token with the session cookie."""
    r = httpx.get(f"{ba.url}/api/auth/token", headers={"Cookie": user.cookie, **ORIGIN})
    assert r.status_code == 200, r.text
    token: str = r.json()["token"]
    assert token.count(".") == 2
    return token


def sign_out(ba: BetterAuth, user: SignedUp) -> None:
    r = httpx.post(f"{ba.url}/api/auth/sign-out", headers={"Cookie": user.cookie, **ORIGIN})
    assert r.status_code == 200, r.text
