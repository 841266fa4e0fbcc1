"""Fixtures: real Better Auth, the real better-auth-grpc binary (`cargo build --release` first; a
missing one fails) serving Better Auth's database, and the app on its own SQLite file."""

from __future__ import annotations

import os

os.environ.setdefault("GRPC_VERBOSITY", "ERROR")  # before grpc loads: no C-core chatter in the output

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app import create_app
from better_auth_grpc.testing import LocalService, find_binary
from harness import BASE_URL, REPO, BetterAuth, SignedUp, jwt_of, sign_up, start_better_auth, stop

#: An IssueToken caller, only to mint a JWT that expires within a second (Better Auth's last 15 min).
API_KEY = "chatkit-tests-key-0123456789"


@pytest.fixture(scope="session")
def binary() -> Path:
    try:
        return find_binary(REPO)
    except FileNotFoundError as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture(scope="session")
def better_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BetterAuth]:
    ba = start_better_auth(tmp_path_factory.mktemp("better-auth"))
    try:
        yield ba
    finally:
        stop(ba.process)


def new_service(binary: Path, workdir: Path, ba: BetterAuth) -> LocalService:
    """better-auth-grpc on Better Auth's database, secret and URL, with one IssueToken caller."""
    workdir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(API_KEY.encode()).hexdigest()
    callers = workdir / "callers.toml"
    callers.write_text(f'[[callers]]\nname = "tests"\nkey_sha256 = "{digest}"\nallow_user_id = false\naudiences = []\n')
    env = {"DATABASE_URL": f"sqlite://{ba.db}", "BETTER_AUTH_SECRET": ba.secret, "BETTER_AUTH_URL": BASE_URL}
    return LocalService(binary, workdir, env=env, args=("--config", str(callers)))


@pytest.fixture(scope="session")
def service(binary: Path, better_auth: BetterAuth, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalService]:
    with new_service(binary, tmp_path_factory.mktemp("svc"), better_auth) as svc:
        yield svc


@pytest.fixture(scope="session")
def http(service: LocalService, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with TestClient(create_app(service.target, db_path=tmp_path_factory.mktemp("app") / "chatkit.sqlite")) as c:
        yield c


@pytest.fixture(scope="session")
def alice(better_auth: BetterAuth) -> SignedUp:
    return sign_up(better_auth, "Alice Example")


@pytest.fixture(scope="session")
def bob(better_auth: BetterAuth) -> SignedUp:
    return sign_up(better_auth, "Bob Other")


@pytest.fixture(scope="session")
def alice_jwt(better_auth: BetterAuth, alice: SignedUp) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt_of(better_auth, alice)}"}


@pytest.fixture(scope="session")
def bob_jwt(better_auth: BetterAuth, bob: SignedUp) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt_of(better_auth, bob)}"}
