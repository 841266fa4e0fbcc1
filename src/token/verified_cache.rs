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

use super::verify::VerifiedJwt;

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
        let e = self.entries.get(key)?;
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

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use serde_json::json;

    use super::super::{TokenError, VerifyOptions};
    use crate::domain::reason::Reason;
    use crate::test_util::{forge, Fixture, NOW, ORIGIN};

    fn refused(r: Result<super::VerifiedJwt, TokenError>) -> Reason {
        match r {
            Err(TokenError::Refused(reason)) => reason,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    fn token(f: &Fixture, exp: i64) -> String {
        let mut claims = f.claims();
        claims["exp"] = json!(exp);
        forge(&f.eddsa_header(), &claims, &f.eddsa.1)
    }

    #[tokio::test]
    async fn a_repeated_token_is_answered_from_the_cache_and_failures_are_not_kept() {
        let f = Fixture::new().await;
        let v = f.verifier();
        let good = token(&f, NOW + 60);
        let first = v.verify(&good, VerifyOptions::default()).await.unwrap();
        assert_eq!(
            v.verify(&good, VerifyOptions::default()).await.unwrap(),
            first
        );
        // A character well inside the signature (the last one carries padding bits).
        let at = good.len() - 10;
        let swap = if &good[at..=at] == "A" { "B" } else { "A" };
        let tampered = format!("{}{swap}{}", &good[..at], &good[at + 1..]);
        for _ in 0..2 {
            let r = v.verify(&tampered, VerifyOptions::default()).await;
            assert_eq!(refused(r), Reason::JwtBadSignature);
        }
        assert_eq!(v.cache.as_ref().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_cached_token_still_expires_on_the_injected_clock() {
        let f = Fixture::new().await;
        let v = f.verifier();
        let t = token(&f, NOW + 60);
        v.verify(&t, VerifyOptions::default()).await.unwrap();
        f.clock.advance(TimeDelta::seconds(59));
        v.verify(&t, VerifyOptions::default()).await.unwrap();
        f.clock.advance(TimeDelta::seconds(1));
        let r = v.verify(&t, VerifyOptions::default()).await;
        assert_eq!(refused(r), Reason::JwtExpired);
    }

    #[tokio::test]
    async fn a_removed_key_drops_its_cached_tokens() {
        let f = Fixture::new().await;
        let v = f.verifier();
        let t = token(&f, NOW + 600);
        v.verify(&t, VerifyOptions::default()).await.unwrap();
        f.rows.remove(&f.eddsa.0.id);
        f.keys.reload().await.unwrap();
        let r = v.verify(&t, VerifyOptions::default()).await;
        assert_eq!(refused(r), Reason::JwtUnknownKey);
    }

    #[tokio::test]
    async fn a_reread_of_unchanged_keys_keeps_the_cache() {
        let f = Fixture::new().await;
        let before = f.keys.epoch();
        f.keys.reload().await.unwrap();
        assert_eq!(f.keys.epoch(), before);
    }

    #[tokio::test]
    async fn the_narrowed_audience_is_part_of_the_key() {
        let mut s = crate::test_util::settings();
        s.extra_audiences = vec!["svc-b".into()];
        let f = Fixture::with_settings(s).await;
        let v = f.verifier();
        let t = token(&f, NOW + 600);
        v.verify(
            &t,
            VerifyOptions {
                audience: Some(ORIGIN),
            },
        )
        .await
        .unwrap();
        let r = v
            .verify(
                &t,
                VerifyOptions {
                    audience: Some("svc-b"),
                },
            )
            .await;
        assert_eq!(refused(r), Reason::JwtBadAudience);
    }

    #[tokio::test]
    async fn zero_entries_turns_it_off() {
        let mut s = crate::test_util::settings();
        s.verified_cache_entries = 0;
        let f = Fixture::with_settings(s).await;
        assert!(f.verifier().cache.is_none());
    }
}
