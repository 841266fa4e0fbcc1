//! The fixed world every JWT fixture shares: one secret, one origin, one instant.
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};

use crate::domain::model::{JwkRow, User};
use crate::domain::secret::Secrets;
use crate::token::{new_jwk_row, Alg, JwtSettings, SigningKey};

pub const SECRET: &str = "test-secret-0123456789abcdefghijklmnop";
pub const ORIGIN: &str = "http://127.0.0.1:3000";
/// What the fixed clock says: fuzz/dict/jwt.dict carries this instant and its neighbours.
pub const NOW: i64 = 1_795_520_081;

pub fn now() -> DateTime<Utc> {
    Utc.timestamp_opt(NOW, 0).single().unwrap_or_default()
}

pub fn secrets() -> Arc<Secrets> {
    Arc::new(Secrets::from_secret(SECRET).expect("the test secret is long enough"))
}

pub fn settings() -> JwtSettings {
    JwtSettings::for_origin(ORIGIN)
}

/// A fresh key of `alg`, made an hour before `NOW`.
pub fn key_row(alg: Alg) -> (JwkRow, SigningKey) {
    let mut s = settings();
    s.alg = alg;
    new_jwk_row(&s, &secrets(), now() - chrono::TimeDelta::hours(1)).expect("key generation")
}

/// Claims a genuine token for `sub` carries (no `id`, unlike `Fixture::claims`).
pub fn claims_for(sub: &str) -> Value {
    json!({"iat": NOW, "name": "n", "sub": sub, "exp": NOW + 900, "iss": ORIGIN, "aud": ORIGIN})
}

pub fn user() -> User {
    let created = Utc
        .timestamp_millis_opt(1_795_520_080_883)
        .single()
        .unwrap_or_default();
    User {
        id: "JjFfTgCaINnjVYjc9VVNVpJ2Q4ONLJ1x".into(),
        name: "Peer User 0".into(),
        email: "sample-0@example.com".into(),
        email_verified: false,
        image: None,
        created_at: created,
        updated_at: created,
        extra: vec![("role".into(), json!("user"))],
    }
}
