//! The issuer against Better Auth's layout: options, one key under racing requests, rotation,
//! and rows whose key cannot be used.
use super::*;
use crate::test_util::{key_row, now, secrets, settings, user, Fixture, ORIGIN};
use crate::token::at_rest::encrypt_private_key;
use crate::token::verify::VerifyOptions;
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
    let verifier = crate::token::verify::Verifier::new(
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

#[tokio::test]
async fn a_key_replaced_in_place_under_its_id_is_used_at_once() {
    let f = Fixture::new().await;
    let issuer = f.issuer();
    let kid = &f.eddsa.0.id;
    let first = issuer
        .issue(&user(), IssueOptions::default())
        .await
        .unwrap();
    assert_eq!(first.kid, *kid);
    let mut replacement = key_row(Alg::EdDSA).0;
    replacement.id = kid.clone();
    f.rows.replace(replacement.clone());
    // Past the reuse of the last read, so the issuer sees the new row.
    f.clock.advance(TimeDelta::seconds(1));
    let issued = issuer
        .issue(&user(), IssueOptions::default())
        .await
        .unwrap();
    let only_new = KeySet::from_rows(vec![replacement], &settings(), Arc::new(f.clock.clone()))
        .await
        .unwrap();
    let verifier = crate::token::verify::Verifier::new(
        Arc::new(only_new),
        Arc::new(settings()),
        secrets(),
        Arc::new(f.clock.clone()),
    );
    let verified = verifier
        .verify(&issued.token, VerifyOptions::default())
        .await;
    assert!(
        verified.is_ok(),
        "signed with the replaced key: {verified:?}"
    );
    // The issuer's own key set follows, so its tokens verify here at once too.
    let here = f
        .verifier()
        .verify(&issued.token, VerifyOptions::default())
        .await;
    assert!(here.is_ok(), "{here:?}");
}

#[tokio::test]
async fn a_read_only_issuer_creates_no_key() {
    let f = Fixture::new().await;
    let mut expired = key_row(Alg::EdDSA).0;
    expired.expires_at = Some(now() - TimeDelta::seconds(1));
    for start in [vec![], vec![expired]] {
        let rows = Arc::new(JwkRows::memory(start.clone()));
        let issuer = Issuer::new(
            Arc::clone(&rows),
            Arc::new(settings()),
            secrets(),
            Arc::new(f.clock.clone()),
        )
        .read_only(true);
        let err = issuer.issue(&user(), IssueOptions::default()).await;
        assert!(matches!(err, Err(TokenError::NoLiveKey)), "{err:?}");
        // Health then reports IssueToken NOT_SERVING.
        assert!(matches!(issuer.probe().await, Err(TokenError::NoLiveKey)));
        assert_eq!(rows.list().await.unwrap(), start);
    }
}

// Issue #14: the clock stands still, so every call below is within the reuse of the last read.
#[tokio::test]
async fn a_deleted_key_never_signs_again_and_an_empty_table_gets_a_new_row() {
    let f = Fixture::new().await;
    let issuer = f.issuer();
    let who = user();
    let issue = || issuer.issue(&who, IssueOptions::default());
    assert_eq!(issue().await.unwrap().kid, f.eddsa.0.id);
    f.rows.remove(&f.eddsa.0.id);
    // Better Auth's choice among what is left: the newest live row of any alg.
    assert_eq!(issue().await.unwrap().kid, f.es256.0.id);
    f.rows.remove(&f.es256.0.id);
    let created = issue().await.unwrap();
    let stored = f.rows.list().await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(created.kid, stored[0].id);
    let verified = f
        .verifier()
        .verify(&created.token, VerifyOptions::default())
        .await;
    assert!(verified.is_ok(), "{verified:?}");
}

#[tokio::test]
async fn a_key_replaced_or_expired_in_place_stops_signing_at_once() {
    let f = Fixture::new().await;
    let issuer = f.issuer();
    let who = user();
    let issue = || issuer.issue(&who, IssueOptions::default());
    let kid = f.eddsa.0.id.clone();
    assert_eq!(issue().await.unwrap().kid, kid);
    let mut replacement = key_row(Alg::EdDSA).0;
    replacement.id = kid.clone();
    f.rows.replace(replacement.clone());
    let only_new = KeySet::from_rows(
        vec![replacement.clone()],
        &settings(),
        Arc::new(f.clock.clone()),
    )
    .await
    .unwrap();
    let issued = issue().await.unwrap();
    let verifier = crate::token::verify::Verifier::new(
        Arc::new(only_new),
        Arc::new(settings()),
        secrets(),
        Arc::new(f.clock.clone()),
    );
    let verified = verifier
        .verify(&issued.token, VerifyOptions::default())
        .await;
    assert!(verified.is_ok(), "signed with the old key: {verified:?}");
    replacement.expires_at = Some(now() - TimeDelta::seconds(1));
    f.rows.replace(replacement);
    assert_eq!(
        issue().await.unwrap().kid,
        f.es256.0.id,
        "expired row signed"
    );
}

#[tokio::test]
async fn a_read_only_issuer_refuses_at_once_when_its_key_is_deleted() {
    let f = Fixture::new().await;
    let row = key_row(Alg::EdDSA).0;
    let rows = Arc::new(JwkRows::memory(vec![row.clone()]));
    let issuer = Issuer::new(
        Arc::clone(&rows),
        Arc::new(settings()),
        secrets(),
        Arc::new(f.clock.clone()),
    )
    .read_only(true);
    let who = user();
    let issue = || issuer.issue(&who, IssueOptions::default());
    assert_eq!(issue().await.unwrap().kid, row.id);
    rows.remove(&row.id);
    assert!(matches!(issue().await, Err(TokenError::NoLiveKey)));
    assert!(rows.list().await.unwrap().is_empty());
}
