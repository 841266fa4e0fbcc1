//! Verifying keys by `kid`, held in memory and refreshed from the `jwks` table.
//!
//! An unknown `kid` triggers a reload, because Better Auth rotates lazily and a token may
//! carry a key created a moment ago. Reloads are single-flight (one at a time; callers that
//! waited see its result instead of starting another) and rate-limited by a cool-down, so a
//! flood of invented kids costs at most one query per cool-down. Expired rows stay loaded:
//! Better Auth's own `verifyJWT` accepts any row with the token's id (COMPAT §4.8).
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::alg::Alg;
use super::error::TokenError;
use super::rows::JwkRows;
use super::settings::JwtSettings;
use super::verifying_key::VerifyingKey;
use crate::clock::SharedClock;
use crate::domain::model::JwkRow;
use crate::store::StoreError;

type Keys = Arc<HashMap<String, Arc<VerifyingKey>>>;

pub struct KeySet {
    rows: Arc<JwkRows>,
    default_alg: Alg,
    cool_down: Duration,
    clock: SharedClock,
    keys: RwLock<Keys>,
    /// Held for the whole of a reload: the single flight.
    reloading: tokio::sync::Mutex<()>,
    /// Bumped after every reload, so a waiter can tell that one finished meanwhile.
    generation: AtomicU64,
    /// When the last reload caused by an unknown kid started.
    last_miss_reload: Mutex<Option<DateTime<Utc>>>,
    /// Bumped only when a reload changes the usable keys (ids or public keys): caches of
    /// verified tokens tag entries with it, so a removed or replaced key drops them.
    epoch: AtomicU64,
    /// The sorted (kid, public key) pairs of the loaded keys, to tell a change from a reread.
    fingerprint: Mutex<Vec<(String, String)>>,
    /// Why the last reload failed, while it stays failed: a miss in the cool-down then
    /// reports the database as unavailable instead of calling a good kid unknown.
    last_failure: Mutex<Option<String>>,
}

impl KeySet {
    /// An empty set; the first lookup (or `reload`) reads the table.
    pub fn new(rows: Arc<JwkRows>, settings: &JwtSettings, clock: SharedClock) -> Self {
        Self {
            rows,
            default_alg: settings.alg,
            cool_down: settings.reload_cool_down,
            clock,
            keys: RwLock::new(Arc::default()),
            reloading: tokio::sync::Mutex::new(()),
            generation: AtomicU64::new(0),
            last_miss_reload: Mutex::new(None),
            epoch: AtomicU64::new(0),
            fingerprint: Mutex::new(Vec::new()),
            last_failure: Mutex::new(None),
        }
    }

    /// A set over fixed rows, without a database (offline vectors, tests).
    pub async fn from_rows(
        rows: Vec<JwkRow>,
        settings: &JwtSettings,
        clock: SharedClock,
    ) -> Result<Self, TokenError> {
        let set = Self::new(Arc::new(JwkRows::memory(rows)), settings, clock);
        set.reload().await?;
        Ok(set)
    }

    /// Re-reads the table now (single-flight, no cool-down). Returns how many keys are usable.
    pub async fn reload(&self) -> Result<usize, TokenError> {
        let _flight = self.reloading.lock().await;
        self.load().await
    }

