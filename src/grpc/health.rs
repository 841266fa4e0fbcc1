//! `grpc.health.v1.Health`: follows the database and JWT issuing, turns NOT_SERVING when the
//! server starts draining, and then ends every Watch stream so none can hold the drain.
use std::{future::Future, panic::AssertUnwindSafe, pin::Pin, sync::Arc, time::Duration};

use futures::{FutureExt, Stream, StreamExt};
use tokio::{
    sync::{watch, Semaphore},
    task::JoinHandle,
};
use tonic::{Code, Request, Response, Status};
use tonic_health::{
    pb::{health_server::Health, HealthCheckRequest, HealthCheckResponse},
    server::{HealthReporter, HealthService},
    ServingStatus,
};

use super::status;
use crate::store::Store;
use crate::token::Issuer;

pub const SERVICE_NAME: &str = "auth.v1.AuthService";
/// Envoy's ext_authz service follows the database as AuthService does.
pub const EXT_AUTHZ_HEALTH_NAME: &str = super::ext_authz::pb::SERVICE_NAME;
/// Health of JWT issuing alone: NOT_SERVING while the signing key cannot be decrypted.
pub const ISSUE_HEALTH_NAME: &str = "auth.v1.AuthService/IssueToken";
/// SERVING while the process serves, whatever the database: for liveness probes, which must
/// not restart every replica during a database outage (the service recovers by itself).
pub const LIVENESS_HEALTH_NAME: &str = "liveness";

/// What the health service watches.
pub struct HealthSources {
    pub store: Arc<dyn Store>,
    pub issuer: Option<Arc<Issuer>>,
}

/// The statuses and the tasks that keep them current, until [`HealthState::drain`].
pub struct HealthState {
    reporter: HealthReporter,
    watchers: Vec<JoinHandle<()>>,
    issuing: bool,
    draining: watch::Sender<bool>,
}

impl HealthState {
    /// Starts watching; returns the state and the service to serve, which keeps at most
    /// `max_watch_streams` Watch streams open at once.
    pub fn start(sources: HealthSources, max_watch_streams: usize) -> (Self, DrainingHealth) {
        let reporter = HealthReporter::new();
        let (draining, draining_rx) = watch::channel(false);
        let mut watchers = vec![tokio::spawn(watch_database(
            sources.store,
            reporter.clone(),
        ))];
        let issuing = sources.issuer.is_some();
        if let Some(issuer) = sources.issuer {
            watchers.push(tokio::spawn(watch_issuer(issuer, reporter.clone())));
        }
        let service = DrainingHealth {
            inner: HealthService::from_health_reporter(reporter.clone()),
            draining: draining_rx,
            watch_permits: Arc::new(Semaphore::new(max_watch_streams)),
        };
        let state = Self {
            reporter,
            watchers,
            issuing,
            draining,
        };
        (state, service)
    }

    /// NOT_SERVING for good: the watchers are stopped first (so none can turn an entry back to
    /// SERVING), then every entry is marked, then Watch streams send it and end.
    pub async fn drain(&mut self) {
        for w in self.watchers.drain(..) {
            w.abort();
            let _ = w.await;
        }
        let mut names = vec!["", SERVICE_NAME, EXT_AUTHZ_HEALTH_NAME];
        if self.issuing {
            names.push(ISSUE_HEALTH_NAME);
        }
        for name in names {
            self.reporter
                .set_service_status(name, ServingStatus::NotServing)
                .await;
        }
        let _ = self.draining.send(true);
    }
}

impl Drop for HealthState {
    fn drop(&mut self) {
        for w in &self.watchers {
            w.abort();
        }
    }
}

/// tonic-health's service, whose Watch streams end (after a last NOT_SERVING) once the server
/// drains: a health-checking client would otherwise hold its connection, and so the drain, open.
/// Watch streams last as long as their clients want and are outside `max_concurrent_requests`,
/// so their number is bounded here.
pub struct DrainingHealth {
    inner: HealthService,
    draining: watch::Receiver<bool>,
    watch_permits: Arc<Semaphore>,
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<HealthCheckResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Health for DrainingHealth {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        self.inner.check(request).await
    }

    type WatchStream = WatchStream;

    async fn watch(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let Ok(permit) = self.watch_permits.clone().try_acquire_owned() else {
            return Err(status::with_reason(
                Code::ResourceExhausted,
                "too many health Watch streams (max_health_watch_streams); use Check or retry later",
                "OVERLOADED",
            ));
        };
        let statuses = self.inner.watch(request).await?.into_inner();
        let mut draining = self.draining.clone();
        let drained = async move {
            let _ = draining.wait_for(|d| *d).await;
        };
        let last = futures::stream::once(async {
            Ok(HealthCheckResponse {
                status: ServingStatus::NotServing as i32,
            })
        });
        // The last NOT_SERVING is sent only if the stream has not just sent it.
        let mut sent = None;
        let stream = statuses.take_until(drained).chain(last).filter(move |r| {
            let _open = &permit; // the stream's place, given back when it is dropped
            let status = r.as_ref().ok().map(|r| r.status);
            let repeated = status.is_some() && status == sent;
            sent = status;
            std::future::ready(!repeated)
        });
        Ok(Response::new(Box::pin(stream) as WatchStream))
    }
}

/// Health follows the database: NOT_SERVING while it cannot be reached, SERVING once it can.
async fn watch_database(store: Arc<dyn Store>, reporter: HealthReporter) {
    reporter
        .set_service_status(LIVENESS_HEALTH_NAME, ServingStatus::Serving)
        .await;
    let mut last = None;
    loop {
        let ok = matches!(guarded("database", store.ping()).await, Some(Ok(())));
        let status = if ok {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        if last != Some(ok) {
            if !ok {
                tracing::warn!("database unreachable: health NOT_SERVING");
            }
            for name in [SERVICE_NAME, EXT_AUTHZ_HEALTH_NAME, ""] {
                reporter.set_service_status(name, status).await;
            }
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
        let ok = match guarded("JWT issuing", issuer.probe()).await {
            Some(Ok(_)) => true,
            Some(Err(e)) => {
                if last != Some(false) {
                    tracing::error!(error = %e, "JWT issuing unavailable: health NOT_SERVING");
                }
                false
            }
            None => false,
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

/// A probe bounded in time that cannot take its watcher down: a panic in it (a value the store
/// cannot decode, say) is logged and counts as a failed probe; `None` when it did not finish.
async fn guarded<T>(what: &str, probe: impl Future<Output = T>) -> Option<T> {
    let probe = AssertUnwindSafe(probe).catch_unwind();
    match tokio::time::timeout(Duration::from_secs(2), probe).await {
        Ok(Ok(out)) => Some(out),
        Ok(Err(_)) => {
            tracing::error!("{what} health probe panicked: health NOT_SERVING");
            None
        }
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_probe_is_a_failed_probe() {
        assert_eq!(guarded("test", async { 1 }).await, Some(1));
        let panics = async { panic!("a value chrono cannot hold") };
        assert_eq!(guarded::<()>("test", panics).await, None);
    }
}
