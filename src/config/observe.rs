//! `--log-format` and `--metrics-addr`: how the service is seen. Traces take the standard
//! `OTEL_*` variables instead (read by `telemetry::traces`), as every OpenTelemetry SDK does.
use std::net::SocketAddr;

use crate::cli::SettingsArgs;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct ObserveConfig {
    pub log_format: LogFormat,
    /// `/metrics` is served here; `None`: no metrics listener (the default).
    pub metrics_addr: Option<SocketAddr>,
}

pub fn build(s: &SettingsArgs) -> ObserveConfig {
    ObserveConfig {
        log_format: log_format(&s.log_format),
        metrics_addr: s.metrics_addr,
    }
}

/// Clap has checked the name is `text` or `json`.
fn log_format(name: &str) -> LogFormat {
    match name {
        "json" => LogFormat::Json,
        _ => LogFormat::Text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_logs_and_no_metrics_by_default() {
        let c = build(&SettingsArgs::from_flags(Vec::<String>::new()));
        assert_eq!(c.log_format, LogFormat::Text);
        assert!(c.metrics_addr.is_none());
    }

    #[test]
    fn json_logs_and_a_metrics_address() {
        let flags = ["--log-format=json", "--metrics-addr=127.0.0.1:9464"];
        let c = build(&SettingsArgs::from_flags(flags));
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.metrics_addr, Some("127.0.0.1:9464".parse().unwrap()));
    }
}