    /// Forgets the cool-down, so the next unknown kid reloads at once (e.g. after this
    /// process inserted a key, or an operator rotated keys).
    pub fn invalidate(&self) {
        *self
            .last_miss_reload
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// The key for `kid`, reloading once (within the cool-down) if it is not known yet.
    pub async fn get(&self, kid: &str) -> Result<Option<Arc<VerifyingKey>>, TokenError> {
        if let Some(k) = self.cached(kid) {
            return Ok(Some(k));
        }
        let seen = self.generation.load(Ordering::Acquire);
        let _flight = self.reloading.lock().await;
        if self.generation.load(Ordering::Acquire) == seen && self.may_reload_for_miss() {
            self.load().await?;
            return Ok(self.cached(kid));
        }
        match (self.cached(kid), self.failure()) {
            (None, Some(why)) => Err(StoreError::Unavailable(why).into()),
            (found, _) => Ok(found),
        }
    }

    fn failure(&self) -> Option<String> {
        self.last_failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Changes whenever the usable keys change (see `epoch` field).
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    pub fn len(&self) -> usize {
        self.snapshot().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn cached(&self, kid: &str) -> Option<Arc<VerifyingKey>> {
        self.snapshot().get(kid).cloned()
    }

    fn snapshot(&self) -> Keys {
        self.keys
            .read()
            .map(|k| Arc::clone(&k))
            .unwrap_or_else(|p| Arc::clone(&p.into_inner()))
    }

    /// Claims the cool-down slot if it is free. Called with the flight lock held.
    fn may_reload_for_miss(&self) -> bool {
        let now = self.clock.now();
        let mut last = self
            .last_miss_reload
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let cool_down = TimeDelta::from_std(self.cool_down).unwrap_or(TimeDelta::MAX);
        // An end beyond the calendar means "cooling down forever", not a panic.
        let cooling =
            |t: DateTime<Utc>| t.checked_add_signed(cool_down).is_none_or(|end| now < end);
        if last.is_some_and(cooling) {
            return false;
        }
        *last = Some(now);
        true
    }

    /// Reads all rows and swaps the map in one step. Called with the flight lock held.
    async fn load(&self) -> Result<usize, TokenError> {
        let result = self.rows.list().await.map(|rows| {
            let usable: Vec<_> = rows
                .iter()
                .filter_map(|r| Some((r, self.parse(r)?)))
                .collect();
            let changed = self.note_fingerprint(usable.iter().map(|(r, _)| *r));
            let keys: HashMap<_, _> = usable.into_iter().map(|(_, k)| k).collect();
            let n = keys.len();
            *self.keys.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(keys);
            // After the swap: whoever reads the new epoch verifies with the new keys.
            if changed {
                self.epoch.fetch_add(1, Ordering::AcqRel);
            }
            n
        });
        *self.last_failure.lock().unwrap_or_else(|p| p.into_inner()) = result
            .as_ref()
            .err()
            .map(|e| format!("jwks reload failed: {e}"));
        // After the swap: a waiter that sees the new generation also sees the new keys.
        self.generation.fetch_add(1, Ordering::AcqRel);
        result
    }

    /// Records the usable rows; true if they differ from the last load's.
    fn note_fingerprint<'r>(&self, rows: impl Iterator<Item = &'r JwkRow>) -> bool {
        let mut now: Vec<(String, String)> =
            rows.map(|r| (r.id.clone(), r.public_key.clone())).collect();
        now.sort_unstable();
        let mut last = self.fingerprint.lock().unwrap_or_else(|p| p.into_inner());
        let changed = *last != now;
        *last = now;
        changed
    }

    /// A row that cannot be used is logged and left out; its tokens are then "unknown key".
    fn parse(&self, row: &JwkRow) -> Option<(String, Arc<VerifyingKey>)> {
        match VerifyingKey::from_row(row, self.default_alg) {
            Ok(k) => Some((row.id.clone(), Arc::new(k))),
            Err(e) => {
                tracing::warn!(error = %e, "jwks row ignored");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::domain::secret::Secrets;
    use crate::token::generate::new_jwk_row;

    fn settings() -> JwtSettings {
        JwtSettings::for_origin("http://localhost:3000")
    }

    fn new_row() -> JwkRow {
        let secrets = Secrets::from_secret(crate::test_util::SECRET).unwrap();
        new_jwk_row(&settings(), &secrets, Utc::now()).unwrap().0
    }

    #[tokio::test]
    async fn rotated_in_keys_are_found_and_random_kids_are_rate_limited() {
        let clock = FixedClock::at(Utc::now());
        let rows = Arc::new(JwkRows::memory(vec![new_row()]));
        let set = KeySet::new(Arc::clone(&rows), &settings(), Arc::new(clock.clone()));
        assert_eq!(set.reload().await.unwrap(), 1);

        // A key rotated in after start-up is picked up by the first miss.
        let rotated = new_row();
        rows.insert(&rotated).await.unwrap();
        assert!(set.get(&rotated.id).await.unwrap().is_some());

        // Within the cool-down a second new key is not looked for...
        let later = new_row();
        rows.insert(&later).await.unwrap();
        assert!(set.get(&later.id).await.unwrap().is_none());
        assert!(set.get("random-kid").await.unwrap().is_none());
        // ...after it, it is.
        clock.advance(TimeDelta::seconds(5));
        assert!(set.get(&later.id).await.unwrap().is_some());
        // invalidate() lifts the cool-down.
        let third = new_row();
        rows.insert(&third).await.unwrap();
        set.invalidate();
        assert!(set.get(&third.id).await.unwrap().is_some());
        assert_eq!(set.len(), 4);
    }

    #[tokio::test]
    async fn expired_rows_still_verify_and_bad_rows_are_skipped() {
        let mut expired = new_row();
        expired.expires_at = Some(Utc::now() - TimeDelta::days(400));
        let mut bad_alg = new_row();
        bad_alg.alg = Some("HS256".into());
        let mut wrong_curve = new_row();
        wrong_curve.alg = Some("ES256".into());
        let mut legacy = new_row();
        legacy.alg = None;
        let ids = [
            expired.id.clone(),
            bad_alg.id.clone(),
            wrong_curve.id.clone(),
            legacy.id.clone(),
        ];
        let set = KeySet::from_rows(
            vec![expired, bad_alg, wrong_curve, legacy],
            &settings(),
            Arc::new(FixedClock::at(Utc::now())),
        )
        .await
        .unwrap();
        assert_eq!(set.len(), 2);
        assert!(set.get(&ids[0]).await.unwrap().is_some());
        assert!(set.get(&ids[1]).await.unwrap().is_none());
        assert!(set.get(&ids[2]).await.unwrap().is_none());
        assert_eq!(
            set.get(&ids[3]).await.unwrap().map(|k| k.alg()),
            Some(Alg::EdDSA)
        );
    }

    #[tokio::test]
    async fn a_database_outage_is_unavailable_not_unknown_key() {
        let clock = FixedClock::at(Utc::now());
        let set = KeySet::new(
            Arc::new(JwkRows::down()),
            &settings(),
            Arc::new(clock.clone()),
        );
        for _ in 0..3 {
            let err = set.get("kid").await.unwrap_err();
            assert!(
                matches!(err, TokenError::Store(StoreError::Unavailable(_))),
                "{err:?}"
            );
        }
        assert!(set.reload().await.is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_flood_of_unknown_kids_reloads_once() {
        let clock = FixedClock::at(Utc::now());
        let set = Arc::new(KeySet::new(
            Arc::new(JwkRows::memory(vec![new_row()])),
            &settings(),
            Arc::new(clock),
        ));
        set.reload().await.unwrap();
        let before = set.generation.load(Ordering::Acquire);
        let tasks: Vec<_> = (0..64)
            .map(|i| {
                let set = Arc::clone(&set);
                tokio::spawn(async move { set.get(&format!("kid-{i}")).await.unwrap().is_none() })
            })
            .collect();
        for t in tasks {
            assert!(t.await.unwrap());
        }
        assert_eq!(set.generation.load(Ordering::Acquire), before + 1);
    }
}
