//! The Prometheus exporter: the `metrics` recorder rendered at `/metrics` on its own listener
//! (`--metrics-addr`), never on the gRPC port. Exposition is metrics-exporter-prometheus's.
use std::{future::Future, time::Duration};

use axum::{routing::get, Router};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

use crate::domain::metric::{self, HANDLED, HANDLING_SECONDS, STARTED};

/// Seconds; go-grpc-prometheus's defaults with finer steps below 5 ms, where this service answers.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How often histograms are compacted (the exporter's upkeep, which `install_recorder` leaves
/// to its caller).
const UPKEEP: Duration = Duration::from_secs(5);

pub const BUILD_INFO: &str = "better_auth_grpc_build_info";

/// Installs the process-wide recorder. Before this every metric call is a no-op.
pub fn install() -> Result<PrometheusHandle, BuildError> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(HANDLING_SECONDS.into()), LATENCY_BUCKETS)?
        .set_buckets_for_metric(
            Matcher::Full(metric::DB_QUERY_SECONDS.into()),
            LATENCY_BUCKETS,
        )?
        .install_recorder()?;
    describe();
    metrics::gauge!(
        BUILD_INFO,
        "version" => env!("CARGO_PKG_VERSION"),
        "revision" => env!("BETTER_AUTH_GRPC_REVISION")
    )
    .set(1.0);
    Ok(handle)
}

/// Serves `/metrics` until `shutdown`, and keeps the histograms compact meanwhile.
pub async fn serve(
    listener: TcpListener,
    handle: PrometheusHandle,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let upkeep = handle.clone();
    let upkeep = tokio::spawn(async move {
        let mut tick = tokio::time::interval(UPKEEP);
        loop {
            tick.tick().await;
            upkeep.run_upkeep();
        }
    });
    let app = Router::new().route("/metrics", get(move || std::future::ready(handle.render())));
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    upkeep.abort();
    served
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(STARTED, "RPCs started on the server.");
    describe_counter!(HANDLED, "RPCs completed on the server, by status code.");
    describe_histogram!(
        HANDLING_SECONDS,
        Unit::Seconds,
        "Time from the request to the response headers (for unary calls: the whole call)."
    );
    describe_counter!(
        metric::VALIDATIONS,
        "ValidateToken answers by credential kind and reason (VALID or the refusal's Reason)."
    );
    describe_counter!(
        metric::ISSUED,
        "IssueToken answers by caller name and outcome (issued or the status code)."
    );
    describe_counter!(
        metric::CACHE_HITS,
        "Cache lookups that found an entry, per cache."
    );
    describe_counter!(
        metric::CACHE_MISSES,
        "Cache lookups that found none, per cache."
    );
    describe_counter!(
        metric::CACHE_EVICTIONS,
        "Entries pushed out of a full cache, per cache."
    );
    describe_counter!(
        metric::SHED,
        "Calls refused at once because max_concurrent_requests were in progress."
    );
    describe_counter!(
        metric::DEADLINE_CUTS,
        "Calls whose database work was cut by db_timeout or the caller's deadline."
    );
    describe_counter!(
        metric::KEY_DECRYPTION_FAILURES,
        "jwks private keys that no configured secret decrypts."
    );
    describe_histogram!(
        metric::DB_QUERY_SECONDS,
        Unit::Seconds,
        "Database calls by operation."
    );
    describe_counter!(
        metric::DB_UNAVAILABLE,
        "Database calls that found the database unavailable."
    );
    describe_gauge!(
        BUILD_INFO,
        "1, labelled with the version and git revision of this build."
    );
}
