"""Generates better_auth_grpc/_proto/ from ../../proto/auth/v1/auth.proto.

Run through ./regen.sh. tests/test_codegen.py runs generate() into a temporary directory and fails
when the checked-in stubs differ, so the proto and the stubs cannot drift apart silently.

The generator versions are pinned (GRPCIO_TOOLS, MYPY_PROTOBUF): the generated code embeds them, and
the runtime ranges in pyproject.toml follow from them (grpcio >= the tools version, protobuf >= the
protoc version bundled with grpcio-tools).
"""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

GRPCIO_TOOLS = "1.80.0"
MYPY_PROTOBUF = "5.1.0"

HERE = Path(__file__).resolve().parent
PROTO_ROOT = HERE.parent.parent / "proto"
PROTO_FILE = "auth/v1/auth.proto"
PACKAGE = "better_auth_grpc._proto"
OUT_DIR = HERE / "better_auth_grpc" / "_proto"
GENERATED = ("auth_pb2.py", "auth_pb2.pyi", "auth_pb2_grpc.py", "auth_pb2_grpc.pyi")


def check_generators() -> None:
    """Refuses to generate with other generator versions than the pinned ones."""
    for dist, want in (("grpcio-tools", GRPCIO_TOOLS), ("mypy-protobuf", MYPY_PROTOBUF)):
        try:
            have = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            have = "not installed"
        if have != want:
            raise SystemExit(f"codegen: needs {dist}=={want} (have {have}): pip install '{dist}=={want}'")


def _plugin(name: str) -> str:
    path = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(path).exists():
        raise SystemExit(f"codegen: {name} not found (it comes with mypy-protobuf=={MYPY_PROTOBUF})")
    return path


def _relocate(text: str) -> str:
    """protoc writes `from auth.v1 import auth_pb2`; the stubs live flat in better_auth_grpc._proto.

    The descriptor keeps its file name auth/v1/auth.proto, so code generated elsewhere from the same
    proto registers identical descriptors instead of conflicting ones.
    """
    return re.sub(r"^from auth\.v1 import ", f"from {PACKAGE} import ", text, flags=re.MULTILINE)


_PROTOC = "import sys; from grpc_tools import protoc; sys.exit(protoc.main(['protoc', *sys.argv[1:]]))"


def generate(out_dir: Path) -> list[Path]:
    """Writes the four generated files into out_dir and returns their paths."""
    check_generators()
    from grpc_tools import protoc  # type: ignore[import-untyped]

    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        well_known = Path(protoc.__file__).parent / "_proto"
        args = [
            f"-I{PROTO_ROOT}",
            f"-I{well_known}",
            f"--plugin=protoc-gen-mypy={_plugin('protoc-gen-mypy')}",
            f"--plugin=protoc-gen-mypy_grpc={_plugin('protoc-gen-mypy_grpc')}",
            f"--python_out={tmp}",
            f"--grpc_python_out={tmp}",
            f"--mypy_out={tmp}",
            f"--mypy_grpc_out={tmp}",
            str(PROTO_ROOT / PROTO_FILE),
        ]
        # protoc's plugins print "Writing mypy to ..." on stderr; run it in a child to keep quiet.
        run = subprocess.run(
            [sys.executable, "-c", _PROTOC, *args],
            capture_output=True,
            text=True,
        )
        if run.returncode != 0:
            raise SystemExit(f"codegen: protoc failed:\n{run.stderr}")
        written = []
        for name in GENERATED:
            src = Path(tmp) / "auth" / "v1" / name
            dst = out_dir / name
            dst.write_text(_relocate(src.read_text()))
            written.append(dst)
    return written


if __name__ == "__main__":
    for path in generate(OUT_DIR):
        print(f"codegen: wrote {path.relative_to(HERE)}")
