"""End to end on PostgreSQL with the change feed: real Better Auth (tests/betterauth/server.mjs) on a
throwaway cluster, `better-auth-grpc migrate --change-feed` (the triggers), the service, and the chat
app's guard with its local cache. A sign-out through Better Auth, and a user deleted by SQL, are
refused within a measured bound.

Needs PostgreSQL's server binaries (`initdb`, `pg_ctl` on PATH or in /usr/lib/postgresql/*/bin; run
as the `postgres` user when the tests run as root), `psql`, node and `npm ci --prefix tests/betterauth`.
A missing one fails the run.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from test_e2e_better_auth import BASE_URL, BetterAuth, SignedUp, _origin, _start_better_auth, _stop, sign_up

from app import create_app
from better_auth_grpc import AsyncAuthClient
from better_auth_grpc.testing import LocalService, free_port

BOUND = 1.0


def _tool(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))), None)
    if found is None:
        pytest.fail(f"{name} not found: this test runs a real PostgreSQL (apt-get install postgresql)", pytrace=False)
    return found


def _as_postgres(args: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@dataclass
class Cluster:
    data: Path
    url: str


@pytest.fixture(scope="module")
def postgres() -> Iterator[Cluster]:
    initdb, pg_ctl = _tool("initdb"), _tool("pg_ctl")
    # Not under pytest's tmp_path: the postgres user cannot reach root's 0700 directories.
    root = Path(tempfile.mkdtemp(prefix="fastapi-chat-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    port = free_port()

    def run(args: list[str]) -> None:
        done = subprocess.run(_as_postgres(args), capture_output=True, text=True)
        assert done.returncode == 0, f"{args[0]} failed:\n{done.stdout}\n{done.stderr}"

    run([initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
    opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off"
    run([pg_ctl, "-D", str(data), "-o", opts, "-l", str(root / "server.log"), "-w", "start"])
    try:
        yield Cluster(data=data, url=f"postgres://postgres@127.0.0.1:{port}/postgres")
    finally:
        subprocess.run(_as_postgres([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def _sql(cluster: Cluster, statement: str) -> str:
    done = subprocess.run(
        [_tool("psql"), cluster.url, "-v", "ON_ERROR_STOP=1", "-Atc", statement], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture(scope="module")
def better_auth(postgres: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BetterAuth]:
    ba = _start_better_auth(tmp_path_factory.mktemp("better-auth-pg"), postgres.url)
    try:
        yield ba
    finally:
        _stop(ba.process)


@pytest.fixture(scope="module")
def service(
    binary: Path, postgres: Cluster, better_auth: BetterAuth, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalService]:
    env = {"DATABASE_URL": postgres.url, "BETTER_AUTH_SECRET": better_auth.secret, "BETTER_AUTH_URL": BASE_URL}
    migrate = subprocess.run(
        [str(binary), "migrate", "--change-feed"], env={**os.environ, **env}, capture_output=True, text=True
    )
    assert migrate.returncode == 0, migrate.stderr
    with LocalService(binary, tmp_path_factory.mktemp("svc-pg"), env=env) as svc:
        yield svc


def _warm(c: TestClient, client: AsyncAuthClient, headers: dict[str, str]) -> None:
    """Until the guard's local cache is LIVE and holds the answer, then one answer from it."""
    stats = client.local_cache_stats
    deadline = time.monotonic() + 5
    while not ((s := stats()) and s.live and s.entries):
        assert time.monotonic() < deadline, f"the local cache did not fill: {s}"
        assert c.get("/me", headers=headers).status_code == 200
    assert c.get("/me", headers=headers).status_code == 200
    assert (after := stats()) is not None and after.hits > s.hits, "the repeat was not answered locally"


def _refused_within(c: TestClient, headers: dict[str, str], start: float) -> tuple[httpx.Response, float]:
    """Polls from the moment the change committed (`start`); the refusal and the seconds it took."""
    while (r := c.get("/me", headers=headers)).status_code == 200:
        assert time.monotonic() - start < BOUND, f"still let through {BOUND} s after the change"
    return r, time.monotonic() - start


def _cached_app(service: LocalService) -> tuple[TestClient, AsyncAuthClient]:
    app = create_app(service.target, local_cache=True)
    client: AsyncAuthClient = app.state.guard.client
    return TestClient(app), client


def test_sign_out_through_better_auth_is_refused_by_the_local_cache(service: LocalService, better_auth: BetterAuth) -> None:
    erin = sign_up(better_auth, "Erin Postgres")
    headers = {"Authorization": f"Bearer {erin.bearer}"}
    http, client = _cached_app(service)
    with http as c:
        _warm(c, client, headers)
        r = httpx.post(f"{better_auth.url}/api/auth/sign-out", headers={"Cookie": erin.cookie, **_origin()})
        assert r.status_code == 200, r.text
        refused, took = _refused_within(c, headers, time.monotonic())
    assert refused.status_code == 401 and refused.json()["detail"]["reason"] == "SESSION_NOT_FOUND"
    print(f"\npostgres + triggers, local cache: sign-out refused {took * 1000:.1f} ms after /sign-out returned")


def test_a_deleted_user_is_refused_by_the_local_cache(service: LocalService, better_auth: BetterAuth, postgres: Cluster) -> None:
    frank: SignedUp = sign_up(better_auth, "Frank Deleted")
    headers = {"Cookie": frank.cookie}
    http, client = _cached_app(service)
    with http as c:
        _warm(c, client, headers)
        _sql(postgres, f"DELETE FROM \"user\" WHERE email = '{frank.email}'")
        refused, took = _refused_within(c, headers, time.monotonic())
    assert refused.status_code == 401
    print(f"\npostgres + triggers, local cache: deleted user refused {took * 1000:.1f} ms after the DELETE committed")
