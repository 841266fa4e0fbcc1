//! One server span per RPC when traces are on, continuing the caller's W3C `traceparent` (gRPC
//! metadata is HTTP/2 headers). Its attributes are the method and the status code only: no
//! metadata value, and so no credential, ever becomes one.
use std::{
    sync::atomic::{AtomicBool, Ordering},
    task::{Context, Poll},
};

use futures::future::BoxFuture;
use opentelemetry::propagation::Extractor;
use tonic::{
    body::Body,
    codegen::http::{self, HeaderMap},
};
use tower::{Layer, Service};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Set once at start-up when traces are exported; off, no span is made (the hot path stays
/// as it was).
static ON: AtomicBool = AtomicBool::new(false);

pub fn enable() {
    ON.store(true, Ordering::Relaxed);
}

/// Only the W3C trace context headers are read.
struct TraceHeaders<'a>(&'a HeaderMap);

impl Extractor for TraceHeaders<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        matches!(key, "traceparent" | "tracestate")
            .then(|| self.0.get(key)?.to_str().ok())
            .flatten()
    }

    fn keys(&self) -> Vec<&str> {
        vec!["traceparent", "tracestate"]
    }
}

#[derive(Clone, Copy, Default)]
pub struct RpcSpanLayer;

impl<S> Layer<S> for RpcSpanLayer {
    type Service = RpcSpan<S>;

    fn layer(&self, inner: S) -> RpcSpan<S> {
        RpcSpan { inner }
    }
}

#[derive(Clone)]
pub struct RpcSpan<S> {
    inner: S,
}

/// `otel.name` `service/method` for the paths this server answers, else `unknown`.
fn span_for(request: &http::Request<Body>) -> tracing::Span {
    let (service, method) = super::metrics::names(request.uri().path());
    let span = tracing::info_span!(
        "rpc",
        otel.name = %format_args!("{service}/{method}"),
        otel.kind = "server",
        rpc.system = "grpc",
        rpc.service = service,
        rpc.method = method,
        rpc.grpc.status_code = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    let parent = opentelemetry::global::get_text_map_propagator(|p| {
        p.extract(&TraceHeaders(request.headers()))
    });
    let _ = span.set_parent(parent);
    span
}

impl<S> Service<http::Request<Body>> for RpcSpan<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        if !ON.load(Ordering::Relaxed) {
            return Box::pin(self.inner.call(request));
        }
        let span = span_for(&request);
        let response = span.in_scope(|| self.inner.call(request));
        let recorded = span.clone();
        Box::pin(
            async move {
                let response = response.await;
                if let Ok(r) = &response {
                    let code = super::metrics::code_of(r.headers());
                    recorded.record("rpc.grpc.status_code", code as i32);
                    if !matches!(code, tonic::Code::Ok) {
                        recorded.record("otel.status_code", "ERROR");
                    }
                }
                response
            }
            .instrument(span),
        )
    }
}
