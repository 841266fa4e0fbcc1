//! Verified JWTs, remembered so a token seen again skips the signature check.
//!
//! Safe to reuse because a JWT's verdict depends only on its bytes, the key set, the
//! settings and the clock: entries are keyed by SHA-256 of the token (plus the audience the
//! caller narrowed to), never hold the token itself, are tagged with the key-set epoch they
//! were verified under (a changed key set misses), and are used only while `exp` is ahead of
//! the injected clock (an expired token always goes through the full check and gets its
//! reason). Memory is bounded by an entry count and by each token's own `exp`.
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest;
use moka::sync::Cache;
use moka::Expiry;

use super::verified_jwt::VerifiedJwt;
use crate::domain::metric;

type Key = [u8; 32];

struct Entry {
    jwt: VerifiedJwt,
    key_epoch: u64,
}

pub(crate) struct VerifiedCache {
    entries: Cache<Key, Arc<Entry>>,
}

/// Evicts an entry when its token expires (wall clock; the clock check on read is the
/// authoritative one).
struct UntilExp;

impl Expiry<Key, Arc<Entry>> for UntilExp {
    fn expire_after_create(&self, _: &Key, e: &Arc<Entry>, _: Instant) -> Option<Duration> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let exp = u64::try_from(e.jwt.exp).unwrap_or(0);
        Some(Duration::from_secs(exp.saturating_sub(now)))
    }
}

impl VerifiedCache {
    /// `None` when `max_entries` is 0 (the cache is off).
    pub(crate) fn new(max_entries: u64) -> Option<Self> {
        (max_entries > 0).then(|| Self {
            entries: Cache::builder()
                .max_capacity(max_entries)
                .expire_after(UntilExp)
                .eviction_listener(|_, _, cause| {
                    metric::cache_eviction(metric::VERIFIED_JWT_CACHE, cause)
                })
                .build(),
        })
    }

    pub(crate) fn key(token: &str, audience: Option<&str>) -> Key {
        let mut ctx = digest::Context::new(&digest::SHA256);
        // The narrowed audience is part of the verdict; the separator keeps (aud, token) pairs apart.
        if let Some(aud) = audience {
            ctx.update(aud.as_bytes());
        }
        ctx.update(&[0]);
        ctx.update(token.as_bytes());
        let mut key = [0u8; 32];
        key.copy_from_slice(ctx.finish().as_ref());
        key
    }

    /// The cached verdict, if it was reached under this key set and the token has not
    /// expired by `now - leeway` (seconds since the epoch).
    pub(crate) fn get(
        &self,
        key: &Key,
        key_epoch: u64,
        now: i64,
        leeway: i64,
    ) -> Option<VerifiedJwt> {
        let e = self.entries.get(key);
        metric::cache_lookup(metric::VERIFIED_JWT_CACHE, e.is_some());
        let e = e?;
        let live = e.jwt.exp > now.saturating_sub(leeway);
        if e.key_epoch != key_epoch || !live {
            self.entries.invalidate(key);
            return None;
        }
        Some(e.jwt.clone())
    }

    pub(crate) fn insert(&self, key: Key, jwt: &VerifiedJwt, key_epoch: u64) {
        let entry = Entry {
            jwt: jwt.clone(),
            key_epoch,
        };
        self.entries.insert(key, Arc::new(entry));
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.entry_count()
    }
}
