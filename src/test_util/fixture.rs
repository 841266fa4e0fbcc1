//! The JWT layer wired as the service wires it, over in-memory rows and a fixed clock.
use std::sync::Arc;

use serde_json::{json, Value};

use super::keys::{key_row, now, secrets, settings, NOW, ORIGIN};
use crate::clock::FixedClock;
use crate::domain::model::JwkRow;
use crate::token::{Alg, Issuer, JwkRows, JwtSettings, KeySet, SigningKey, Verifier};

pub struct Fixture {
    pub clock: FixedClock,
    pub rows: Arc<JwkRows>,
    pub keys: Arc<KeySet>,
    pub settings: Arc<JwtSettings>,
    pub eddsa: (JwkRow, SigningKey),
    pub es256: (JwkRow, SigningKey),
    /// Keys of the further algs `with_keys` was given, in that order.
    pub more: Vec<(JwkRow, SigningKey)>,
}

impl Fixture {
    pub async fn new() -> Self {
        Self::with_settings(settings()).await
    }

    pub async fn with_settings(settings: JwtSettings) -> Self {
        Self::with_keys(settings, &[]).await
    }

    /// An EdDSA and an ES256 key, then one key of each alg of `more`.
    pub async fn with_keys(settings: JwtSettings, more: &[Alg]) -> Self {
        let eddsa = key_row(Alg::EdDSA);
        let es256 = key_row(Alg::ES256);
        let more: Vec<_> = more.iter().map(|&alg| key_row(alg)).collect();
        let all = [&eddsa, &es256].into_iter().chain(&more);
        let clock = FixedClock::at(now());
        let rows = Arc::new(JwkRows::memory(all.map(|(row, _)| row.clone()).collect()));
        let keys = Arc::new(KeySet::new(
            Arc::clone(&rows),
            &settings,
            Arc::new(clock.clone()),
        ));
        keys.reload().await.expect("in-memory rows load");
        Self {
            clock,
            rows,
            keys,
            settings: Arc::new(settings),
            eddsa,
            es256,
            more,
        }
    }

    /// How many keys: EdDSA, ES256 and the `more`.
    pub fn key_count(&self) -> usize {
        2 + self.more.len()
    }

    /// Key `k` (modulo `key_count`): EdDSA, ES256, then the `more` in order.
    pub fn pair(&self, k: usize) -> &(JwkRow, SigningKey) {
        match k % self.key_count() {
            0 => &self.eddsa,
            1 => &self.es256,
            i => &self.more[i - 2],
        }
    }

    pub fn verifier(&self) -> Verifier {
        self.verifier_with(Arc::clone(&self.settings))
    }

    /// A verifier over the same keys and clock, judging by other settings.
    pub fn verifier_with(&self, settings: Arc<JwtSettings>) -> Verifier {
        Verifier::new(
            Arc::clone(&self.keys),
            settings,
            secrets(),
            Arc::new(self.clock.clone()),
        )
    }

    pub fn issuer(&self) -> Issuer {
        self.issuer_with(Arc::clone(&self.settings))
    }

    /// An issuer over the same rows, key set and clock, with other settings (another alg).
    pub fn issuer_with(&self, settings: Arc<JwtSettings>) -> Issuer {
        Issuer::new(
            Arc::clone(&self.rows),
            settings,
            secrets(),
            Arc::new(self.clock.clone()),
        )
        .with_key_set(Arc::clone(&self.keys))
    }

    /// Claims a genuine token for this fixture would carry.
    pub fn claims(&self) -> Value {
        json!({"iat": NOW, "name": "n", "id": "u1", "sub": "u1", "exp": NOW + 900, "iss": ORIGIN, "aud": ORIGIN})
    }

    pub fn eddsa_header(&self) -> Value {
        json!({"alg": "EdDSA", "kid": self.eddsa.0.id})
    }
}
