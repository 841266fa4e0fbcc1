"""Runs a real better-auth-grpc binary for tests.

    with LocalService(find_binary(), workdir=tmp_path) as svc:    # embedded default: demo user
        AuthClient(svc.target).validate_token(svc.session_token)

With `env={"DATABASE_URL": ..., "BETTER_AUTH_SECRET": ..., ...}` it serves that database instead.
The environment of the test process is not passed on for the service's own settings (DATABASE_URL,
BETTER_AUTH_*, AUTH_SECRET, LISTEN_ADDR): only `env` sets them.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

BINARY_ENV = "BETTER_AUTH_GRPC_BIN"
_OWN_SETTINGS = ("DATABASE_URL", "BETTER_AUTH_", "AUTH_SECRET", "LISTEN_ADDR")


def find_binary(start: Path | None = None) -> Path:
    """$BETTER_AUTH_GRPC_BIN, else target/release/better-auth-grpc in the nearest enclosing
    directory that has a Cargo.toml. Raises FileNotFoundError saying how to build it."""
    explicit = os.environ.get(BINARY_ENV)
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise FileNotFoundError(f"{BINARY_ENV}={explicit} is not a file")
        return path
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / "Cargo.toml").is_file() and (directory / "proto").is_dir():
            path = directory / "target" / "release" / "better-auth-grpc"
            if not path.is_file():
                raise FileNotFoundError(
                    f"better-auth-grpc binary not found at {path}: run `cargo build --release` in {directory} "
                    f"(or set {BINARY_ENV})"
                )
            return path
    raise FileNotFoundError(f"no better-auth-grpc checkout above {here}: set {BINARY_ENV} to the binary")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class LocalService:
    """One better-auth-grpc process on 127.0.0.1:`port` (a free one by default), working in
    `workdir`. `start()` returns once it serves; `stop()` ends it (SIGTERM, then SIGKILL).
    It can be started again on the same port and directory (the demo data persists)."""

    def __init__(
        self,
        binary: Path,
        workdir: Path,
        *,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        self.binary = binary
        self.workdir = workdir
        self.port = port or free_port()
        self.args = args
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_SETTINGS)}
        self.env.update(env or {})
        self.env["LISTEN_ADDR"] = f"127.0.0.1:{self.port}"
        self.env.setdefault("BETTER_AUTH_GRPC_LOG", "info")
        self.process: subprocess.Popen[bytes] | None = None
        self.session_token: str | None = None
        self.cookie_header: str | None = None
        self._runs = 0

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def stdout_path(self) -> Path:
        return self.workdir / f"service-{self._runs}.out"

    @property
    def stderr_path(self) -> Path:
        return self.workdir / f"service-{self._runs}.err"

    def start(self, timeout: float = 60.0) -> LocalService:
        if self.process is not None:
            raise RuntimeError("already running")
        self._runs += 1
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(
                [str(self.binary), *self.args],
                cwd=self.workdir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._ready():
                return self
            if self.process.poll() is not None:
                code = self.process.returncode
                self.process = None
                raise RuntimeError(f"better-auth-grpc exited with {code} at start:\n{self._stderr_tail()}")
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"better-auth-grpc did not serve within {timeout:.0f}s:\n{self._stderr_tail()}")

    def stop(self, timeout: float = 10.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> LocalService:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _ready(self) -> bool:
        out = self.stdout_path.read_text(errors="replace")
        for line in out.splitlines():
            key, sep, value = line.partition(":")
            if sep and key == "session token":
                self.session_token = value.strip()
            elif sep and key == "cookie header":
                self.cookie_header = value.strip()
        if "serving gRPC" in self.stderr_path.read_text(errors="replace"):
            return True
        # The embedded default prints its banner, grpcurl lines last, once the port is bound.
        return self.cookie_header is not None and "GetSession" in out

    def _stderr_tail(self, lines: int = 20) -> str:
        return "\n".join(self.stderr_path.read_text(errors="replace").splitlines()[-lines:])
