//! The listener: HTTP/1.1 connections (what nginx, Caddy and Traefik speak to an auth
//! service), at most `max_connections` at once (`--max-connections`, as the gRPC port: one more
//! is closed at once), until shutdown; then open connections finish their request and close,
//! bounded by the drain timeout.
use std::{convert::Infallible, future::Future, sync::Arc, time::Duration};

use hyper::{body::Incoming, server::conn::http1, service::service_fn, Request, Response};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
};
use tokio::{net::TcpListener, sync::Semaphore};

use super::{request, response};
use crate::auth::gateway::{Gatekeeper, IdentityHeaders};

/// A client that has not sent its request head this long after connecting (or after its last
/// request) is disconnected.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How the listener is bounded.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub drain_timeout: Duration,
}

pub async fn serve(
    listener: TcpListener,
    gate: Gatekeeper,
    names: IdentityHeaders,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send,
) {
    let shared = Arc::new((gate, names));
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "http_auth: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            tracing::warn!("http_auth: max_connections reached, connection closed");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let service = service_fn(move |req| answer(shared.clone(), req));
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
            drop(permit);
        });
    }
    drop(listener);
    let drained = tokio::time::timeout(limits.drain_timeout, graceful.shutdown()).await;
    if drained.is_err() {
        tracing::warn!("http_auth: drain_timeout reached with requests in progress");
    }
}

async fn answer(
    shared: Arc<(Gatekeeper, IdentityHeaders)>,
    req: Request<Incoming>,
) -> Result<Response<response::Body>, Infallible> {
    let (gate, names) = &*shared;
    let (parts, _body) = req.into_parts();
    let checked = gate.check(request::gateway_request(&parts)).await;
    Ok(match checked {
        Ok(decision) => response::decided(&decision, names),
        Err(e) => response::failed(&e),
    })
}
