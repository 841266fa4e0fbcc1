//! Assembles AuthService and Envoy's ext_authz Authorization with the standard health and
//! reflection services and serves them: message, concurrency, HTTP/2 and connection limits,
//! deadlines, optional TLS, and the drain on shutdown.
use std::{future::Future, pin::Pin, time::Instant};

use tokio::{net::TcpListener, sync::oneshot};
use tonic::transport::Server;
use tonic_health::pb::health_server::HealthServer;
use tower::util::MapResponseLayer;

use super::connections::Connections;
use super::ext_authz::{
    pb::envoy::service::auth::v3::authorization_server::AuthorizationServer, ExtAuthz,
};
use super::health::HealthState;
pub use super::health::{
    HealthSources, EXT_AUTHZ_HEALTH_NAME, ISSUE_HEALTH_NAME, LIVENESS_HEALTH_NAME, SERVICE_NAME,
};
use super::limits::{self, Guarded};
use super::metrics::RpcMetricsLayer;
use super::rpc_span::RpcSpanLayer;
use super::service::AuthGrpc;
use super::tls;
use crate::config::transport::{Http2Config, TransportConfig};
use crate::proto::{auth::v1::auth_service_server::AuthServiceServer, FILE_DESCRIPTOR_SET};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("transport: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Serves until `shutdown` resolves, then drains: health turns NOT_SERVING, the listener
/// closes, open connections get GOAWAY (no new calls) and in-flight calls finish, for at most
/// `drain_timeout`; past it, returns anyway.
pub async fn serve(
    service: AuthGrpc,
    ext_authz: ExtAuthz,
    health_sources: HealthSources,
    listener: TcpListener,
    transport: &TransportConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let max = transport.max_message_bytes;
    let (mut health_state, health) =
        HealthState::start(health_sources, transport.max_health_watch_streams);
    let health = HealthServer::new(health).max_decoding_message_size(max);
    let reflection_v1 = reflection()?.build_v1()?.max_decoding_message_size(max);
    let reflection_v1alpha = reflection()?
        .build_v1alpha()?
        .max_decoding_message_size(max);
    let feed = service.feed();
    let (auth, in_flight) = Guarded::new(
        AuthServiceServer::new(service).max_decoding_message_size(max),
        transport.max_concurrent_requests,
        transport.request_timeout,
    );
    // Its own limit of the same size: Envoy's checks cannot starve AuthService's callers.
    let (ext_authz, _) = Guarded::new(
        AuthorizationServer::new(ext_authz).max_decoding_message_size(max),
        transport.max_concurrent_requests,
        transport.request_timeout,
    );
    let mut builder =
        http2_limits(Server::builder(), &transport.http2).timeout(transport.request_timeout);
    // No max_connection_age_grace: tonic 0.14 then skips the GOAWAY and only cuts the connection.
    if let Some(age) = transport.max_connection_age {
        builder = builder.max_connection_age(age);
    }

    let (draining_tx, draining_rx) = oneshot::channel::<Instant>();
    let calls = in_flight.clone();
    let signal = async move {
        shutdown.await;
        health_state.drain().await;
        feed.close();
        tracing::info!(
            in_flight = calls.count(),
            "draining: health NOT_SERVING, listener closed, in-flight calls finishing"
        );
        let _ = draining_tx.send(Instant::now());
    };
    let oversize: fn(_) -> _ = limits::oversize_is_resource_exhausted;
    let connections = Connections::new(transport.connections.clone());
    let router = builder
        .layer(connections.call_tracking())
        .layer(RpcSpanLayer)
        .layer(RpcMetricsLayer)
        .layer(MapResponseLayer::new(oversize))
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(auth)
        .add_service(ext_authz);
    let incoming = connections.incoming(listener);
    // Two stream types, one server future: TLS is accepted here (grpc/tls.rs), not by tonic.
    let server: Pin<Box<dyn Future<Output = Result<(), tonic::transport::Error>> + Send>> =
        match &transport.tls {
            None => Box::pin(router.serve_with_incoming_shutdown(incoming, signal)),
            Some(config) => {
                let c = &transport.connections;
                let incoming = tls::incoming(
                    incoming,
                    config.server.clone(),
                    c.handshake_timeout,
                    c.max_connections,
                );
                Box::pin(router.serve_with_incoming_shutdown(incoming, signal))
            }
        };

    let drain_timeout = transport.drain_timeout;
    let drain_deadline = async move {
        match draining_rx.await {
            Ok(started) => tokio::time::sleep_until((started + drain_timeout).into()).await,
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        result = server => result?,
        () = drain_deadline => tracing::warn!(
            cut = in_flight.count(),
            ?drain_timeout,
            "drain_timeout reached: stopping with calls still in progress"
        ),
    }
    Ok(())
}

fn reflection() -> Result<tonic_reflection::server::Builder<'static>, ServeError> {
    Ok(tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(super::ext_authz::pb::FILE_DESCRIPTOR_SET))
}

/// tonic passes hyper "no limit" for each of these unless set.
fn http2_limits(server: Server, h2: &Http2Config) -> Server {
    server
        .max_concurrent_streams(h2.max_concurrent_streams)
        .http2_max_local_error_reset_streams(Some(h2.max_local_error_reset_streams))
        .http2_max_pending_accept_reset_streams(Some(h2.max_pending_accept_reset_streams))
        .http2_keepalive_interval(h2.keepalive_interval)
        .http2_keepalive_timeout(Some(h2.keepalive_timeout))
}
