"""Stubs generated from proto/auth/v1/auth.proto by codegen.py (./regen.sh). Do not edit."""
