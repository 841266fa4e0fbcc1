//! The log layer: text for a terminal (the default), or one JSON object per line for log
//! shippers, with the same fields (time, level, target, message and the event's fields).
use tracing_subscriber::{fmt, registry::LookupSpan, Layer};

use crate::config::observe::LogFormat;

pub fn layer<S>(format: LogFormat) -> Box<dyn Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    match format {
        // Colours only for a terminal: logs written to files or collectors stay plain text.
        LogFormat::Text => fmt::layer()
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Json => fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .boxed(),
    }
}
