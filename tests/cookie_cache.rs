//! Better Auth's session cookie cache (`--cookie-cache`) against real Better Auth 1.7.25 with each
//! strategy: its own Set-Cookie values answer valid without the database (the session row is
//! deleted first, and Better Auth's get-session still answers from the cookie too), while
//! tampered, expired, other-token and other-secret caches fall back to the database and so
//! answer invalid. Chunked cookies and the jwt plugin's `sessionCookieCache` included.
mod common;

use better_auth_grpc::{
    auth::signature::sign_cookie_value,
    clock::FixedClock,
    proto::auth::v1::{
        GetSessionRequest, GetSessionResponse, Reason, ValidateTokenRequest, ValidateTokenResponse,
    },
};
use chrono::{TimeDelta, Utc};
use common::{
    better_auth::{cookie_header, BetterAuth, BetterAuthOptions, DEFAULT_BASE_URL, DEFAULT_SECRET},
    db::Db,
    server::{settings, TestServer},
    sql,
};
use serde_json::Value;

const DATA: &str = "better-auth.session_data";
const OTHER_SECRET: &str = "another-secret-of-this-service-0123456789";
const PASSWORD: &str = "correct horse battery staple";
const PLUGIN_SIGNED: (&str, &str) = ("BA_JWT_SESSION_COOKIE_CACHE", "1");

async fn better_auth(db: &Db, env: &[(&str, &str)]) -> BetterAuth {
    let target = db
        .sqlite_path()
        .map_or(db.url.clone(), |p| p.display().to_string());
    let mut opts = BetterAuthOptions::new(target);
    for (k, v) in env {
        opts = opts.env(*k, *v);
    }
    BetterAuth::start(opts).await
}

/// This service with `--cookie-cache <strategy>` (None: off), room for chunked headers.
async fn service(db: &Db, secret: &str, strategy: Option<&str>, clock: &FixedClock) -> TestServer {
    let mut args = settings(&db.url, secret);
    args.base_url = Some(DEFAULT_BASE_URL.into());
    args.cookie_cache = strategy.unwrap_or("off").into();
    args.max_token_bytes = 65_536;
    args.max_message_bytes = 262_144;
    TestServer::start_at(args, clock).await
}

async fn validate(svc: &TestServer, header: &str) -> ValidateTokenResponse {
    let req = ValidateTokenRequest {
        token: header.into(),
        ..Default::default()
    };
    svc.client
        .clone()
        .validate_token(req)
        .await
        .expect("status OK")
        .into_inner()
}

async fn get_session(svc: &TestServer, header: &str) -> Result<GetSessionResponse, tonic::Status> {
    let req = GetSessionRequest {
        token: header.into(),
        disable_refresh: false,
    };
    svc.client
        .clone()
        .get_session(req)
        .await
        .map(|r| r.into_inner())
}

async fn delete_session(db: &Db, token: &str) {
    sql::exec(
        &db.url,
        &format!("DELETE FROM \"session\" WHERE \"token\" = '{token}'"),
    )
    .await;
}

