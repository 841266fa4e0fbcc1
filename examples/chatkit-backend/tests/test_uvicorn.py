"""The README's run command: uvicorn serving app:app from this directory, driven over real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import chatkit_requests as ck
from better_auth_grpc.testing import LocalService, free_port
from harness import SignedUp

EXAMPLE = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def served(service: LocalService, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One uvicorn for the module: importing ChatKit's SDK takes seconds on a busy machine."""
    tmp_path = tmp_path_factory.mktemp("uvicorn")
    port = free_port()
    env = {**os.environ, "AUTH_GRPC_TARGET": service.target, "CHATKIT_DB": str(tmp_path / "chatkit.sqlite")}
    with (tmp_path / "uvicorn.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app:app", "--port", str(port)], cwd=EXAMPLE, env=env, stdout=log, stderr=log
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(url, process, tmp_path / "uvicorn.log")
        yield url
    finally:
        process.terminate()
        process.wait(10)


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120  # a loaded CI machine imports slowly
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"uvicorn exited:\n{log.read_text()[-2000:]}", pytrace=False)
        try:
            httpx.post(f"{url}/chatkit", content=b"{}")
            return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail(f"uvicorn did not serve:\n{log.read_text()[-2000:]}", pytrace=False)


def test_served_by_uvicorn_streams_sse(served: str, alice_jwt: dict[str, str]) -> None:
    headers = {"content-type": "application/json", **alice_jwt}
    with httpx.stream("POST", f"{served}/chatkit", content=json.dumps(ck.create("over the wire")), headers=headers) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        evs = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: ")]
    assert ck.assistant_text(evs) == "Alice Example, you said: over the wire"
    assert httpx.post(f"{served}/chatkit", content=json.dumps(ck.listing())).status_code == 401


def test_cookie_over_the_wire(served: str, alice: SignedUp) -> None:
    headers = {"content-type": "application/json", "Cookie": alice.cookie}
    r = httpx.post(f"{served}/chatkit", content=json.dumps(ck.create("by cookie")), headers=headers)
    thread_id = ck.of_type(ck.events(r), "thread.created")[0]["thread"]["id"]
    r = httpx.post(f"{served}/chatkit", content=json.dumps(ck.listing()), headers=headers)
    assert r.status_code == 200 and thread_id in [t["id"] for t in r.json()["data"]]
