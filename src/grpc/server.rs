//! Assembles AuthService with the standard health and reflection services and serves it.
use std::{future::Future, sync::Arc, time::Duration};

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Server;
use tonic_health::{server::HealthReporter, ServingStatus};

use super::service::AuthGrpc;
use crate::proto::{auth::v1::auth_service_server::AuthServiceServer, FILE_DESCRIPTOR_SET};
use crate::store::Store;

pub const SERVICE_NAME: &str = "auth.v1.AuthService";

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("transport: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Serves until `shutdown` resolves, then lets in-flight calls finish.
pub async fn serve(
    service: AuthGrpc,
    store: Arc<dyn Store>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let (reporter, health) = tonic_health::server::health_reporter();
    let reflection_v1 = reflection()?.build_v1()?;
    let reflection_v1alpha = reflection()?.build_v1alpha()?;
    let watcher = tokio::spawn(watch_database(store, reporter));
    let result = Server::builder()
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(AuthServiceServer::new(service))
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await;
    watcher.abort();
    Ok(result?)
}

fn reflection() -> Result<tonic_reflection::server::Builder<'static>, ServeError> {
    Ok(tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET))
}

/// Health follows the database: NOT_SERVING while it cannot be reached, SERVING once it can.
async fn watch_database(store: Arc<dyn Store>, reporter: HealthReporter) {
    let mut last = None;
    loop {
        let ok = tokio::time::timeout(Duration::from_secs(2), store.ping())
            .await
            .is_ok_and(|r| r.is_ok());
        let status = if ok {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        if last != Some(ok) {
            if !ok {
                tracing::warn!("database unreachable: health NOT_SERVING");
            }
            reporter.set_service_status(SERVICE_NAME, status).await;
            reporter.set_service_status("", status).await;
            last = Some(ok);
        }
        // One cheap query a second: health follows an outage within about a second.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
