//! Assembles AuthService with the standard health and reflection services and serves it.
use std::{future::Future, sync::Arc, time::Duration};

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Server;
use tonic_health::{server::HealthReporter, ServingStatus};

use super::service::AuthGrpc;
use crate::proto::{auth::v1::auth_service_server::AuthServiceServer, FILE_DESCRIPTOR_SET};
use crate::store::Store;
use crate::token::Issuer;

pub const SERVICE_NAME: &str = "auth.v1.AuthService";
/// Health of JWT issuing alone: NOT_SERVING while the signing key cannot be decrypted.
pub const ISSUE_HEALTH_NAME: &str = "auth.v1.AuthService/IssueToken";

/// What the health service watches.
pub struct HealthSources {
    pub store: Arc<dyn Store>,
    pub issuer: Option<Arc<Issuer>>,
}

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
    health_sources: HealthSources,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let (reporter, health) = tonic_health::server::health_reporter();
    let reflection_v1 = reflection()?.build_v1()?;
    let reflection_v1alpha = reflection()?.build_v1alpha()?;
    let watcher = tokio::spawn(watch_database(health_sources.store, reporter.clone()));
    let issuing = health_sources
        .issuer
        .map(|i| tokio::spawn(watch_issuer(i, reporter)));
    let result = Server::builder()
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(AuthServiceServer::new(service))
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await;
    watcher.abort();
    if let Some(i) = issuing {
        i.abort();
    }
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

/// Issuing needs a decryptable signing key: a wrong or rotated secret shows as NOT_SERVING
/// here (and FAILED_PRECONDITION on IssueToken) instead of failing silently.
async fn watch_issuer(issuer: Arc<Issuer>, reporter: HealthReporter) {
    let mut last = None;
    loop {
        let probe = tokio::time::timeout(Duration::from_secs(2), issuer.probe()).await;
        let ok = match probe {
            Ok(Ok(_)) => true,
            Ok(Err(e)) => {
                if last != Some(false) {
                    tracing::error!(error = %e, "JWT issuing unavailable: health NOT_SERVING");
                }
                false
            }
            Err(_) => false,
        };
        if last != Some(ok) {
            let status = if ok {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            reporter.set_service_status(ISSUE_HEALTH_NAME, status).await;
            last = Some(ok);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}
