//! The cookie cache end to end: real Better Auth values read back, and get-session's rules.
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

use super::*;
use crate::clock::FixedClock;

const SECRET: &str = "better-auth-grpc-test-secret-0123456789abcdef";
const SECOND: &str = "second-secret-0123456789abcdefghijklmnop";
const NAME: &str = "better-auth.session_data";
const TOKEN: &str = "tok123";

/// Values Better Auth 1.7.25's own code wrote (tests/betterauth/cookie-cache-vectors.mjs): the
/// session expires at 1900000000000, compact's cookie at 1800000300000, the JWTs at `now + 300`.
fn vectors() -> Value {
    serde_json::from_str(include_str!("better_auth_vectors.json")).unwrap()
}

fn vector(name: &str) -> String {
    vectors()[name].as_str().unwrap().to_owned()
}

fn issued_at() -> DateTime<Utc> {
    DateTime::from_timestamp(vectors()["now"].as_i64().unwrap(), 0).unwrap()
}

fn cache(strategy: Strategy, secrets: Secrets, at: DateTime<Utc>) -> (CookieCache, FixedClock) {
    let clock = FixedClock::at(at);
    let rules = CookieCacheRules {
        strategy,
        cookie_name: NAME.into(),
        jwt_issuer: "http://127.0.0.1:3000".into(),
    };
    let c = CookieCache::new(rules, Arc::new(secrets), None, Arc::new(clock.clone()));
    (c, clock)
}

fn one_secret() -> Secrets {
    Secrets::from_secret(SECRET).unwrap()
}

fn header(value: &str) -> String {
    format!("better-auth.session_token=x; {NAME}={value}")
}

async fn hit(c: &CookieCache, value: &str) -> Option<SessionAndUser> {
    c.lookup(&header(value), TOKEN).await
}

#[tokio::test]
async fn better_auths_own_values_are_read_by_each_strategy() {
    let compact_at = DateTime::from_timestamp_millis(1_800_000_000_000).unwrap();
    let cases = [
        (Strategy::Compact, "compact", compact_at),
        (Strategy::Jwt, "jwt", issued_at()),
        (Strategy::Jwe, "jwe", issued_at()),
    ];
    for (strategy, name, at) in cases {
        for s in [strategy, Strategy::Auto] {
            let (c, _) = cache(s, one_secret(), at);
            let found = hit(&c, &vector(name))
                .await
                .unwrap_or_else(|| panic!("{name} {s:?}"));
            assert_eq!(found.session.id, "s1");
            assert_eq!(
                found.session.expires_at.timestamp_millis(),
                1_900_000_000_000
            );
            assert_eq!(found.session.user_agent.as_deref(), Some("ua"));
            assert_eq!(found.user.name, "Zoë");
            assert_eq!(found.user.email, "z@example.com");
        }
    }
}

#[tokio::test]
async fn a_strategy_reads_only_its_own_values() {
    let (c, _) = cache(Strategy::Compact, one_secret(), issued_at());
    assert!(hit(&c, &vector("jwt")).await.is_none());
    let (c, _) = cache(Strategy::Jwt, one_secret(), issued_at());
    assert!(hit(&c, &vector("jwe")).await.is_none());
}

#[tokio::test]
async fn jwe_tries_every_secret() {
    let versioned = |list: &str| Secrets::resolve(Some(list), None, None).unwrap();
    // Encrypted with SECRET: found as the second of the versioned secrets.
    let (c, _) = cache(
        Strategy::Jwe,
        versioned(&format!("2:{SECOND},1:{SECRET}")),
        issued_at(),
    );
    assert!(hit(&c, &vector("jwe")).await.is_some());
    // Encrypted with SECOND (the versioned current one then): found after another current one.
    let (c, _) = cache(
        Strategy::Jwe,
        versioned(&format!("3:{SECRET},2:{SECOND}")),
        issued_at(),
    );
    assert!(hit(&c, &vector("jwe2")).await.is_some());
    // And as the legacy secret beside versioned ones.
    let legacy = Secrets::resolve(Some(&format!("3:{SECRET}")), Some(SECOND), None).unwrap();
    let (c, _) = cache(Strategy::Jwe, legacy, issued_at());
    assert!(hit(&c, &vector("jwe2")).await.is_some());
    let (c, _) = cache(Strategy::Jwe, one_secret(), issued_at());
    assert!(hit(&c, &vector("jwe2")).await.is_none());
}

#[tokio::test]
async fn compact_and_jwt_use_only_the_current_secret() {
    let other_first =
        Secrets::resolve(Some(&format!("2:{SECOND},1:{SECRET}")), None, None).unwrap();
    let (c, _) = cache(Strategy::Jwt, other_first, issued_at());
    assert!(hit(&c, &vector("jwt")).await.is_none());
    let wrong = Secrets::from_secret(SECOND).unwrap();
    let at = DateTime::from_timestamp_millis(1_800_000_000_000).unwrap();
    let (c, _) = cache(Strategy::Compact, wrong, at);
    assert!(hit(&c, &vector("compact")).await.is_none());
}

