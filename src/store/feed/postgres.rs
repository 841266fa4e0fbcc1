//! PostgreSQL's feed: LISTEN on a dedicated connection, heartbeats through the same channel.
//!
//! A heartbeat is a `pg_notify` sent every `heartbeat` from another connection; receiving it on
//! the listening connection proves the whole path, and it carries whether the triggers are all
//! in place. Nothing received for three heartbeats, an error, or a lost connection is `Lost`:
//! the listener is dropped and a new one subscribed, and only its first heartbeat says `Live`.
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool};
use tokio::time::{sleep, timeout};

use super::common::{backoff, Sink, CHANNEL};
use super::payload::{self, Payload};
use crate::domain::{change::FeedSignal, metric};
use crate::store::postgres::{pool, PgSettings};
use crate::store::{map_sqlx, StoreError};

/// The triggers' SQL; idempotent.
const INSTALL: &str = include_str!("../../../migrations/postgres/change_feed.sql");

/// Whether every trigger the feed needs exists and is enabled (jwks only when that table does).
const INSTALLED: &str = "SELECT (SELECT count(*) FROM pg_trigger t \
     WHERE t.tgname IN ('better_auth_grpc_session', 'better_auth_grpc_user', 'better_auth_grpc_jwks') \
       AND t.tgenabled <> 'D' \
       AND t.tgrelid IN (to_regclass('\"session\"'), to_regclass('\"user\"'), to_regclass('\"jwks\"'))) \
     = 2 + (to_regclass('\"jwks\"') IS NOT NULL)::int";

#[derive(Clone)]
pub struct PgFeedSettings {
    /// The database to LISTEN on: not through a transaction-mode pooler, which cannot LISTEN.
    pub db: PgSettings,
    pub heartbeat: Duration,
}

/// `migrate --change-feed`: installs (or replaces) the triggers, in one transaction.
pub async fn install(db: &PgSettings) -> Result<(), StoreError> {
    let pool = pool(db)?;
    let mut tx = pool.begin().await.map_err(map_sqlx)?;
    sqlx::raw_sql(INSTALL)
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx)?;
    tx.commit().await.map_err(map_sqlx)
}

/// Whether the triggers are installed, on a connection of its own (the start-up line).
pub async fn probe(db: &PgSettings) -> Result<bool, StoreError> {
    let one = PgSettings {
        max_connections: 1,
        ..db.clone()
    };
    let pool = pool(&one)?;
    let installed = triggers_installed(&pool).await;
    pool.close().await;
    installed
}

pub async fn triggers_installed(pool: &PgPool) -> Result<bool, StoreError> {
    sqlx::query_scalar(INSTALLED)
        .persistent(false)
        .fetch_one(pool)
        .await
        .map_err(map_sqlx)
}

pub(super) async fn run(s: PgFeedSettings, out: Sink) {
    // Two single-connection pools: the listener keeps its connection for as long as it lives.
    let one = PgSettings {
        max_connections: 1,
        ..s.db.clone()
    };
    let (listen, beat) = match (pool(&one), pool(&one)) {
        (Ok(l), Ok(b)) => (l, b),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = %e, "change feed: cannot use the listen database URL");
            let _ = out.send(FeedSignal::Lost);
            return;
        }
    };
    let mut attempt = 0;
    while !out.is_closed() {
        let why = subscribe_and_follow(&listen, &beat, s.heartbeat, &out, &mut attempt).await;
        tracing::warn!(why = %why, "change feed lost: caches emptied, answering uncached until it is back");
        if out.send(FeedSignal::Lost).is_err() {
            return;
        }
        sleep(backoff(attempt)).await;
        attempt = attempt.saturating_add(1);
    }
}

/// Follows one subscription until it can no longer vouch for what it reports; says why.
async fn subscribe_and_follow(
    listen: &PgPool,
    beat_pool: &PgPool,
    heartbeat: Duration,
    out: &Sink,
    attempt: &mut u32,
) -> String {
    let mut listener = match PgListener::connect_with(listen).await {
        Ok(l) => l,
        Err(e) => return map_sqlx(e).to_string(),
    };
    if let Err(e) = listener.listen(CHANNEL).await {
        return map_sqlx(e).to_string();
    }
    let beats = tokio::spawn(beat(beat_pool.clone(), heartbeat));
    let why = follow(&mut listener, heartbeat * 3, out, attempt).await;
    beats.abort();
    why
}

async fn follow(
    listener: &mut PgListener,
    silence: Duration,
    out: &Sink,
    attempt: &mut u32,
) -> String {
    let mut installed: Option<bool> = None;
    loop {
        let note = match timeout(silence, listener.try_recv()).await {
            Err(_) => return format!("no heartbeat for {silence:?}"),
            Ok(Err(e)) => return map_sqlx(e).to_string(),
            Ok(Ok(None)) => return "the listening connection was closed".into(),
            Ok(Ok(Some(note))) => note,
        };
        let parsed = payload::parse(note.payload());
        if let Some(Payload::Heartbeat {
            sent_ms: Some(sent),
            ..
        }) = parsed
        {
            metric::feed_lag((now_ms() - sent).max(0) as f64 / 1000.0);
        }
        let signal = match parsed {
            Some(Payload::Heartbeat { installed: now, .. }) if installed != Some(now) => {
                installed = Some(now);
                *attempt = 0;
                if now {
                    FeedSignal::Live
                } else {
                    FeedSignal::NotInstalled
                }
            }
            Some(Payload::Changed(c)) if installed == Some(true) => FeedSignal::Changed(c),
            _ => continue,
        };
        if out.send(signal).is_err() {
            return "the service is stopping".into();
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Sends a heartbeat every `every`; errors just skip one (the listener's silence tells).
async fn beat(pool: PgPool, every: Duration) {
    // One round trip: the notification carries the triggers' presence at that moment.
    let query = format!("SELECT pg_notify($1, 'h:' || ({INSTALLED})::text || ':' || $2)");
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let sent = sqlx::query(&query)
            .persistent(false)
            .bind(CHANNEL)
            .bind(now_ms().to_string())
            .execute(&pool)
            .await;
        if let Err(e) = sent {
            tracing::debug!(error = %e, "change feed heartbeat not sent");
        }
    }
}
