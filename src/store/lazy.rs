//! A store whose database may be down when the service starts: the service comes up anyway
//! (health NOT_SERVING, calls UNAVAILABLE) and opens the real store on the first call after the
//! database is back. Schema problems found then are reported like any database error.
use std::{future::Future, pin::Pin, sync::Arc};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::{Mutex, OnceCell};

use super::{SessionRow, Store, StoreError};
use crate::domain::model::{JwkRow, Session, User};

type Opener = Box<
    dyn Fn() -> Pin<Box<dyn Future<Output = Result<Arc<dyn Store>, StoreError>> + Send>>
        + Send
        + Sync,
>;

pub struct LazyStore {
    inner: OnceCell<Arc<dyn Store>>,
    opener: Opener,
    /// One opening attempt at a time; the others wait for its outcome instead of piling on.
    opening: Mutex<()>,
}

impl LazyStore {
    pub fn new(opener: Opener) -> Self {
        Self {
            inner: OnceCell::new(),
            opener,
            opening: Mutex::new(()),
        }
    }

    async fn store(&self) -> Result<&Arc<dyn Store>, StoreError> {
        if let Some(s) = self.inner.get() {
            return Ok(s);
        }
        let _one = self.opening.lock().await;
        if let Some(s) = self.inner.get() {
            return Ok(s);
        }
        let store = (self.opener)().await?;
        tracing::info!("database reachable: schema checked, serving");
        Ok(self.inner.get_or_init(|| async { store }).await)
    }
}

#[async_trait]
impl Store for LazyStore {
    async fn find_session(&self, token: &str) -> Result<Option<SessionRow>, StoreError> {
        self.store().await?.find_session(token).await
    }

    async fn refresh_session(
        &self,
        token: &str,
        expires_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.store()
            .await?
            .refresh_session(token, expires_at, updated_at)
            .await
    }

    async fn delete_session(&self, token: &str) -> Result<(), StoreError> {
        self.store().await?.delete_session(token).await
    }

    async fn find_user(&self, id: &str) -> Result<Option<User>, StoreError> {
        self.store().await?.find_user(id).await
    }

    async fn list_jwks(&self) -> Result<Vec<JwkRow>, StoreError> {
        self.store().await?.list_jwks().await
    }

    async fn find_jwk(&self, id: &str) -> Result<Option<JwkRow>, StoreError> {
        self.store().await?.find_jwk(id).await
    }

    async fn insert_jwk(&self, row: &JwkRow) -> Result<(), StoreError> {
        self.store().await?.insert_jwk(row).await
    }

    /// Unknown until the database has been reached; assume the jwt plugin's table is there.
    fn has_jwks(&self) -> bool {
        self.inner.get().is_none_or(|s| s.has_jwks())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.store().await?.ping().await
    }

    async fn insert_user(&self, user: &User) -> Result<(), StoreError> {
        self.store().await?.insert_user(user).await
    }

    async fn insert_session(&self, session: &Session) -> Result<(), StoreError> {
        self.store().await?.insert_session(session).await
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        self.store().await?.find_user_by_email(email).await
    }

    async fn latest_session_of(&self, user_id: &str) -> Result<Option<Session>, StoreError> {
        self.store().await?.latest_session_of(user_id).await
    }
}
