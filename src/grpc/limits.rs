//! Guards between the network and the handlers: a concurrency limit over all connections with
//! load shedding, the upper bound of a call's deadline, and RESOURCE_EXHAUSTED (not tonic's
//! OUT_OF_RANGE) for a request message over `max_message_bytes`.
use std::{
    convert::Infallible,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use futures::future::BoxFuture;
use tokio::sync::Semaphore;
use tonic::{
    body::Body,
    codegen::http::{self, HeaderMap, HeaderValue},
    server::NamedService,
    Code, Status,
};
use tower::{limit::ConcurrencyLimit, load_shed::LoadShed, Service, ServiceExt};

use super::status;

/// A gRPC service behind the limits: beyond `max_concurrent_requests` calls in progress (over
/// all connections) a call is refused at once with RESOURCE_EXHAUSTED instead of queueing,
/// and every call gets a deadline of at most `request_timeout`.
#[derive(Clone)]
pub struct Guarded<S> {
    inner: LoadShed<ConcurrencyLimit<S>>,
    cap: DeadlineCap,
}

/// How many guarded calls are in progress.
#[derive(Clone)]
pub struct InFlight {
    semaphore: Arc<Semaphore>,
    max: usize,
}

impl InFlight {
    pub fn count(&self) -> usize {
        self.max.saturating_sub(self.semaphore.available_permits())
    }
}

impl<S> Guarded<S> {
    pub fn new(inner: S, max_concurrent: usize, request_timeout: Duration) -> (Self, InFlight) {
        let semaphore = Arc::new(Semaphore::new(max_concurrent));
        let limited = ConcurrencyLimit::with_semaphore(inner, semaphore.clone());
        let guarded = Self {
            inner: LoadShed::new(limited),
            cap: DeadlineCap::new(request_timeout),
        };
        let in_flight = InFlight {
            semaphore,
            max: max_concurrent,
        };
        (guarded, in_flight)
    }
}

impl<S: NamedService> NamedService for Guarded<S> {
    const NAME: &'static str = S::NAME;
}

impl<S> Service<http::Request<Body>> for Guarded<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Readiness is decided per call (below), so a full server sheds instead of stalling.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        self.cap.apply(request.headers_mut());
        let service = self.inner.clone();
        Box::pin(async move {
            Ok(match service.oneshot(request).await {
                Ok(response) => response,
                Err(e) if e.is::<tower::load_shed::error::Overloaded>() => {
                    tracing::debug!("call shed: max_concurrent_requests reached");
                    super::metrics::shed();
                    status::with_reason(
                        Code::ResourceExhausted,
                        "too many calls in progress (max_concurrent_requests); retry with backoff",
                        "OVERLOADED",
                    )
                    .into_http()
                }
                Err(e) => {
                    tracing::error!(error = %e, "transport guard failed");
                    Status::internal("internal error").into_http()
                }
            })
        })
    }
}

/// The upper bound of a call's deadline, and its `grpc-timeout` value, formatted once.
#[derive(Clone)]
struct DeadlineCap {
    limit: Duration,
    header: HeaderValue,
}

impl DeadlineCap {
    fn new(limit: Duration) -> Self {
        let ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX).max(1);
        Self {
            limit,
            // Digits and a unit always make a valid header value.
            header: HeaderValue::from_str(&format!("{}m", ms.min(99_999_999)))
                .unwrap_or(HeaderValue::from_static("99999999m")),
        }
    }

    /// The handlers read the call's deadline from `grpc-timeout` (see `caller_deadline`): set
    /// it to the limit when the caller sent none, or one that is longer or unreadable.
    fn apply(&self, headers: &mut HeaderMap) {
        let within = headers
            .get("grpc-timeout")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_grpc_timeout)
            .is_some_and(|d| d <= self.limit);
        if !within {
            headers.insert("grpc-timeout", self.header.clone());
        }
    }
}

/// A `grpc-timeout` value: at most 8 digits and a unit (gRPC over HTTP/2).
pub(crate) fn parse_grpc_timeout(v: &str) -> Option<Duration> {
    let (digits, unit) = v.split_at(v.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.saturating_mul(3600)),
        "M" => Duration::from_secs(n.saturating_mul(60)),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// tonic refuses a request message over the decoding limit with OUT_OF_RANGE before reading
/// it; the gRPC status-code table's answer is RESOURCE_EXHAUSTED. No handler of this service
/// answers OUT_OF_RANGE, so every such trailers-only answer is this one.
pub fn oversize_is_resource_exhausted(response: http::Response<Body>) -> http::Response<Body> {
    match Status::from_header_map(response.headers()) {
        Some(s) if s.code() == Code::OutOfRange => {
            tracing::debug!(message = s.message(), "request message refused: too large");
            status::with_reason(Code::ResourceExhausted, s.message(), "MESSAGE_TOO_LARGE")
                .into_http()
        }
        _ => response,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capped(sent: Option<&str>, limit_ms: u64) -> String {
        let mut h = HeaderMap::new();
        if let Some(v) = sent {
            h.insert("grpc-timeout", HeaderValue::from_str(v).unwrap());
        }
        DeadlineCap::new(Duration::from_millis(limit_ms)).apply(&mut h);
        h.get("grpc-timeout").unwrap().to_str().unwrap().to_owned()
    }

    #[test]
    fn deadlines_are_set_or_capped() {
        assert_eq!(capped(None, 5000), "5000m");
        assert_eq!(capped(Some("200m"), 5000), "200m");
        assert_eq!(capped(Some("1S"), 5000), "1S");
        assert_eq!(capped(Some("1H"), 5000), "5000m");
        assert_eq!(capped(Some("999999999m"), 5000), "5000m");
        assert_eq!(capped(Some("x"), 5000), "5000m");
        assert_eq!(capped(Some(""), 5000), "5000m");
    }

    #[test]
    fn only_out_of_range_is_rewritten() {
        let r = oversize_is_resource_exhausted(
            Status::out_of_range("Error, decoded message length too large").into_http(),
        );
        let s = Status::from_header_map(r.headers()).unwrap();
        assert_eq!(s.code(), Code::ResourceExhausted);
        let r = oversize_is_resource_exhausted(Status::not_found("x").into_http());
        let s = Status::from_header_map(r.headers()).unwrap();
        assert_eq!(s.code(), Code::NotFound);
    }
}
