//! Per-RPC metrics named as go-grpc-prometheus names them (`grpc_server_started_total`,
//! `grpc_server_handled_total`, `grpc_server_handling_seconds` with `grpc_type`,
//! `grpc_service`, `grpc_method`, `grpc_code`), from a tower layer outside the concurrency
//! guard, so shed calls and deadline answers count too; and the transport's domain counters.
//! Labels are static strings: an unknown path is `unknown`, never the path itself.
use std::{
    task::{Context, Poll},
    time::Instant,
};

use futures::future::BoxFuture;
use tonic::{
    body::Body,
    codegen::http::{self, HeaderMap},
    Code,
};
use tower::{Layer, Service};

use crate::auth::credential::CredentialKind;
use crate::domain::{metric, reason::Reason};

use crate::domain::metric::{HANDLED, HANDLING_SECONDS, STARTED};

/// (service, method, type) of the paths this server answers.
const METHODS: &[(&str, &str, &str, &str)] = &[
    (
        "/auth.v1.AuthService/ValidateToken",
        "auth.v1.AuthService",
        "ValidateToken",
        "unary",
    ),
    (
        "/auth.v1.AuthService/GetSession",
        "auth.v1.AuthService",
        "GetSession",
        "unary",
    ),
    (
        "/auth.v1.AuthService/IssueToken",
        "auth.v1.AuthService",
        "IssueToken",
        "unary",
    ),
    (
        "/grpc.health.v1.Health/Check",
        "grpc.health.v1.Health",
        "Check",
        "unary",
    ),
    (
        "/grpc.health.v1.Health/Watch",
        "grpc.health.v1.Health",
        "Watch",
        "server_stream",
    ),
    (
        "/grpc.health.v1.Health/List",
        "grpc.health.v1.Health",
        "List",
        "unary",
    ),
    (
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "grpc.reflection.v1.ServerReflection",
        "ServerReflectionInfo",
        "bidi_stream",
    ),
    (
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        "grpc.reflection.v1alpha.ServerReflection",
        "ServerReflectionInfo",
        "bidi_stream",
    ),
];

#[derive(Clone, Copy)]
struct Rpc {
    service: &'static str,
    method: &'static str,
    kind: &'static str,
}

/// (service, method) of a path this server answers; (`unknown`, `unknown`) for any other.
pub fn names(path: &str) -> (&'static str, &'static str) {
    let r = rpc(path);
    (r.service, r.method)
}

fn rpc(path: &str) -> Rpc {
    let (service, method, kind) = METHODS
        .iter()
        .find(|m| m.0 == path)
        .map_or(("unknown", "unknown", "unary"), |m| (m.1, m.2, m.3));
    Rpc {
        service,
        method,
        kind,
    }
}

/// Go's `codes.Code.String()`, the values dashboards built on go-grpc-prometheus expect.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "Canceled",
        Code::Unknown => "Unknown",
        Code::InvalidArgument => "InvalidArgument",
        Code::DeadlineExceeded => "DeadlineExceeded",
        Code::NotFound => "NotFound",
        Code::AlreadyExists => "AlreadyExists",
        Code::PermissionDenied => "PermissionDenied",
        Code::ResourceExhausted => "ResourceExhausted",
        Code::FailedPrecondition => "FailedPrecondition",
        Code::Aborted => "Aborted",
        Code::OutOfRange => "OutOfRange",
        Code::Unimplemented => "Unimplemented",
        Code::Internal => "Internal",
        Code::Unavailable => "Unavailable",
        Code::DataLoss => "DataLoss",
        Code::Unauthenticated => "Unauthenticated",
    }
}

/// An error answer is trailers-only (`grpc-status` in the headers); without it the call
/// answered OK (for a stream: it opened; it is counted then, not at its end).
pub fn code_of(headers: &HeaderMap) -> Code {
    headers
        .get("grpc-status")
        .map_or(Code::Ok, |v| Code::from_bytes(v.as_bytes()))
}

#[derive(Clone, Copy, Default)]
pub struct RpcMetricsLayer;

impl<S> Layer<S> for RpcMetricsLayer {
    type Service = RpcMetrics<S>;

    fn layer(&self, inner: S) -> RpcMetrics<S> {
        RpcMetrics { inner }
    }
}

#[derive(Clone)]
pub struct RpcMetrics<S> {
    inner: S,
}

impl<S> Service<http::Request<Body>> for RpcMetrics<S>
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
        let call = Call::start(rpc(request.uri().path()));
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await;
            if let Ok(r) = &response {
                call.end(code_of(r.headers()));
            }
            response
        })
    }
}

/// One call being measured. Dropped before it ends, tonic's own deadline or the client cut
/// it: the caller sees CANCELLED, so it counts as `Canceled`.
struct Call {
    rpc: Rpc,
    started: Instant,
    ended: bool,
}

impl Call {
    fn start(rpc: Rpc) -> Self {
        metrics::counter!(STARTED, "grpc_type" => rpc.kind, "grpc_service" => rpc.service, "grpc_method" => rpc.method)
            .increment(1);
        Self {
            rpc,
            started: Instant::now(),
            ended: false,
        }
    }

    fn end(mut self, code: Code) {
        self.record(code);
    }

