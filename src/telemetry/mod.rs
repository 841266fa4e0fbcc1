//! How the service is seen: logs, Prometheus metrics and OpenTelemetry traces. Start-up and
//! transport level; the domain only emits through the `metrics` and `tracing` facades.
pub mod db;
pub mod logs;
pub mod metrics;

use tracing_subscriber::{layer::SubscriberExt, util::SubscriberInitExt, EnvFilter, Layer};

use crate::config::observe::ObserveConfig;

/// Installs the global subscriber: the `--log` filter over the log layer.
pub fn init(filter: &str, observe: &ObserveConfig) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::registry()
        .with(logs::layer(observe.log_format).with_filter(filter))
        .try_init();
}
