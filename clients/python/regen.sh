#!/usr/bin/env bash
# Regenerates better_auth_grpc/_proto/ from proto/auth/v1/auth.proto with the pinned generators
# (codegen.py: grpcio-tools and mypy-protobuf). Check the result in; tests/test_codegen.py fails
# when the checked-in stubs and a fresh generation differ.
#   PYTHON=target/py-venv/bin/python clients/python/regen.sh
set -euo pipefail
py=${PYTHON:-python3}
# A relative PYTHON (as above) names a path from where the script was called, not from here.
[[ "$py" == */* && "$py" != /* ]] && py="$PWD/$py"
cd "$(dirname "${BASH_SOURCE[0]}")"
exec "$py" codegen.py
