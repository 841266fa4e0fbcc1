//! Minting JWTs the way Better Auth's jwt plugin does (docs/better-auth-compat.md §4.5, §4.6, §7.4): same key
//! choice, same bytes. EdDSA and RS256 tokens equal Better Auth's byte for byte.
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use secrecy::ExposeSecret;

use super::alg::{alg_of_row, Alg};
use super::at_rest::decrypt_private_key;
use super::encode::{better_auth_claims, sign_compact};
use super::error::TokenError;
use super::generate::new_jwk_row;
use super::jwk::PublicJwk;
use super::keyset::KeySet;
use super::rows::JwkRows;
use super::select::select_signing_row;
use super::settings::{Audience, JwtSettings};
use super::signing_key::SigningKey;
use crate::clock::SharedClock;
use crate::domain::model::{JwkRow, User};
use crate::domain::secret::Secrets;

#[derive(Debug, Clone, Default)]
pub struct IssueOptions {
    /// One audience instead of the configured `aud`; must be a configured audience.
    pub audience: Option<String>,
    /// Instead of the configured lifetime (Better Auth: 15 minutes).
    pub lifetime: Option<Duration>,
    /// Instead of the clock (tests, re-issuing at a known `iat`).
    pub now: Option<DateTime<Utc>>,
}

#[derive(Clone, PartialEq)]
pub struct IssuedJwt {
    pub token: String,
    pub kid: String,
    pub alg: Alg,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

// The token is a bearer credential: Debug shows everything but it.
impl std::fmt::Debug for IssuedJwt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedJwt")
            .field("token", &"[redacted]")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

pub struct Issuer {
    rows: Arc<JwkRows>,
    settings: Arc<JwtSettings>,
    secrets: Arc<Secrets>,
    clock: SharedClock,
    /// Decrypted, parsed private keys by kid, each with the row content it came from: a row
    /// re-keyed in place under the same id is parsed again instead of signing with the old key.
    signing_keys: RwLock<HashMap<String, (KeyMaterial, Arc<SigningKey>)>>,
    /// Serialises key creation in this process, so racing requests create one key, not many.
    creating: tokio::sync::Mutex<()>,
    /// Told about keys this issuer creates, so its tokens verify at once.
    key_set: Option<Arc<KeySet>>,
    /// `--read-only`: never create a key; with no live one, issuing fails (`NoLiveKey`).
    read_only: bool,
    /// The jwks rows as last read, and when (injected clock): reused for `ROWS_REUSE`, so
    /// IssueToken does not read the whole table on every call.
    recent: Mutex<Option<RecentRows>>,
}

/// The columns a signing key is built from; a change in any of them means another key.
#[derive(PartialEq, Eq)]
struct KeyMaterial {
    private_key: String,
    public_key: String,
    alg: Option<String>,
}

impl KeyMaterial {
    fn of(row: &JwkRow) -> Self {
        Self {
            private_key: row.private_key.clone(),
            public_key: row.public_key.clone(),
            alg: row.alg.clone(),
        }
    }
}

/// What the cache holds for a row's kid.
enum Cached {
    Same(Arc<SigningKey>),
    /// A key parsed from other content under the same kid.
    Replaced,
    Unknown,
}

/// A read of the jwks table and when it was made.
type RecentRows = (DateTime<Utc>, Arc<Vec<JwkRow>>);

/// How long a read of the jwks table is reused to choose the signing key: a key Better Auth
/// rotates in is signed with at most this long after it appears. Expiry is still judged per
/// call, each call looks its chosen row up by id (a deleted or changed row never signs again),
/// and a miss (no live key among the reused rows) reads the table again.
const ROWS_REUSE: TimeDelta = TimeDelta::seconds(1);

impl Issuer {
    pub fn new(
        rows: Arc<JwkRows>,
        settings: Arc<JwtSettings>,
        secrets: Arc<Secrets>,
        clock: SharedClock,
    ) -> Self {
        Self {
            rows,
            settings,
            secrets,
            clock,
            signing_keys: RwLock::default(),
            creating: tokio::sync::Mutex::new(()),
            key_set: None,
            read_only: false,
            recent: Mutex::new(None),
        }
    }

