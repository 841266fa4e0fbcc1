//! The change feed: committed changes of Better Auth's rows, reported to the caches that depend
//! on them. PostgreSQL: triggers (`migrate --change-feed`) NOTIFY one channel and a dedicated
//! connection LISTENs, its liveness proved end to end by heartbeats sent through the channel.
//! SQLite: `PRAGMA data_version` polled on a dedicated connection. Either way a feed that cannot
//! vouch for what it reports says `Lost`, so no cache keeps answering from before the gap.
use tokio::task::JoinHandle;

mod common;
mod payload;
mod postgres;
mod sqlite;

pub use postgres::{install, probe, triggers_installed, PgFeedSettings};
pub use sqlite::POLL_EVERY as SQLITE_POLL_EVERY;

pub use common::{Sink, CHANNEL};

/// Starts the PostgreSQL feed in the background.
pub fn spawn_postgres(settings: PgFeedSettings, out: Sink) -> JoinHandle<()> {
    tokio::spawn(postgres::run(settings, out))
}

/// Starts the SQLite feed in the background, on its own connection of `pool`.
pub fn spawn_sqlite(pool: sqlx::SqlitePool, out: Sink) -> JoinHandle<()> {
    tokio::spawn(sqlite::run(pool, out))
}
