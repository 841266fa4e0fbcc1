"""The caller's trace context for the service: when OpenTelemetry is active in the calling
process (the optional `opentelemetry-api` installed and a span current), its W3C `traceparent`
(and `tracestate`) go along as gRPC metadata, so the service's spans join the caller's trace.
Without OpenTelemetry this is a no-op."""

from __future__ import annotations

import importlib
from typing import Any


def _load() -> Any:
    try:
        return importlib.import_module("opentelemetry.propagate")
    except ImportError:
        return None


_propagator: Any = _load()

_FORWARDED = ("traceparent", "tracestate")


def trace_metadata() -> tuple[tuple[str, str], ...]:
    """The current context's trace headers, or nothing when there is no active span."""
    if _propagator is None:
        return ()
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return tuple((k, carrier[k]) for k in _FORWARDED if carrier.get(k))
