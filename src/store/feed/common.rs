//! What both feeds share: the channel, where they report, and how long they wait to retry.
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use crate::domain::change::FeedSignal;

/// The channel the triggers notify.
pub const CHANNEL: &str = "better_auth_grpc";

/// Where the feed reports; the feed stops when the receiver is gone.
pub type Sink = UnboundedSender<FeedSignal>;

/// Waits before reconnecting: doubles from 100 ms up to 2 s.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(100u64.saturating_mul(1 << attempt.min(5)).min(2_000))
}
