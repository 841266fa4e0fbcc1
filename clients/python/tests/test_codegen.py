"""The checked-in stubs and enums match proto/auth/v1/auth.proto."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from better_auth_grpc import CredentialKind, Reason
from better_auth_grpc._proto import auth_pb2

CLIENT = Path(__file__).resolve().parents[1]


def _codegen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("codegen", CLIENT / "codegen.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["codegen"] = module
    spec.loader.exec_module(module)
    return module


def test_checked_in_stubs_match_a_fresh_generation(tmp_path: Path) -> None:
    codegen = _codegen()
    fresh = codegen.generate(tmp_path)
    assert [p.name for p in fresh] == list(codegen.GENERATED)
    stale = [p.name for p in fresh if p.read_bytes() != (codegen.OUT_DIR / p.name).read_bytes()]
    assert not stale, f"stubs differ from proto/auth/v1/auth.proto: run clients/python/regen.sh ({stale})"


def test_generated_descriptor_keeps_the_proto_file_name() -> None:
    assert auth_pb2.DESCRIPTOR.name == "auth/v1/auth.proto"
    assert auth_pb2.DESCRIPTOR.package == "auth.v1"


def _proto_enum(name: str) -> dict[str, int]:
    return {v.name: v.number for v in auth_pb2.DESCRIPTOR.enum_types_by_name[name].values}


def test_reason_mirrors_the_proto_enum() -> None:
    ours = {m.name: m.value for m in Reason if m is not Reason.UNKNOWN}
    assert ours == _proto_enum("Reason")


def test_credential_kind_mirrors_the_proto_enum() -> None:
    ours = {m.name: m.value for m in CredentialKind if m is not CredentialKind.UNKNOWN}
    assert ours == _proto_enum("CredentialKind")


def test_values_a_newer_service_may_send_map_to_unknown() -> None:
    assert Reason(999) is Reason.UNKNOWN
    assert CredentialKind(42) is CredentialKind.UNKNOWN
    assert Reason.from_name("SESSION_EXPIRED") is Reason.SESSION_EXPIRED
    assert Reason.from_name("NOT_A_REASON") is Reason.UNKNOWN
