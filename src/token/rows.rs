//! Where `jwks` rows come from: Better Auth's database through the `Store`, or an in-memory
//! list (offline vectors, tests) that behaves like a table with a primary key.
use std::sync::{Arc, Mutex};

use super::error::TokenError;
use crate::domain::model::JwkRow;
use crate::store::{Store, StoreError};

pub struct JwkRows(Source);

enum Source {
    Store(Arc<dyn Store>),
    Memory(Mutex<Vec<JwkRow>>),
    /// A database that is down, for tests of the failure paths.
    #[cfg(test)]
    Down,
}

impl JwkRows {
    pub fn store(store: Arc<dyn Store>) -> Self {
        Self(Source::Store(store))
    }

    pub fn memory(rows: Vec<JwkRow>) -> Self {
        Self(Source::Memory(Mutex::new(rows)))
    }

    #[cfg(test)]
    pub(crate) fn down() -> Self {
        Self(Source::Down)
    }

    /// Every row (Better Auth's own verifier also looks at all of them).
    pub async fn list(&self) -> Result<Vec<JwkRow>, TokenError> {
        match &self.0 {
            Source::Store(s) => Ok(s.list_jwks().await?),
            Source::Memory(rows) => Ok(lock(rows).clone()),
            #[cfg(test)]
            Source::Down => Err(down()),
        }
    }

    /// The row with this id, if the table still has one.
    pub async fn find(&self, id: &str) -> Result<Option<JwkRow>, TokenError> {
        match &self.0 {
            Source::Store(s) => Ok(s.find_jwk(id).await?),
            Source::Memory(rows) => Ok(lock(rows).iter().find(|r| r.id == id).cloned()),
            #[cfg(test)]
            Source::Down => Err(down()),
        }
    }

    pub async fn insert(&self, row: &JwkRow) -> Result<(), TokenError> {
        match &self.0 {
            Source::Store(s) => Ok(s.insert_jwk(row).await?),
            Source::Memory(rows) => {
                let mut rows = lock(rows);
                if rows.iter().any(|r| r.id == row.id) {
                    return Err(StoreError::Other(format!("duplicate jwks id {}", row.id)).into());
                }
                rows.push(row.clone());
                Ok(())
            }
            #[cfg(test)]
            Source::Down => Err(down()),
        }
    }
}

#[cfg(test)]
impl JwkRows {
    /// Deletes a row of an in-memory list (an operator removing a compromised key).
    pub(crate) fn remove(&self, id: &str) {
        if let Source::Memory(rows) = &self.0 {
            lock(rows).retain(|r| r.id != id);
        }
    }

    /// Overwrites the row with the same id (an operator re-keying a row in place).
    pub(crate) fn replace(&self, row: JwkRow) {
        if let Source::Memory(rows) = &self.0 {
            for r in lock(rows).iter_mut().filter(|r| r.id == row.id) {
                *r = row.clone();
            }
        }
    }
}

// A poisoned lock only means another thread panicked mid-push; the Vec is still valid.
fn lock(rows: &Mutex<Vec<JwkRow>>) -> std::sync::MutexGuard<'_, Vec<JwkRow>> {
    rows.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
fn down() -> TokenError {
    StoreError::Unavailable("connection refused".into()).into()
}
