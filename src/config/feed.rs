//! The change feed's settings (`--change-feed`, `--listen-database-url`, the heartbeat).
use std::time::Duration;

use super::database::{DatabaseConfig, DbKind};
use super::error::{bad, ConfigError};
use crate::cli::SettingsArgs;

#[derive(Debug, Clone)]
pub struct FeedConfig {
    /// `--follow-changes auto`: follow the database's changes when it can.
    pub on: bool,
    /// The URL to LISTEN on (PostgreSQL); `None` = the database URL.
    pub listen_url: Option<String>,
    pub heartbeat: Duration,
}

pub fn build(s: &SettingsArgs, db: &DatabaseConfig) -> Result<FeedConfig, ConfigError> {
    let listen_url = s.listen_database_url.clone();
    if let Some(url) = &listen_url {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(bad(
                "listen_database_url",
                "must be a postgres:// URL (only PostgreSQL LISTENs)",
            ));
        }
        if db.kind != DbKind::Postgres {
            return Err(bad(
                "listen_database_url",
                "applies to PostgreSQL only; SQLite's feed polls the database file",
            ));
        }
    }
    Ok(FeedConfig {
        on: s.follow_changes == "auto",
        listen_url,
        heartbeat: Duration::from_millis(s.change_feed_heartbeat_ms),
    })
}