/// The cookies of a header, and the same header with one cookie's value replaced.
fn with_cookie(header: &str, name: &str, value: &str) -> String {
    header
        .split("; ")
        .map(|c| match c.split_once('=') {
            Some((n, _)) if n == name => format!("{n}={value}"),
            _ => c.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn cookie<'h>(header: &'h str, name: &str) -> &'h str {
    header
        .split("; ")
        .find_map(|c| c.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} in {header}"))
}

/// One character in the middle of the value changed.
fn tampered(value: &str) -> String {
    let mut b = value.as_bytes().to_vec();
    let i = b.len() / 2;
    b[i] = if b[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(b).expect("ascii")
}

fn assert_gone(r: &ValidateTokenResponse, what: &str) {
    assert!(!r.valid, "{what}: answered valid");
    assert_eq!(r.reason, Reason::SessionNotFound as i32, "{what}");
}

/// The whole story for one strategy: Better Auth and this service agree on every case.
async fn scenario(db: Db, ba_strategy: &str, ours: &str, extra_env: &[(&str, &str)]) {
    let mut env = vec![("BA_COOKIE_CACHE", ba_strategy)];
    env.extend_from_slice(extra_env);
    let ba = better_auth(&db, &env).await;
    let email = format!("{ba_strategy}-{ours}@example.com");
    let first = ba.sign_up(&email, PASSWORD, "Cache User").await;
    let header = cookie_header(&first.set_cookies);
    assert!(
        header.contains(&format!("{DATA}=")),
        "no cache cookie: {header}"
    );
    let second = cookie_header(&ba.sign_in(&email, PASSWORD).await.set_cookies);

    let clock = FixedClock::at(Utc::now());
    let svc = service(&db, DEFAULT_SECRET, Some(ours), &clock).await;
    let before = validate(&svc, &header).await;
    assert!(before.valid, "{ba_strategy}: before deletion: {before:?}");

    delete_session(&db, &first.token).await;
    // Better Auth itself still answers from the cookie.
    let (status, ba_body, _) = ba.get_session_cookie(&header).await;
    assert_eq!(status, 200);
    assert_eq!(
        ba_body["session"]["token"],
        first.token.as_str(),
        "Better Auth: {ba_body}"
    );

    let r = validate(&svc, &header).await;
    assert!(
        r.valid,
        "{ba_strategy}/{ours}: valid cache after deletion: {r:?}"
    );
    assert_eq!(
        r.session.as_ref().map(|s| s.token.as_str()),
        Some(first.token.as_str())
    );
    let ours_body = get_session(&svc, &header)
        .await
        .expect("GetSession from the cache");
    assert_same(&ours_body, &ba_body);

    // Tampered: Better Auth ignores it too (and, the row gone, answers null).
    let bad = with_cookie(&header, DATA, &tampered(cookie(&header, DATA)));
    assert_gone(&validate(&svc, &bad).await, "tampered");
    assert!(
        get_session(&svc, &bad).await.is_err(),
        "tampered GetSession"
    );
    assert_eq!(
        ba.get_session_cookie(&bad).await.1,
        Value::Null,
        "Better Auth, tampered"
    );

    if ba_strategy == "compact" {
        // A character outside base64 makes Better Auth's decoder throw: get-session answers 500.
        // Here it is only a bad cache, and the database answers.
        let broken = with_cookie(&header, DATA, "~~~~");
        assert_eq!(
            ba.get_session_cookie(&broken).await.0,
            500,
            "Better Auth, undecodable"
        );
        assert_gone(&validate(&svc, &broken).await, "undecodable");
    }

    // Another session's cache beside this session's cookie.
    let mismatched = with_cookie(&header, DATA, cookie(&second, DATA));
    assert_gone(&validate(&svc, &mismatched).await, "mismatched token");
    assert_eq!(
        ba.get_session_cookie(&mismatched).await.1,
        Value::Null,
        "Better Auth, mismatched"
    );

    // A service with another secret: the session cookie is signed for it, the cache is not.
    let other = service(&db, OTHER_SECRET, Some(ours), &clock).await;
    let resigned = with_cookie(
        &header,
        "better-auth.session_token",
        &sign_cookie_value(&first.token, OTHER_SECRET.as_bytes()),
    );
    let r = validate(&other, &resigned).await;
    match extra_env.contains(&PLUGIN_SIGNED) {
        false => assert_gone(&r, "wrong secret"),
        // Signed with the jwks keys, not the secret: it verifies whatever the secret.
        true => assert!(r.valid, "jwt plugin's cache under another secret: {r:?}"),
    }

    // Off: the cache is not read at all.
    let off = service(&db, DEFAULT_SECRET, None, &clock).await;
    assert_gone(&validate(&off, &header).await, "cookie cache off");

    // Past Better Auth's maxAge (300 s) the cookie has expired.
    clock.advance(TimeDelta::seconds(301));
    assert_gone(&validate(&svc, &header).await, "expired");
    assert!(
        get_session(&svc, &header).await.is_err(),
        "expired GetSession"
    );
}

/// Our GetSession answer against Better Auth's get-session body, both from the cache.
fn assert_same(ours: &GetSessionResponse, ba: &Value) {
    let (s, u) = (ours.session.as_ref().unwrap(), ours.user.as_ref().unwrap());
    let iso = |t: &Option<prost_types::Timestamp>| {
        let t = t.as_ref().expect("timestamp");
        let dt = chrono::DateTime::from_timestamp(t.seconds, t.nanos as u32).unwrap();
        better_auth_grpc::domain::model::iso_millis(&dt)
    };
    assert_eq!(ba["session"]["id"], s.id.as_str());
    assert_eq!(ba["session"]["token"], s.token.as_str());
    assert_eq!(ba["session"]["userId"], s.user_id.as_str());
    assert_eq!(ba["session"]["expiresAt"], iso(&s.expires_at).as_str());
    assert_eq!(ba["session"]["createdAt"], iso(&s.created_at).as_str());
    assert_eq!(ba["session"]["updatedAt"], iso(&s.updated_at).as_str());
    assert_eq!(ba["user"]["id"], u.id.as_str());
    assert_eq!(ba["user"]["name"], u.name.as_str());
    assert_eq!(ba["user"]["email"], u.email.as_str());
    assert_eq!(ba["user"]["emailVerified"], u.email_verified);
    assert_eq!(ba["user"]["createdAt"], iso(&u.created_at).as_str());
}

#[tokio::test]
async fn compact_sqlite() {
    scenario(Db::sqlite().await, "compact", "compact", &[]).await;
}

#[tokio::test]
async fn compact_postgres() {
    scenario(Db::postgres().await, "compact", "compact", &[]).await;
}

#[tokio::test]
async fn jwt_sqlite() {
    scenario(Db::sqlite().await, "jwt", "jwt", &[]).await;
}

#[tokio::test]
async fn jwe_sqlite_told_by_shape() {
    scenario(Db::sqlite().await, "jwe", "auto", &[]).await;
}

#[tokio::test]
async fn jwe_postgres() {
    scenario(Db::postgres().await, "jwe", "jwe", &[]).await;
}

#[tokio::test]
async fn jwt_plugin_session_cookie_cache_sqlite() {
    scenario(Db::sqlite().await, "jwt", "jwt", &[PLUGIN_SIGNED]).await;
}

/// A user too big for one cookie: Better Auth writes `.0`, `.1`, …; read back in index order.
#[tokio::test]
async fn chunked_cookies_sqlite() {
    let db = Db::sqlite().await;
    let ba = better_auth(&db, &[("BA_COOKIE_CACHE", "compact")]).await;
    let name = "N".repeat(6000);
    let user = ba.sign_up("big@example.com", PASSWORD, &name).await;
    let header = cookie_header(&user.set_cookies);
    assert!(
        header.contains(&format!("{DATA}.0=")) && header.contains(&format!("{DATA}.1=")),
        "not chunked: {header}"
    );
    assert!(
        !header.contains(&format!("{DATA}=")),
        "unchunked copy too: {header}"
    );
    let clock = FixedClock::at(Utc::now());
    let svc = service(&db, DEFAULT_SECRET, Some("compact"), &clock).await;
    delete_session(&db, &user.token).await;
    assert_eq!(
        ba.get_session_cookie(&header).await.1["user"]["name"],
        name.as_str()
    );

    let r = validate(&svc, &header).await;
    assert!(r.valid, "chunked: {r:?}");
    assert_eq!(r.user.as_ref().map(|u| u.name.len()), Some(6000));
    // Header order does not matter, the index does.
    let mut reversed: Vec<&str> = header.split("; ").collect();
    reversed.reverse();
    assert!(
        validate(&svc, &reversed.join("; ")).await.valid,
        "reversed chunks"
    );
    // A chunk missing, or two swapped, is a bad cache: the database answers.
    let without_1: Vec<&str> = header
        .split("; ")
        .filter(|c| !c.starts_with(&format!("{DATA}.1=")))
        .collect();
    assert_gone(
        &validate(&svc, &without_1.join("; ")).await,
        "missing chunk",
    );
    let (c0, c1) = (
        cookie(&header, &format!("{DATA}.0")),
        cookie(&header, &format!("{DATA}.1")),
    );
    let swapped = with_cookie(
        &with_cookie(&header, &format!("{DATA}.0"), c1),
        &format!("{DATA}.1"),
        c0,
    );
    assert_gone(&validate(&svc, &swapped).await, "swapped chunks");
}