    /// Reload this key set whenever the issuer creates a key.
    pub fn with_key_set(mut self, key_set: Arc<KeySet>) -> Self {
        self.key_set = Some(key_set);
        self
    }

    /// Never write a jwks row (read replicas): with no live key, `issue` fails instead.
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    pub async fn issue(&self, user: &User, opts: IssueOptions) -> Result<IssuedJwt, TokenError> {
        let aud = self.audience(opts.audience)?;
        let now = opts.now.unwrap_or_else(|| self.clock.now());
        let lifetime = opts.lifetime.unwrap_or(self.settings.lifetime);
        let iat = now.timestamp();
        let exp = iat.saturating_add(i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX));
        let (kid, key) = self.signing_key(now).await?;
        let claims = better_auth_claims(user, iat, exp, &self.settings.issuer, aud);
        let token = sign_compact(&key, &kid, &claims)?;
        Ok(IssuedJwt {
            token,
            kid,
            alg: key.alg(),
            issued_at: seconds(iat)?,
            expires_at: seconds(exp)?,
        })
    }

    /// For health checks: the kid that would sign now, proven decryptable, or `None` when no
    /// live key exists yet (the first `issue` creates one; read-only, that is `NoLiveKey`).
    /// Never creates a key.
    pub async fn probe(&self) -> Result<Option<String>, TokenError> {
        let now = self.clock.now();
        let rows = self.rows.list().await?;
        match select_signing_row(&rows, now, self.settings.alg) {
            Some(row) => self.load(row).await.map(|_| Some(row.id.clone())),
            None if self.read_only => Err(TokenError::NoLiveKey),
            None => Ok(None),
        }
    }

    fn audience(&self, narrowed: Option<String>) -> Result<serde_json::Value, TokenError> {
        match narrowed {
            None => Ok(self.settings.audience.to_json()),
            Some(a) if self.settings.may_narrow_to(&a) => Ok(Audience::One(a).to_json()),
            Some(a) => Err(TokenError::AudienceNotAllowed(a)),
        }
    }

    /// Better Auth's choice of key; creates one (once) when no live key exists, unless read-only.
    async fn signing_key(
        &self,
        now: DateTime<Utc>,
    ) -> Result<(String, Arc<SigningKey>), TokenError> {
        if let Some(row) = self.recent_signing_row(now).await? {
            return Ok((row.id.clone(), self.load(&row).await?));
        }
        let rows = self.read_rows(now).await?;
        if let Some(row) = select_signing_row(&rows, now, self.settings.alg) {
            return Ok((row.id.clone(), self.load(row).await?));
        }
        if self.read_only {
            return Err(TokenError::NoLiveKey);
        }
        let _only_one = self.creating.lock().await;
        // Whoever held the lock before us may have created the key already.
        let rows = self.read_rows(now).await?;
        if let Some(row) = select_signing_row(&rows, now, self.settings.alg) {
            return Ok((row.id.clone(), self.load(row).await?));
        }
        self.create(now).await
    }

    /// The choice among the reused rows, if the table still holds that row unchanged. One
    /// primary-key lookup instead of reading every row: a deleted, re-keyed or expired row
    /// never signs again, and the full read that follows sees what replaced it.
    async fn recent_signing_row(&self, now: DateTime<Utc>) -> Result<Option<JwkRow>, TokenError> {
        let Some(rows) = self.reusable_rows(now) else {
            return Ok(None);
        };
        let Some(chosen) = select_signing_row(&rows, now, self.settings.alg) else {
            return Ok(None);
        };
        let current = self.rows.find(&chosen.id).await?;
        Ok(current.filter(|row| row == chosen))
    }

    fn reusable_rows(&self, now: DateTime<Utc>) -> Option<Arc<Vec<JwkRow>>> {
        let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        let (at, rows) = recent.as_ref()?;
        let age = now - *at;
        (age >= TimeDelta::zero() && age < ROWS_REUSE).then(|| Arc::clone(rows))
    }

