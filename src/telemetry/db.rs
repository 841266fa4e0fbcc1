//! The store as seen from outside: every call timed into the query latency histogram, counted
//! when the database is unavailable, and run inside a `db` span (a child of the RPC's span in
//! traces). Only the operation's name is recorded, never a token, id or email it was given.
use std::{future::Future, sync::Arc, time::Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tracing::Instrument;

use crate::domain::{
    metric,
    model::{JwkRow, Session, User},
};
use crate::store::{SessionRow, Store, StoreError};

pub struct MeteredStore {
    inner: Arc<dyn Store>,
    system: &'static str,
}

impl MeteredStore {
    /// `system`: OpenTelemetry's `db.system.name` (`postgresql`, `sqlite`).
    pub fn wrap(inner: Arc<dyn Store>, system: &'static str) -> Arc<dyn Store> {
        Arc::new(Self { inner, system })
    }

    async fn timed<T>(
        &self,
        op: &'static str,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let span = tracing::info_span!(
            "db",
            otel.name = op,
            db.operation.name = op,
            db.system.name = self.system,
            otel.kind = "client"
        );
        let started = Instant::now();
        let result = call.instrument(span).await;
        metrics::histogram!(metric::DB_QUERY_SECONDS, "operation" => op)
            .record(started.elapsed().as_secs_f64());
        if let Err(StoreError::Unavailable(_)) = &result {
            metrics::counter!(metric::DB_UNAVAILABLE, "operation" => op).increment(1);
        }
        result
    }
}

#[async_trait]
impl Store for MeteredStore {
    async fn find_session(&self, token: &str) -> Result<Option<SessionRow>, StoreError> {
        self.timed("find_session", self.inner.find_session(token))
            .await
    }

    async fn refresh_session(
        &self,
        token: &str,
        expires_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let call = self.inner.refresh_session(token, expires_at, updated_at);
        self.timed("refresh_session", call).await
    }

    async fn delete_session(&self, token: &str) -> Result<(), StoreError> {
        self.timed("delete_session", self.inner.delete_session(token))
            .await
    }

    async fn find_user(&self, id: &str) -> Result<Option<User>, StoreError> {
        self.timed("find_user", self.inner.find_user(id)).await
    }

    async fn list_jwks(&self) -> Result<Vec<JwkRow>, StoreError> {
        self.timed("list_jwks", self.inner.list_jwks()).await
    }

    async fn find_jwk(&self, id: &str) -> Result<Option<JwkRow>, StoreError> {
        self.timed("find_jwk", self.inner.find_jwk(id)).await
    }

    async fn insert_jwk(&self, row: &JwkRow) -> Result<(), StoreError> {
        self.timed("insert_jwk", self.inner.insert_jwk(row)).await
    }

    fn has_jwks(&self) -> bool {
        self.inner.has_jwks()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.timed("ping", self.inner.ping()).await
    }

    async fn insert_user(&self, user: &User) -> Result<(), StoreError> {
        self.timed("insert_user", self.inner.insert_user(user))
            .await
    }

    async fn insert_session(&self, session: &Session) -> Result<(), StoreError> {
        self.timed("insert_session", self.inner.insert_session(session))
            .await
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        self.timed("find_user_by_email", self.inner.find_user_by_email(email))
            .await
    }

    async fn latest_session_of(&self, user_id: &str) -> Result<Option<Session>, StoreError> {
        self.timed("latest_session_of", self.inner.latest_session_of(user_id))
            .await
    }
}
