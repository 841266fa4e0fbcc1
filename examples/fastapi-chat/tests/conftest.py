"""Fixtures: the real better-auth-grpc binary (`cargo build --release` first; a missing one fails)."""

from __future__ import annotations

import os

os.environ.setdefault("GRPC_VERBOSITY", "ERROR")  # before grpc loads: no C-core chatter in the output

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


@pytest.fixture
def demo_service(binary: Path, tmp_path: Path) -> Iterator[LocalService]:
    """The embedded default (its own SQLite file and demo session), for one test."""
    with LocalService(binary, tmp_path / "svc") as svc:
        assert svc.session_token and svc.cookie_header
        yield svc
