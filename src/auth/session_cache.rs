//! The positive cache of ValidateToken's session lookups.
//!
//! With the change feed live (`auth::feed`), a sign-out, a deleted session or a changed user
//! drops its entries as soon as the change is committed, and the cache is on by default.
//! Without a feed it is opt-in: a signed-out session is still answered valid until its entry is
//! older than the chosen maximum staleness. Expiry is never stale: a hit past the session's
//! `expiresAt` is refused like a miss would be. Only positive answers are kept, keyed by
//! SHA-256 of the token (the token itself is never held), which is also how the feed names a
//! session.
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::digest;
use chrono::{DateTime, TimeDelta, Utc};
use moka::sync::Cache;

use crate::domain::{metric, model::SessionAndUser};

pub type Key = [u8; 32];

struct Entry {
    found: SessionAndUser,
    checked_at: DateTime<Utc>,
}

#[derive(Clone)]
pub struct SessionCache {
    entries: Cache<Key, Arc<Entry>>,
    max_staleness: TimeDelta,
}

pub enum Lookup {
    Hit(Box<SessionAndUser>),
    /// Its session has expired by the clock: refuse without asking the database.
    Expired,
    Miss,
}

impl SessionCache {
    /// `None` when `max_staleness` is zero or `max_entries` is 0 (the cache is off).
    pub fn new(max_staleness: Duration, max_entries: u64) -> Option<Self> {
        let staleness = TimeDelta::from_std(max_staleness).ok()?;
        (!max_staleness.is_zero() && max_entries > 0).then(|| Self {
            entries: Cache::builder()
                .max_capacity(max_entries)
                .time_to_live(max_staleness)
                .eviction_listener(|_, _, cause| {
                    metric::cache_eviction(metric::SESSION_CACHE, cause)
                })
                .build(),
            max_staleness: staleness,
        })
    }

    pub fn key(token: &str) -> Key {
        let mut key = [0u8; 32];
        key.copy_from_slice(digest::digest(&digest::SHA256, token.as_bytes()).as_ref());
        key
    }

    /// `now` is the injected clock at millisecond precision.
    pub fn get(&self, key: &Key, now: DateTime<Utc>) -> Lookup {
        let found = self.entries.get(key);
        metric::cache_lookup(metric::SESSION_CACHE, found.is_some());
        let Some(e) = found else {
            return Lookup::Miss;
        };
        if now - e.checked_at >= self.max_staleness {
            self.entries.invalidate(key);
            return Lookup::Miss;
        }
        // Strict, like Better Auth and the database path: equal to now is still valid.
        if e.found.session.expires_at < now {
            self.entries.invalidate(key);
            return Lookup::Expired;
        }
        Lookup::Hit(Box::new(e.found.clone()))
    }

    pub fn insert(&self, key: Key, found: &SessionAndUser, checked_at: DateTime<Utc>) {
        let entry = Entry {
            found: found.clone(),
            checked_at,
        };
        self.entries.insert(key, Arc::new(entry));
    }

    /// The row changed (refreshed, expired, gone): drop what we remembered.
    pub fn forget(&self, key: &Key) {
        self.entries.invalidate(key);
    }

    /// The user changed (banned, deleted, renamed): drop every session of theirs. A scan:
    /// user changes are rare next to lookups, and an index would cost every insert.
    pub fn forget_user(&self, user_id: &str) {
        for (key, e) in self.entries.iter() {
            if e.found.user.id == user_id {
                self.entries.invalidate(key.as_ref());
            }
        }
    }

    pub fn clear(&self) {
        self.entries.invalidate_all();
    }
}
