//! The change feed: committed changes of Better Auth's rows, reported to the caches that depend
//! on them. PostgreSQL: triggers (`migrate --change-feed`) NOTIFY one channel and a dedicated
//! connection LISTENs, its liveness proved end to end by heartbeats sent through the channel.
//! SQLite: `PRAGMA data_version` polled on a dedicated connection. Either way a feed that cannot
//! vouch for what it reports says `Lost`, so no cache keeps answering from before the gap.
use std::time::Duration;

use tokio::{sync::mpsc::UnboundedSender, task::JoinHandle};

use crate::domain::change::FeedSignal;

mod payload;
mod postgres;
mod sqlite;

pub use postgres::{install, probe, triggers_installed, PgFeedSettings};
pub use sqlite::POLL_EVERY as SQLITE_POLL_EVERY;

/// The channel the triggers notify.
pub const CHANNEL: &str = "better_auth_grpc";

/// Where the feed reports; the feed stops when the receiver is gone.
pub type Sink = UnboundedSender<FeedSignal>;

/// Starts the PostgreSQL feed in the background.
pub fn spawn_postgres(settings: PgFeedSettings, out: Sink) -> JoinHandle<()> {
    tokio::spawn(postgres::run(settings, out))
}

/// Starts the SQLite feed in the background, on its own connection of `pool`.
pub fn spawn_sqlite(pool: sqlx::SqlitePool, out: Sink) -> JoinHandle<()> {
    tokio::spawn(sqlite::run(pool, out))
}

/// Waits before reconnecting: doubles from 100 ms up to 2 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(100u64.saturating_mul(1 << attempt.min(5)).min(2_000))
}
