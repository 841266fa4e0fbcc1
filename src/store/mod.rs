//! The database behind Better Auth. One trait and one SQL implementation of it; each engine
//! supplies only its dialect. Everything crossing this boundary is a domain type.
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::model::{JwkRow, Session, User};

pub mod batch;
mod catalog;
pub mod columns;
pub mod dialect;
pub mod feed;
pub mod held;
pub mod lazy;
pub mod pg_time;
pub mod postgres;
mod queries;
pub mod schema;
pub mod sql_store;
pub mod sqlite;
pub mod statements;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached (refused, timed out, pool exhausted). Callers may retry.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The schema lacks what this service needs; the message names it and the fix.
    #[error("{0}")]
    Schema(String),
    /// A stored value cannot be decoded (e.g. a date in an unknown format).
    #[error("bad data in {table}.{column}: {detail}")]
    BadData {
        table: String,
        column: String,
        detail: String,
    },
    /// Any other database error.
    #[error("database error: {0}")]
    Other(String),
}

/// A session row joined with its user row (`None` when the user row is missing).
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub session: Session,
    pub user: Option<User>,
}

/// Which tables exist, for `migrate` and start-up checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaState {
    pub present: Vec<String>,
    pub missing: Vec<String>,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `SELECT … FROM session JOIN user WHERE token = $1`, one round trip.
    async fn find_session(&self, token: &str) -> Result<Option<SessionRow>, StoreError>;
    /// `find_session` for several tokens in one round trip where the engine allows it: the rows
    /// found, in no particular order (a token may match none).
    async fn find_sessions(&self, tokens: &[String]) -> Result<Vec<SessionRow>, StoreError> {
        one_by_one(self, tokens).await
    }
    /// Sliding refresh. Returns false when no row had that token.
    async fn refresh_session(
        &self,
        token: &str,
        expires_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    async fn delete_session(&self, token: &str) -> Result<(), StoreError>;
    async fn find_user(&self, id: &str) -> Result<Option<User>, StoreError>;
    async fn list_jwks(&self) -> Result<Vec<JwkRow>, StoreError>;
    /// One jwks row by primary key: how IssueToken confirms, without reading every private
    /// key, that the row it is about to sign with is still there unchanged.
    async fn find_jwk(&self, id: &str) -> Result<Option<JwkRow>, StoreError>;
    async fn insert_jwk(&self, row: &JwkRow) -> Result<(), StoreError>;
    /// Whether the jwt plugin's `jwks` table exists (JWT features need it).
    fn has_jwks(&self) -> bool;
    /// Cheap liveness probe for health reporting.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Demo and tests: insert Better Auth-shaped rows.
    async fn insert_user(&self, user: &User) -> Result<(), StoreError>;
    async fn insert_session(&self, session: &Session) -> Result<(), StoreError>;
    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, StoreError>;
    /// The newest session of a user, live or not.
    async fn latest_session_of(&self, user_id: &str) -> Result<Option<Session>, StoreError>;
}

/// `find_sessions` as a `find_session` per token.
pub(crate) async fn one_by_one<S: Store + ?Sized>(
    store: &S,
    tokens: &[String],
) -> Result<Vec<SessionRow>, StoreError> {
    let mut found = Vec::with_capacity(tokens.len());
    for t in tokens {
        found.extend(store.find_session(t).await?);
    }
    Ok(found)
}

/// The tables `migrate` creates: Better Auth's core four and the jwt plugin's `jwks`.
pub const MIGRATED_TABLES: &[&str] = &["user", "session", "account", "verification", "jwks"];

/// Connection-level failures are `Unavailable` (retryable); the rest are plain errors.
pub(crate) fn map_sqlx(e: sqlx::Error) -> StoreError {
    use sqlx::Error as E;
    match e {
        E::Io(_) | E::Tls(_) | E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed => {
            StoreError::Unavailable(e.to_string())
        }
        E::Database(db) if is_unavailable_code(db.code().as_deref()) => {
            StoreError::Unavailable(db.to_string())
        }
        E::Database(db) if is_statement_name_code(db.code().as_deref()) => {
            StoreError::Other(format!("{db}: {}", postgres::POOLER_HINT))
        }
        E::Database(db) if is_data_exception(db.code().as_deref()) => StoreError::Other(format!(
            "a bound value was refused by the column's type (SQLSTATE {})",
            db.code().unwrap_or_default()
        )),
        other => StoreError::Other(other.to_string()),
    }
}

/// PostgreSQL class 22 (`invalid input syntax for type uuid: "…"`) quotes the bound value,
/// which can be a credential: such errors keep only their code, even in the log.
fn is_data_exception(code: Option<&str>) -> bool {
    code.is_some_and(|c| c.len() == 5 && c.starts_with("22"))
}

/// `prepared statement "sqlx_s_1" already exists` (42P05) or `does not exist` (26000): what
/// named statements meet behind a transaction-mode pooler.
fn is_statement_name_code(code: Option<&str>) -> bool {
    matches!(code, Some("42P05" | "26000"))
}

/// PostgreSQL classes 08 (connection), 53 (resources), 57P0x (shutdown); SQLite BUSY/LOCKED.
fn is_unavailable_code(code: Option<&str>) -> bool {
    code.is_some_and(|c| {
        c.starts_with("08") || c.starts_with("53") || c.starts_with("57P") || c == "5" || c == "6"
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    #[derive(Debug)]
    struct PgError(&'static str, &'static str);

    impl std::fmt::Display for PgError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.1)
        }
    }

    impl std::error::Error for PgError {}

    impl sqlx::error::DatabaseError for PgError {
        fn message(&self) -> &str {
            self.1
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(self.0.into())
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    #[test]
    fn bound_values_stay_out_of_error_text() {
        let echo = "invalid input syntax for type uuid: \"secret-token\"";
        let e = map_sqlx(sqlx::Error::Database(Box::new(PgError("22P02", echo))));
        assert!(!e.to_string().contains("secret-token"), "{e}");
        assert!(e.to_string().contains("22P02"), "{e}");
        let e = map_sqlx(sqlx::Error::Database(Box::new(PgError(
            "42P01", "no table",
        ))));
        assert!(e.to_string().contains("no table"), "{e}");
    }

    #[test]
    fn statement_names_a_pooler_mixed_up_name_the_setting() {
        for code in ["42P05", "26000"] {
            let db = PgError(code, "prepared statement \"sqlx_s_1\" already exists");
            let e = map_sqlx(sqlx::Error::Database(Box::new(db))).to_string();
            assert!(e.contains("sqlx_s_1"), "{e}");
            assert!(e.contains("--db-prepared-statements false"), "{e}");
        }
    }
}
