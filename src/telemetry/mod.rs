//! How the service is seen: logs, Prometheus metrics and OpenTelemetry traces. Start-up and
//! transport level; the domain only emits through the `metrics` and `tracing` facades.
pub mod db;
pub mod logs;
pub mod metrics;
pub mod traces;

use opentelemetry_otlp::ExporterBuildError;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::{layer::SubscriberExt, util::SubscriberInitExt, EnvFilter, Layer};

use crate::config::observe::ObserveConfig;

/// Flushes the spans not exported yet when dropped (at exit).
pub struct Guard(Option<SdkTracerProvider>);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            if let Err(e) = p.shutdown() {
                eprintln!("OpenTelemetry: spans not flushed at exit: {e}");
            }
        }
    }
}

/// Installs the global subscriber: the `--log` filter over the log layer, and the OTLP trace
/// layer when the `OTEL_*` variables ask for it. Inside the Tokio runtime. An exporter the
/// variables describe wrongly (an endpoint that is no URL) stops start-up, as a bad flag does.
pub fn init(filter: &str, observe: &ObserveConfig) -> Result<Guard, ExporterBuildError> {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let provider = traces::wanted(|k| std::env::var(k).ok())
        .then(traces::provider)
        .transpose()?;
    let otel = provider.as_ref().map(traces::layer);
    let _ = tracing_subscriber::registry()
        .with(logs::layer(observe.log_format).with_filter(filter))
        .with(otel)
        .try_init();
    if provider.is_some() {
        crate::grpc::rpc_span::enable();
        tracing::info!("exporting OpenTelemetry traces over OTLP");
    }
    Ok(Guard(provider))
}
