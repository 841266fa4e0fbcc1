"""The caller's OpenTelemetry span reaches the service as W3C `traceparent` metadata."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from better_auth_grpc import _trace
from better_auth_grpc._proto import auth_pb2
from better_auth_grpc.client import AuthClient


@pytest.fixture(scope="module")
def tracer() -> trace.Tracer:
    provider = TracerProvider()
    return provider.get_tracer("test")


class Recorder:
    def __init__(self) -> None:
        self.metadata: tuple[tuple[str, str], ...] = ()

    def __call__(self, request: Any, timeout: Any, metadata: Any) -> auth_pb2.ValidateTokenResponse:
        self.metadata = metadata
        return auth_pb2.ValidateTokenResponse()


def test_no_span_no_metadata() -> None:
    assert _trace.trace_metadata() == ()


def test_the_active_span_is_forwarded(tracer: trace.Tracer) -> None:
    with tracer.start_as_current_span("caller") as span:
        ctx = span.get_span_context()
        (name, value), *_ = _trace.trace_metadata()
    assert name == "traceparent"
    # The flags byte says sampled (and, with newer SDKs, a random trace id).
    assert value.startswith(f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-")


def test_the_client_sends_it_with_its_own_metadata(tracer: trace.Tracer) -> None:
    client = AuthClient("127.0.0.1:1")
    recorder = Recorder()
    request = auth_pb2.ValidateTokenRequest(token="t")
    with tracer.start_as_current_span("caller"):
        client._call(recorder, request, 1.0, (("x-api-key", "k"),))  # type: ignore[arg-type]
    client.close()
    names = [k for k, _ in recorder.metadata]
    assert names[0] == "x-api-key"
    assert "traceparent" in names
