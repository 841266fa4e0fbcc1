//! Calls in progress per connection, for the idle timeout of `connections`: a call counts from
//! its request until its response body ends or is dropped, so a long Watch stream keeps its
//! connection busy while keepalive PINGs (traffic, not calls) do not.
use std::{
    net::SocketAddr,
    pin::Pin,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex, PoisonError,
    },
    task::{Context, Poll},
};

use futures::future::BoxFuture;
use http_body::{Frame, SizeHint};
use tokio::time::Instant;
use tonic::{
    body::Body,
    codegen::{http, Bytes},
    transport::server::{TcpConnectInfo, TlsConnectInfo},
    Status,
};
use tower::{Layer, Service};

/// The calls of one connection.
pub(super) struct Calls {
    count: AtomicUsize,
    idle_since: Mutex<Instant>,
}

impl Calls {
    pub(super) fn new() -> Self {
        Self {
            count: AtomicUsize::new(0),
            idle_since: Mutex::new(Instant::now()),
        }
    }

    /// Since when no call is in progress; `None` while one is.
    pub(super) fn idle_since(&self) -> Option<Instant> {
        let since = *self
            .idle_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        (self.count.load(Ordering::SeqCst) == 0).then_some(since)
    }

    fn start(self: &Arc<Self>) -> CallGuard {
        self.count.fetch_add(1, Ordering::SeqCst);
        CallGuard(self.clone())
    }
}

/// One call in progress, until dropped.
struct CallGuard(Arc<Calls>);

impl Drop for CallGuard {
    fn drop(&mut self) {
        let mut since = self
            .0
            .idle_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            *since = Instant::now();
        }
    }
}

type Lookup = Arc<dyn Fn(SocketAddr) -> Option<Arc<Calls>> + Send + Sync>;

/// The layer that counts each request's call on its connection, found by peer address.
#[derive(Clone)]
pub struct CallTracking {
    lookup: Lookup,
}

impl CallTracking {
    pub(super) fn new(lookup: Lookup) -> Self {
        Self { lookup }
    }
}

impl<S> Layer<S> for CallTracking {
    type Service = Tracked<S>;

    fn layer(&self, inner: S) -> Tracked<S> {
        Tracked {
            inner,
            lookup: self.lookup.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Tracked<S> {
    inner: S,
    lookup: Lookup,
}

/// The peer of the connection a request came on, plaintext or TLS.
fn peer<B>(request: &http::Request<B>) -> Option<SocketAddr> {
    let ext = request.extensions();
    let tcp = ext.get::<TcpConnectInfo>().or_else(|| {
        ext.get::<TlsConnectInfo<TcpConnectInfo>>()
            .map(|t| t.get_ref())
    });
    tcp.and_then(TcpConnectInfo::remote_addr)
}

impl<S> Service<http::Request<Body>> for Tracked<S>
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
        let guard = peer(&request)
            .and_then(|p| (self.lookup)(p))
            .map(|calls| calls.start());
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await?;
            Ok(match guard {
                Some(guard) => response.map(|inner| {
                    Body::new(GuardedBody {
                        inner,
                        _guard: guard,
                    })
                }),
                None => response,
            })
        })
    }
}

/// A response body that holds its call's guard until it ends or is dropped.
struct GuardedBody {
    inner: Body,
    _guard: CallGuard,
}

impl http_body::Body for GuardedBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
