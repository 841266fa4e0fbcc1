"""Fixtures: the real better-auth-grpc binary (target/release), started in a temporary directory.

The binary must have been built (`cargo build --release`); a missing one fails the run, it never skips.
"""

from __future__ import annotations

import os

os.environ.setdefault("GRPC_VERBOSITY", "ERROR")  # before grpc loads: no C-core chatter in the output

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from better_auth_grpc.testing import LocalService, find_binary

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def binary() -> Path:
    try:
        return find_binary(REPO)
    except FileNotFoundError as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture(scope="session")
def service(binary: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalService]:
    """The embedded default (SQLite file, demo user with a live session), shared by the module's tests."""
    with LocalService(binary, tmp_path_factory.mktemp("svc")) as svc:
        assert svc.session_token and svc.cookie_header, "the service printed no demo credentials"
        yield svc


@pytest.fixture
def own_service(binary: Path, tmp_path: Path) -> Iterator[LocalService]:
    """A service of the test's own, which it may stop and start."""
    svc = LocalService(binary, tmp_path / "svc").start()
    try:
        yield svc
    finally:
        svc.stop()


@pytest.fixture
def token(service: LocalService) -> str:
    assert service.session_token
    return service.session_token


@pytest.fixture
def cookie(service: LocalService) -> str:
    assert service.cookie_header
    return service.cookie_header


@pytest.fixture
def signed(cookie: str) -> str:
    """The cookie's value: "<token>.<signature>", URL-encoded as Better Auth sets it."""
    return cookie.split("=", 1)[1]


JWT_ORIGIN = "http://127.0.0.1:3000"
CALLER_KEYS = {"svc": "svc-key-0123456789", "limited": "limited-key-0123456789"}


def _sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@pytest.fixture(scope="session")
def jwt_service(binary: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalService]:
    """JWTs on (BETTER_AUTH_URL set) and two IssueToken callers: "svc" (user ids, audience "chat")
    and "limited" (neither)."""
    work = tmp_path_factory.mktemp("jwt-svc")
    (work / "callers.toml").write_text(
        f'[[callers]]\nname = "svc"\nkey_sha256 = "{_sha(CALLER_KEYS["svc"])}"\nallow_user_id = true\naudiences = ["chat"]\n\n'
        f'[[callers]]\nname = "limited"\nkey_sha256 = "{_sha(CALLER_KEYS["limited"])}"\nallow_user_id = false\naudiences = []\n'
    )
    svc = LocalService(binary, work, env={"BETTER_AUTH_URL": JWT_ORIGIN}, args=("--config", str(work / "callers.toml")))
    with svc:
        yield svc
