#!/usr/bin/env bash
# Regenerates better_auth_grpc/_proto/ from proto/auth/v1/auth.proto with the pinned generators
# (codegen.py: grpcio-tools and mypy-protobuf). Check the result in; tests/test_codegen.py fails
# when the checked-in stubs and a fresh generation differ.
#   PYTHON=target/py-venv/bin/python clients/python/regen.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
exec "${PYTHON:-python3}" codegen.py
