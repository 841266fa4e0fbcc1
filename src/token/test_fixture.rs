//! Shared set-up for the token layer's unit tests: keys, rows, a fixed clock, and a way to
//! forge arbitrary tokens.
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};

use super::{b64, new_jwk_row, Alg, Issuer, JwkRows, JwtSettings, KeySet, SigningKey, Verifier};
use crate::clock::FixedClock;
use crate::domain::model::{JwkRow, User};
use crate::domain::secret::Secrets;

pub const SECRET: &str = "test-secret-0123456789abcdefghijklmnop";
pub const ORIGIN: &str = "http://127.0.0.1:3000";
pub const NOW: i64 = 1_795_520_081;

pub fn now() -> DateTime<Utc> {
    Utc.timestamp_opt(NOW, 0).single().unwrap_or_default()
}

pub fn secrets() -> Arc<Secrets> {
    Arc::new(Secrets::from_secret(SECRET).unwrap())
}

pub fn settings() -> JwtSettings {
    JwtSettings::for_origin(ORIGIN)
}

pub fn key_row(alg: Alg) -> (JwkRow, SigningKey) {
    let mut s = settings();
    s.alg = alg;
    new_jwk_row(&s, &secrets(), now() - chrono::TimeDelta::hours(1)).unwrap()
}

pub fn user() -> User {
    User {
        id: "JjFfTgCaINnjVYjc9VVNVpJ2Q4ONLJ1x".into(),
        name: "Peer User 0".into(),
        email: "sample-0@example.com".into(),
        email_verified: false,
        image: None,
        created_at: Utc
            .timestamp_millis_opt(1_795_520_080_883)
            .single()
            .unwrap_or_default(),
        updated_at: Utc
            .timestamp_millis_opt(1_795_520_080_883)
            .single()
            .unwrap_or_default(),
        extra: vec![("role".into(), json!("user"))],
    }
}

pub struct Fixture {
    pub clock: FixedClock,
    pub rows: Arc<JwkRows>,
    pub keys: Arc<KeySet>,
    pub settings: Arc<JwtSettings>,
    pub eddsa: (JwkRow, SigningKey),
    pub es256: (JwkRow, SigningKey),
}

impl Fixture {
    pub async fn new() -> Self {
        Self::with_settings(settings()).await
    }

    pub async fn with_settings(settings: JwtSettings) -> Self {
        let eddsa = key_row(Alg::EdDSA);
        let es256 = key_row(Alg::ES256);
        let clock = FixedClock::at(now());
        let rows = Arc::new(JwkRows::memory(vec![eddsa.0.clone(), es256.0.clone()]));
        let keys = Arc::new(KeySet::new(
            Arc::clone(&rows),
            &settings,
            Arc::new(clock.clone()),
        ));
        keys.reload().await.unwrap();
        Self {
            clock,
            rows,
            keys,
            settings: Arc::new(settings),
            eddsa,
            es256,
        }
    }

    pub fn verifier(&self) -> Verifier {
        Verifier::new(
            Arc::clone(&self.keys),
            Arc::clone(&self.settings),
            secrets(),
            Arc::new(self.clock.clone()),
        )
    }

    pub fn issuer(&self) -> Issuer {
        Issuer::new(
            Arc::clone(&self.rows),
            Arc::clone(&self.settings),
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

/// `b64(header).b64(payload).sign(key)` for any header and payload, however wrong.
pub fn forge(header: &Value, payload: &Value, key: &SigningKey) -> String {
    let input = format!(
        "{}.{}",
        b64::encode(header.to_string()),
        b64::encode(payload.to_string())
    );
    let sig = key.sign(input.as_bytes()).unwrap();
    format!("{input}.{sig}")
}

/// HS256 over `header.payload` with an arbitrary HMAC key.
pub fn forge_hs256(header: &Value, payload: &Value, hmac_key: &[u8]) -> String {
    use aws_lc_rs::hmac;
    let input = format!(
        "{}.{}",
        b64::encode(header.to_string()),
        b64::encode(payload.to_string())
    );
    let tag = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, hmac_key),
        input.as_bytes(),
    );
    format!("{input}.{}", b64::encode(tag.as_ref()))
}
