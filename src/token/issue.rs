//! Minting JWTs the way Better Auth's jwt plugin does (COMPAT §4.5, §4.6, §7.4): same key
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
    /// Decrypted, parsed private keys by kid: a row's key never changes, so parse it once.
    signing_keys: RwLock<HashMap<String, Arc<SigningKey>>>,
    /// Serialises key creation in this process, so racing requests create one key, not many.
    creating: tokio::sync::Mutex<()>,
    /// Told about keys this issuer creates, so its tokens verify at once.
    key_set: Option<Arc<KeySet>>,
    /// The jwks rows as last read, and when (injected clock): reused for `ROWS_REUSE`, so
    /// IssueToken does not read the whole table on every call.
    recent: Mutex<Option<RecentRows>>,
}

/// A read of the jwks table and when it was made.
type RecentRows = (DateTime<Utc>, Arc<Vec<JwkRow>>);

/// How long a read of the jwks table is reused to choose the signing key: a key Better Auth
/// rotates in is signed with at most this long after it appears. Expiry is still judged per
/// call, and a miss (no live key among the reused rows) reads the table again.
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
            recent: Mutex::new(None),
        }
    }

    /// Reload this key set whenever the issuer creates a key.
    pub fn with_key_set(mut self, key_set: Arc<KeySet>) -> Self {
        self.key_set = Some(key_set);
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
    /// live key exists yet (the first `issue` creates one). Never creates a key.
    pub async fn probe(&self) -> Result<Option<String>, TokenError> {
        let now = self.clock.now();
        let rows = self.rows.list().await?;
        match select_signing_row(&rows, now, self.settings.alg) {
            Some(row) => self.load(row).map(|_| Some(row.id.clone())),
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

    /// Better Auth's choice of key; creates one (once) when no live key exists.
    async fn signing_key(
        &self,
        now: DateTime<Utc>,
    ) -> Result<(String, Arc<SigningKey>), TokenError> {
        if let Some(rows) = self.reusable_rows(now) {
            if let Some(row) = select_signing_row(&rows, now, self.settings.alg) {
                return Ok((row.id.clone(), self.load(row)?));
            }
        }
        let rows = self.read_rows(now).await?;
        if let Some(row) = select_signing_row(&rows, now, self.settings.alg) {
            return Ok((row.id.clone(), self.load(row)?));
        }
        let _only_one = self.creating.lock().await;
        // Whoever held the lock before us may have created the key already.
        let rows = self.read_rows(now).await?;
        if let Some(row) = select_signing_row(&rows, now, self.settings.alg) {
            return Ok((row.id.clone(), self.load(row)?));
        }
        self.create(now).await
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
        self.remember(&row.id, Arc::new(key));
        if let Some(set) = &self.key_set {
            set.invalidate();
            if let Err(e) = set.reload().await {
                tracing::warn!(error = %e, "could not reload the key set after creating a key");
            }
        }
        // Another process may have inserted a key at the same time: re-read and sign with
        // what Better Auth would pick now, so all signers converge on one key.
        let rows = self.read_rows(now).await?;
        let chosen = select_signing_row(&rows, now, self.settings.alg).ok_or_else(|| {
            TokenError::Internal(format!("jwks key {} not visible after insert", row.id))
        })?;
        Ok((chosen.id.clone(), self.load(chosen)?))
    }

    /// The row's private key, decrypted and parsed once.
    fn load(&self, row: &JwkRow) -> Result<Arc<SigningKey>, TokenError> {
        if let Some(k) = self
            .signing_keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&row.id)
        {
            return Ok(Arc::clone(k));
        }
        let key = Arc::new(self.parse(row)?);
        self.remember(&row.id, Arc::clone(&key));
        Ok(key)
    }

    fn parse(&self, row: &JwkRow) -> Result<SigningKey, TokenError> {
        let alg = alg_of_row(row, self.settings.alg)?;
        let jwk =
            decrypt_private_key(&row.id, &row.private_key, &self.secrets).inspect_err(|e| {
                tracing::error!(kid = %row.id, error = %e, "cannot decrypt the signing key");
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

    fn remember(&self, kid: &str, key: Arc<SigningKey>) {
        self.signing_keys
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(kid.to_owned(), key);
    }
}

fn seconds(t: i64) -> Result<DateTime<Utc>, TokenError> {
    DateTime::from_timestamp(t, 0)
        .ok_or_else(|| TokenError::Internal(format!("timestamp {t} out of range")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{key_row, now, secrets, settings, user, Fixture, ORIGIN};
    use crate::token::{encrypt_private_key, VerifyOptions};
    use chrono::TimeDelta;
    use serde_json::json;

    fn payload_keys(token: &str) -> Vec<String> {
        let p = token.split('.').nth(1).unwrap();
        let v: serde_json::Value =
            serde_json::from_slice(&crate::token::b64::decode(p).unwrap()).unwrap();
        v.as_object().unwrap().keys().cloned().collect()
    }

    #[tokio::test]
    async fn issues_with_better_auths_layout_and_verifies() {
        let f = Fixture::new().await;
        let issued = f
            .issuer()
            .issue(&user(), IssueOptions::default())
            .await
            .unwrap();
        assert_eq!(issued.kid, f.eddsa.0.id);
        assert_eq!(issued.alg, Alg::EdDSA);
        assert_eq!(issued.expires_at - issued.issued_at, TimeDelta::minutes(15));
        let header = issued.token.split('.').next().unwrap();
        assert_eq!(
            crate::token::b64::decode(header).unwrap(),
            format!(r#"{{"alg":"EdDSA","kid":"{}"}}"#, f.eddsa.0.id).into_bytes()
        );
        let keys = payload_keys(&issued.token);
        let expected = [
            "iat",
            "name",
            "email",
            "emailVerified",
            "image",
            "createdAt",
            "updatedAt",
            "role",
            "id",
            "sub",
            "exp",
            "iss",
            "aud",
        ];
        assert_eq!(keys, expected);
        let v = f
            .verifier()
            .verify(&issued.token, VerifyOptions::default())
            .await
            .unwrap();
        assert_eq!(v.sub, user().id);
        assert_eq!(v.claims["role"], json!("user"));
        assert_eq!(v.claims["aud"], json!(ORIGIN));
    }

    #[tokio::test]
    async fn options_override_lifetime_audience_and_time() {
        let mut s = settings();
        s.audience = Audience::Many(vec!["a".into(), "b".into()]);
        let f = Fixture::with_settings(s).await;
        let at = now() + TimeDelta::seconds(10);
        let opts = IssueOptions {
            audience: Some("b".into()),
            lifetime: Some(Duration::from_secs(60)),
            now: Some(at),
        };
        let issued = f.issuer().issue(&user(), opts).await.unwrap();
        assert_eq!(issued.issued_at, at);
        assert_eq!(issued.expires_at, at + TimeDelta::seconds(60));
        let v = f
            .verifier()
            .verify(&issued.token, VerifyOptions::default())
            .await
            .unwrap();
        assert_eq!(v.claims["aud"], json!("b"));
        let all = f
            .issuer()
            .issue(&user(), IssueOptions::default())
            .await
            .unwrap();
        let v = f
            .verifier()
            .verify(&all.token, VerifyOptions::default())
            .await
            .unwrap();
        assert_eq!(v.claims["aud"], json!(["a", "b"]));
        let bad = IssueOptions {
            audience: Some("c".into()),
            ..IssueOptions::default()
        };
        assert!(matches!(
            f.issuer().issue(&user(), bad).await,
            Err(TokenError::AudienceNotAllowed(_))
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn racing_requests_create_exactly_one_key() {
        let f = Fixture::new().await;
        let rows = Arc::new(JwkRows::memory(Vec::new()));
        let mut s = settings();
        s.rotation_interval = Some(Duration::from_secs(3600));
        let issuer = Arc::new(Issuer::new(
            Arc::clone(&rows),
            Arc::new(s),
            secrets(),
            Arc::new(f.clock.clone()),
        ));
        assert_eq!(issuer.probe().await.unwrap(), None);
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let issuer = Arc::clone(&issuer);
                tokio::spawn(async move {
                    issuer
                        .issue(&user(), IssueOptions::default())
                        .await
                        .map(|i| i.kid)
                })
            })
            .collect();
        let mut kids = Vec::new();
        for t in tasks {
            kids.push(t.await.unwrap().unwrap());
        }
        let stored = rows.list().await.unwrap();
        assert_eq!(stored.len(), 1);
        assert!(kids.iter().all(|k| *k == stored[0].id));
        assert_eq!(
            stored[0].expires_at,
            Some(stored[0].created_at + TimeDelta::hours(1))
        );
        assert_eq!(issuer.probe().await.unwrap(), Some(stored[0].id.clone()));
    }

    #[tokio::test]
    async fn a_key_rotated_in_elsewhere_is_signed_with_within_a_second() {
        let f = Fixture::new().await;
        let issuer = f.issuer();
        let who = user();
        let issue = || issuer.issue(&who, IssueOptions::default());
        assert_eq!(issue().await.unwrap().kid, f.eddsa.0.id);
        let (newer, _) = new_jwk_row(&settings(), &secrets(), now()).unwrap();
        f.rows.insert(&newer).await.unwrap();
        f.clock.advance(TimeDelta::milliseconds(999));
        assert_eq!(issue().await.unwrap().kid, f.eddsa.0.id, "rows reused");
        f.clock.advance(TimeDelta::milliseconds(1));
        assert_eq!(issue().await.unwrap().kid, newer.id, "re-read after 1 s");
    }

    #[tokio::test]
    async fn an_expired_key_is_rotated_and_the_new_key_verifies() {
        let f = Fixture::new().await;
        let mut old = key_row(Alg::EdDSA).0;
        old.expires_at = Some(now() - TimeDelta::seconds(1));
        let rows = Arc::new(JwkRows::memory(vec![old.clone()]));
        let keys = Arc::new(KeySet::new(
            Arc::clone(&rows),
            &settings(),
            Arc::new(f.clock.clone()),
        ));
        let issuer = Issuer::new(
            Arc::clone(&rows),
            Arc::new(settings()),
            secrets(),
            Arc::new(f.clock.clone()),
        )
        .with_key_set(Arc::clone(&keys));
        let issued = issuer
            .issue(&user(), IssueOptions::default())
            .await
            .unwrap();
        assert_ne!(issued.kid, old.id);
        assert_eq!(rows.list().await.unwrap().len(), 2);
        let verifier = crate::token::Verifier::new(
            keys,
            Arc::new(settings()),
            secrets(),
            Arc::new(f.clock.clone()),
        );
        assert!(verifier
            .verify(&issued.token, VerifyOptions::default())
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn another_alg_is_used_while_it_is_the_only_live_key() {
        let f = Fixture::new().await;
        let es = key_row(Alg::ES256).0;
        let rows = Arc::new(JwkRows::memory(vec![es.clone()]));
        let issuer = Issuer::new(
            Arc::clone(&rows),
            Arc::new(settings()),
            secrets(),
            Arc::new(f.clock.clone()),
        );
        let issued = issuer
            .issue(&user(), IssueOptions::default())
            .await
            .unwrap();
        assert_eq!((issued.kid, issued.alg), (es.id, Alg::ES256));
        assert_eq!(rows.list().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn an_undecryptable_key_names_itself_and_creates_nothing() {
        let f = Fixture::new().await;
        let mut row = key_row(Alg::EdDSA).0;
        let other = Secrets::from_secret("another-secret-0123456789abcdefghijklmn").unwrap();
        row.private_key = encrypt_private_key("{}", &other).unwrap();
        let rows = Arc::new(JwkRows::memory(vec![row.clone()]));
        let issuer = Issuer::new(
            Arc::clone(&rows),
            Arc::new(settings()),
            secrets(),
            Arc::new(f.clock.clone()),
        );
        let err = issuer
            .issue(&user(), IssueOptions::default())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, TokenError::KeyDecrypt { kid, .. } if *kid == row.id),
            "{err:?}"
        );
        assert!(err.to_string().contains(&row.id));
        assert!(matches!(
            issuer.probe().await,
            Err(TokenError::KeyDecrypt { .. })
        ));
        assert_eq!(rows.list().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn mismatched_key_halves_are_refused() {
        let f = Fixture::new().await;
        let mut row = key_row(Alg::EdDSA).0;
        row.public_key = key_row(Alg::EdDSA).0.public_key;
        let issuer = Issuer::new(
            Arc::new(JwkRows::memory(vec![row.clone()])),
            Arc::new(settings()),
            secrets(),
            Arc::new(f.clock.clone()),
        );
        let err = issuer
            .issue(&user(), IssueOptions::default())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, TokenError::BadKey { kid, .. } if *kid == row.id),
            "{err:?}"
        );
    }
}