    fn record(&mut self, code: Code) {
        self.ended = true;
        let Rpc {
            service,
            method,
            kind,
        } = self.rpc;
        let code = code_name(code);
        metrics::counter!(HANDLED, "grpc_type" => kind, "grpc_service" => service, "grpc_method" => method, "grpc_code" => code)
            .increment(1);
        metrics::histogram!(HANDLING_SECONDS, "grpc_type" => kind, "grpc_service" => service, "grpc_method" => method)
            .record(self.started.elapsed().as_secs_f64());
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        if !self.ended {
            self.record(Code::Cancelled);
        }
    }
}

fn kind_name(kind: Option<CredentialKind>) -> &'static str {
    match kind {
        Some(CredentialKind::SessionToken) => "session_token",
        Some(CredentialKind::SignedSessionToken) => "signed_session_token",
        Some(CredentialKind::SessionCookie) => "session_cookie",
        Some(CredentialKind::Jwt) => "jwt",
        None => "unknown",
    }
}

/// A ValidateToken answer: `reason` is `VALID` or the refusal's `Reason`.
pub fn validation(kind: Option<CredentialKind>, refused: Option<Reason>) {
    let reason = refused.map_or("VALID", Reason::as_str);
    metrics::counter!(metric::VALIDATIONS, "kind" => kind_name(kind), "reason" => reason)
        .increment(1);
}

/// An IssueToken answer by caller (a configured caller's name; `unknown` when none was
/// recognised) and outcome (`issued`, or the status code).
pub fn issue(caller: Option<&str>, error: Option<Code>) {
    let caller = caller.map_or(metrics::SharedString::const_str("unknown"), |c| {
        metrics::SharedString::from(c.to_owned())
    });
    let outcome = error.map_or("issued", code_name);
    metrics::counter!(metric::ISSUED, "caller" => caller, "outcome" => outcome).increment(1);
}

/// A call refused at once because `max_concurrent_requests` were in progress.
pub fn shed() {
    metrics::counter!(metric::SHED).increment(1);
}

/// Database work cut by `db_timeout` or the caller's deadline (answered UNAVAILABLE).
pub fn deadline_cut() {
    metrics::counter!(metric::DEADLINE_CUTS).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_paths_are_named_and_others_are_unknown() {
        let r = rpc("/auth.v1.AuthService/ValidateToken");
        assert_eq!(
            (r.service, r.method),
            ("auth.v1.AuthService", "ValidateToken")
        );
        let r = rpc("/auth.v1.AuthService/secret-token-value");
        assert_eq!((r.service, r.method), ("unknown", "unknown"));
    }

    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    use tonic::Status;

    /// `grpc_server_handled_total` per code after `calls` through the layer in front of `answer`.
    fn handled_after(
        calls: usize,
        answer: impl Fn() -> futures::future::BoxFuture<'static, http::Response<Body>> + Clone,
        cut: bool,
    ) -> Vec<(String, u64)> {
        let recorder = DebuggingRecorder::new();
        let snapshots = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .unwrap();
            for _ in 0..calls {
                let answer = answer.clone();
                let inner = tower::service_fn(move |_| {
                    let a = answer();
                    async move { Ok::<_, std::convert::Infallible>(a.await) }
                });
                let mut svc = RpcMetricsLayer.layer(inner);
                let req = http::Request::builder().uri("/auth.v1.AuthService/ValidateToken");
                let fut = svc.call(req.body(Body::empty()).unwrap());
                let timeout = std::time::Duration::from_millis(if cut { 5 } else { 1000 });
                let _ = rt.block_on(async { tokio::time::timeout(timeout, fut).await });
            }
        });
        let handled = snapshots.snapshot().into_vec().into_iter();
        let handled = handled.filter(|(k, ..)| k.key().name() == HANDLED);
        handled
            .map(|(k, _, _, v)| {
                let code = k.key().labels().find(|l| l.key() == "grpc_code").unwrap();
                let DebugValue::Counter(n) = v else {
                    panic!("a counter")
                };
                (code.value().to_owned(), n)
            })
            .collect()
    }

    #[test]
    fn error_answers_count_by_their_code() {
        let shed = || -> futures::future::BoxFuture<'static, _> {
            Box::pin(async { Status::resource_exhausted("shed").into_http() })
        };
        assert_eq!(
            handled_after(3, shed, false),
            [("ResourceExhausted".into(), 3)]
        );
        let ok = || -> futures::future::BoxFuture<'static, _> {
            Box::pin(async { http::Response::new(Body::empty()) })
        };
        assert_eq!(handled_after(2, ok, false), [("OK".into(), 2)]);
    }

    #[test]
    fn a_call_cut_before_its_answer_counts_as_canceled() {
        let never = || -> futures::future::BoxFuture<'static, http::Response<Body>> {
            Box::pin(futures::future::pending())
        };
        assert_eq!(handled_after(1, never, true), [("Canceled".into(), 1)]);
    }

    #[test]
    fn codes_are_named_as_go_names_them() {
        assert_eq!(code_name(Code::Cancelled), "Canceled");
        assert_eq!(code_name(Code::ResourceExhausted), "ResourceExhausted");
        let mut h = HeaderMap::new();
        assert_eq!(code_of(&h), Code::Ok);
        h.insert("grpc-status", "14".parse().unwrap());
        assert_eq!(code_of(&h), Code::Unavailable);
    }
}