#[tokio::test]
async fn expiry_is_the_cookies_and_the_sessions() {
    // compact: the cookie's own expiresAt (ms), strict `<`.
    let at = DateTime::from_timestamp_millis(1_800_000_300_000).unwrap();
    let (c, clock) = cache(Strategy::Compact, one_secret(), at);
    assert!(hit(&c, &vector("compact")).await.is_some());
    clock.advance(TimeDelta::milliseconds(1));
    assert!(hit(&c, &vector("compact")).await.is_none());
    // jwt: exp with no tolerance (exp <= now is expired).
    let (c, clock) = cache(
        Strategy::Jwt,
        one_secret(),
        issued_at() + TimeDelta::seconds(299),
    );
    assert!(hit(&c, &vector("jwt")).await.is_some());
    clock.advance(TimeDelta::seconds(1));
    assert!(hit(&c, &vector("jwt")).await.is_none());
    // jwe: Better Auth's exp * 1000 < now check is stricter than jose's 15 s.
    let (c, clock) = cache(
        Strategy::Jwe,
        one_secret(),
        issued_at() + TimeDelta::seconds(300),
    );
    assert!(hit(&c, &vector("jwe")).await.is_some());
    clock.advance(TimeDelta::milliseconds(1));
    assert!(hit(&c, &vector("jwe")).await.is_none());
}

fn payload(token: &str, session_expires: &str, version: Option<&str>) -> Value {
    let mut p = serde_json::json!({
        "session": {"expiresAt": session_expires, "token": token, "createdAt": "2027-01-01T00:00:00.000Z",
                    "updatedAt": "2027-01-01T00:00:00.000Z", "ipAddress": null, "userAgent": null, "userId": "u1", "id": "s1"},
        "user": {"name": "N", "email": "n@example.com", "emailVerified": false, "image": null,
                 "createdAt": "2027-01-01T00:00:00.000Z", "updatedAt": "2027-01-01T00:00:00.000Z", "id": "u1"},
        "updatedAt": 1,
    });
    if let Some(v) = version {
        p["version"] = v.into();
    }
    p
}

#[tokio::test]
async fn the_token_version_and_session_expiry_must_match() {
    let now = DateTime::parse_from_rfc3339("2027-06-01T00:00:00Z")
        .unwrap()
        .to_utc();
    let cookie_expiry = now.timestamp_millis() + 300_000;
    let (c, _) = cache(Strategy::Compact, one_secret(), now);
    let value = |p: &Value| compact::tests::encode(p, cookie_expiry, SECRET.as_bytes());
    let future = "2027-06-08T00:00:00.000Z";
    assert!(hit(&c, &value(&payload(TOKEN, future, None)))
        .await
        .is_some());
    assert!(hit(&c, &value(&payload(TOKEN, future, Some("1"))))
        .await
        .is_some());
    assert!(hit(&c, &value(&payload("another", future, None)))
        .await
        .is_none());
    assert!(hit(&c, &value(&payload(TOKEN, future, Some("2"))))
        .await
        .is_none());
    let past = "2027-05-31T23:59:59.999Z";
    assert!(hit(&c, &value(&payload(TOKEN, past, None))).await.is_none());
    let exactly_now = "2027-06-01T00:00:00.000Z";
    assert!(hit(&c, &value(&payload(TOKEN, exactly_now, None)))
        .await
        .is_some());
}

#[tokio::test]
async fn chunks_and_garbage() {
    let at = DateTime::from_timestamp_millis(1_800_000_000_000).unwrap();
    let (c, _) = cache(Strategy::Auto, one_secret(), at);
    let v = vector("compact");
    let (a, b) = v.split_at(v.len() / 2);
    let chunked = format!("better-auth.session_token=x; {NAME}.1={b}; {NAME}.0={a}");
    assert!(c.lookup(&chunked, TOKEN).await.is_some());
    let swapped = format!("better-auth.session_token=x; {NAME}.1={a}; {NAME}.0={b}");
    assert!(c.lookup(&swapped, TOKEN).await.is_none());
    for garbage in ["", "x", "a.b.c", "a.b.c.d.e", "%%%", "eyJ.eyJ.eyJ"] {
        assert!(hit(&c, garbage).await.is_none(), "{garbage:?}");
    }
    assert!(c
        .lookup("better-auth.session_token=x", TOKEN)
        .await
        .is_none());
}

#[tokio::test]
async fn a_plugin_signed_jwt_without_jwt_settings_is_not_read() {
    let (c, _) = cache(Strategy::Jwt, one_secret(), issued_at());
    let header = crate::token::b64_encode(
        r#"{"alg":"EdDSA","kid":"k","typ":"better-auth.session-cache+jwt"}"#,
    );
    assert!(hit(&c, &format!("{header}.e30.c2ln")).await.is_none());
}