    async fn read_rows(&self, now: DateTime<Utc>) -> Result<Arc<Vec<JwkRow>>, TokenError> {
        let rows = Arc::new(self.rows.list().await?);
        *self.recent.lock().unwrap_or_else(|p| p.into_inner()) = Some((now, Arc::clone(&rows)));
        Ok(rows)
    }

    async fn create(&self, now: DateTime<Utc>) -> Result<(String, Arc<SigningKey>), TokenError> {
        // RSA key generation takes long enough to stall a runtime worker.
        let (settings, secrets) = (Arc::clone(&self.settings), Arc::clone(&self.secrets));
        let (row, key) = tokio::task::spawn_blocking(move || new_jwk_row(&settings, &secrets, now))
            .await
            .map_err(|e| TokenError::Internal(format!("key generation task failed: {e}")))??;
        self.rows.insert(&row).await?;
        tracing::info!(kid = %row.id, alg = %self.settings.alg, "created a jwks key (no live key existed)");
        self.remember(&row, Arc::new(key));
        self.reload_key_set().await;
        // Another process may have inserted a key at the same time: re-read and sign with
        // what Better Auth would pick now, so all signers converge on one key.
        let rows = self.read_rows(now).await?;
        let chosen = select_signing_row(&rows, now, self.settings.alg).ok_or_else(|| {
            TokenError::Internal(format!("jwks key {} not visible after insert", row.id))
        })?;
        Ok((chosen.id.clone(), self.load(chosen).await?))
    }

    /// The row's private key, decrypted and parsed once per content of the row.
    async fn load(&self, row: &JwkRow) -> Result<Arc<SigningKey>, TokenError> {
        let replaced = match self.cached(row) {
            Cached::Same(key) => return Ok(key),
            Cached::Replaced => true,
            Cached::Unknown => false,
        };
        let key = Arc::new(self.parse(row)?);
        self.remember(row, Arc::clone(&key));
        if replaced {
            tracing::warn!(kid = %row.id, "jwks row replaced in place: signing with its new key");
            // The verifier still holds the old public key under this kid.
            self.reload_key_set().await;
        }
        Ok(key)
    }

    fn cached(&self, row: &JwkRow) -> Cached {
        let keys = self.signing_keys.read().unwrap_or_else(|p| p.into_inner());
        match keys.get(&row.id) {
            None => Cached::Unknown,
            Some((material, key)) if *material == KeyMaterial::of(row) => {
                Cached::Same(Arc::clone(key))
            }
            Some(_) => Cached::Replaced,
        }
    }

    async fn reload_key_set(&self) {
        if let Some(set) = &self.key_set {
            set.invalidate();
            if let Err(e) = set.reload().await {
                tracing::warn!(error = %e, "could not reload the key set after a key change");
            }
        }
    }

    fn parse(&self, row: &JwkRow) -> Result<SigningKey, TokenError> {
        let alg = alg_of_row(row, self.settings.alg)?;
        let jwk =
            decrypt_private_key(&row.id, &row.private_key, &self.secrets).inspect_err(|e| {
                tracing::error!(kid = %row.id, error = %e, "cannot decrypt the signing key");
                crate::domain::metric::key_decryption_failed();
            })?;
        let key = SigningKey::from_private_jwk(&row.id, jwk.expose_secret(), alg)?;
        // Tokens are checked against `publicKey`; refuse a row whose halves do not match.
        let public =
            PublicJwk::parse(&row.public_key).map_err(|e| TokenError::bad_key(&row.id, e))?;
        if &public != key.public_jwk() {
            return Err(TokenError::bad_key(
                &row.id,
                "privateKey does not belong to publicKey",
            ));
        }
        Ok(key)
    }

    fn remember(&self, row: &JwkRow, key: Arc<SigningKey>) {
        self.signing_keys
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(row.id.clone(), (KeyMaterial::of(row), key));
    }
}

fn seconds(t: i64) -> Result<DateTime<Utc>, TokenError> {
    DateTime::from_timestamp(t, 0)
        .ok_or_else(|| TokenError::Internal(format!("timestamp {t} out of range")))
}

#[cfg(test)]
mod tests;
