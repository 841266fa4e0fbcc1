//! SQLite's feed. A file may be written by several processes (Better Auth's and this one), and
//! SQLite tells a connection only that some other connection committed: `PRAGMA data_version`
//! changes. Polled every `POLL_EVERY` on a connection of its own, any change is `Change::Any`
//! (every cached answer dropped), so a committed sign-out is seen within one poll interval.
use std::time::Duration;

use sqlx::SqlitePool;
use tokio::time::sleep;

use super::common::{backoff, Sink};
use crate::domain::change::{Change, FeedSignal};

/// The bound on how late a change is seen, plus the time to drop the caches.
pub const POLL_EVERY: Duration = Duration::from_millis(25);

pub(super) async fn run(pool: SqlitePool, out: Sink) {
    let mut attempt = 0;
    while !out.is_closed() {
        match pool.acquire().await {
            Ok(conn) => {
                let why = follow(conn.detach(), &out, &mut attempt).await;
                tracing::warn!(why = %why, "change feed lost: caches emptied, answering uncached until it is back");
            }
            Err(e) => tracing::warn!(error = %e, "change feed: no SQLite connection"),
        }
        if out.send(FeedSignal::Lost).is_err() {
            return;
        }
        sleep(backoff(attempt)).await;
        attempt = attempt.saturating_add(1);
    }
}

async fn follow(mut conn: sqlx::SqliteConnection, out: &Sink, attempt: &mut u32) -> String {
    let mut seen = match version(&mut conn).await {
        Ok(v) => v,
        Err(e) => return e.to_string(),
    };
    if out.send(FeedSignal::Live).is_err() {
        return "the service is stopping".into();
    }
    *attempt = 0;
    loop {
        sleep(POLL_EVERY).await;
        let now = match version(&mut conn).await {
            Ok(v) => v,
            Err(e) => return e.to_string(),
        };
        if now != seen && out.send(FeedSignal::Changed(Change::Any)).is_err() {
            return "the service is stopping".into();
        }
        seen = now;
    }
}

async fn version(conn: &mut sqlx::SqliteConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("PRAGMA data_version")
        .fetch_one(conn)
        .await
}
