//! The cache of verified tokens, seen through the verifier: hits, expiry on the injected
//! clock, key-set changes and the narrowed audience.
use chrono::TimeDelta;
use serde_json::json;

use super::super::error::TokenError;
use super::VerifyOptions;
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
