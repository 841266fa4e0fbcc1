//! Smoke test of the Better Auth test harness (`tests/betterauth/server.mjs` driven by
//! `tests/common/better_auth.rs`): real Better Auth from npm on a temporary SQLite file, installed
//! by the harness itself (`tests/common/better_auth_install.rs`).

#[path = "common/better_auth.rs"]
mod better_auth;
#[path = "common/better_auth_install.rs"]
mod better_auth_install;
#[path = "common/files.rs"]
#[allow(dead_code)]
mod files;

use std::fs;

use better_auth::{
    find_session_cookie, harness_dir, BetterAuth, BetterAuthOptions, DEFAULT_BASE_URL,
};
use better_auth_install::{ensure_installed, is_current, require_programs, write_stamp};
use serde_json::Value;

#[test]
fn installs_the_pinned_better_auth_by_itself() {
    let dir = harness_dir();
    ensure_installed(&dir);
    assert!(is_current(&dir), "stamp differs from package-lock.json");
    let manifest = fs::read(dir.join("node_modules/better-auth/package.json")).unwrap();
    let manifest: Value = serde_json::from_slice(&manifest).unwrap();
    assert_eq!(manifest["version"], "1.7.25");
}

#[test]
fn install_stamp_follows_the_package_lock() {
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("package-lock.json");
    fs::write(&lock, r#"{"v":1}"#).unwrap();
    assert!(!is_current(dir.path()), "nothing installed yet");
    fs::create_dir(dir.path().join("node_modules")).unwrap();
    write_stamp(dir.path());
    assert!(is_current(dir.path()));
    fs::write(&lock, r#"{"v":2}"#).unwrap();
    assert!(
        !is_current(dir.path()),
        "a changed lock file needs a new npm ci"
    );
}

#[test]
#[should_panic(expected = "apt-get install nodejs npm")]
fn install_names_what_to_install_when_a_tool_is_missing() {
    require_programs(&["node", "better-auth-grpc-no-such-program"]);
}

#[tokio::test]
async fn harness_runs_real_better_auth_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("auth.sqlite");
    let ba = BetterAuth::start(BetterAuthOptions::sqlite(&db)).await;
    assert!(db.is_file(), "Better Auth did not create the SQLite file");
    assert_ne!(ba.port(), 0);

    // Sign up: session cookie, raw token, bearer header.
    let email = "harness-user@example.com";
    let password = "correct horse battery staple";
    let signed = ba.sign_up(email, password, "Harness User").await;
    assert_eq!(signed.token.len(), 32, "token: {}", signed.token);
    assert!(signed.token.chars().all(|c| c.is_ascii_alphanumeric()));
    assert!(
        signed
            .cookie_header
            .starts_with("better-auth.session_token="),
        "{}",
        signed.cookie_header
    );
    // value = encodeURIComponent(token + "." + base64(HMAC)), the padded sig ends in "%3D".
    assert!(signed
        .cookie_value
        .starts_with(&format!("{}.", signed.token)));
    assert!(
        signed.cookie_value.ends_with("%3D"),
        "{}",
        signed.cookie_value
    );
    let bearer = signed
        .set_auth_token
        .clone()
        .expect("bearer plugin sets set-auth-token");
    assert!(bearer.starts_with(&format!("{}.", signed.token)));
    assert!(bearer.ends_with('='), "{bearer}");
    assert_eq!(signed.body["user"]["email"], email);

    // get-session with the cookie.
    let (status, body, _) = ba.get_session_cookie(&signed.cookie_header).await;
    assert_eq!(status, 200);
    assert_eq!(body["user"]["email"], email, "{body}");
    assert_eq!(body["user"]["id"], signed.user_id.as_str());
    assert_eq!(body["session"]["token"], signed.token.as_str());

    // get-session with the bearer value.
    let (status, body, _) = ba.get_session_bearer(&bearer).await;
    assert_eq!(status, 200);
    assert_eq!(body["user"]["email"], email, "{body}");
    assert_eq!(body["session"]["userId"], signed.user_id.as_str());

    // A tampered cookie gives no session.
    let (name, value) = signed.cookie_header.split_once('=').unwrap();
    let first = if value.starts_with('A') { 'B' } else { 'A' };
    let tampered = format!("{name}={first}{}", &value[1..]);
    let (status, body, _) = ba.get_session_cookie(&tampered).await;
    assert_eq!(status, 200);
    assert_eq!(body, Value::Null, "tampered cookie accepted: {body}");

    // Sign in again: a second, different session.
    let again = ba.sign_in(email, password).await;
    assert_eq!(again.user_id, signed.user_id);
    assert_ne!(again.token, signed.token);

    // JWT from /token, verified by jose against this server's JWKS and by Better Auth itself.
    let (status, jwt) = ba.token(&signed.cookie_header).await;
    assert_eq!(status, 200);
    let jwt = jwt.expect("/token returns a JWT");
    assert_eq!(jwt.split('.').count(), 3);
    let jwks = ba.jwks().await;
    let keys = jwks["keys"].as_array().expect("jwks.keys");
    assert_eq!(keys.len(), 1, "{jwks}");
    assert_eq!(keys[0]["alg"], "EdDSA");
    assert_eq!(keys[0]["crv"], "Ed25519");

    let verified = ba.jose_verify(&jwt).await;
    assert_eq!(verified["ok"], true, "{verified}");
    assert_eq!(verified["payload"]["sub"], signed.user_id.as_str());
    assert_eq!(verified["payload"]["email"], email);
    assert_eq!(verified["payload"]["iss"], DEFAULT_BASE_URL);
    assert_eq!(verified["payload"]["aud"], DEFAULT_BASE_URL);
    assert_eq!(verified["header"]["kid"], keys[0]["kid"]);
    let native = ba.verify_jwt_native(&jwt).await.expect("verifyJWT accepts");
    assert_eq!(native["sub"], signed.user_id.as_str());

    // A JWT with a forged signature is refused by both.
    let mut parts: Vec<&str> = jwt.split('.').collect();
    let forged_sig = if parts[2].starts_with('A') { "B" } else { "A" }.repeat(parts[2].len());
    parts[2] = &forged_sig;
    let forged = parts.join(".");
    let refused = ba.jose_verify(&forged).await;
    assert_eq!(refused["ok"], false, "{refused}");
    assert!(ba.verify_jwt_native(&forged).await.is_none());

    // Sign out: the session is gone and cookies are cleared; the other session lives on.
    assert_eq!(ba.sign_out(&signed.cookie_header).await, 200);
    let (status, body, set_cookies) = ba.get_session_cookie(&signed.cookie_header).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        Value::Null,
        "session still valid after sign-out: {body}"
    );
    let (_, cleared) = find_session_cookie(&set_cookies).expect("session cookie cleared");
    assert_eq!(cleared, "");
    let (status, body, _) = ba.get_session_bearer(&bearer).await;
    assert_eq!((status, body), (200, Value::Null));
    let (status, jwt) = ba.token(&signed.cookie_header).await;
    assert_eq!((status, jwt), (401, None));

    let (status, body, _) = ba.get_session_cookie(&again.cookie_header).await;
    assert_eq!(status, 200);
    assert_eq!(body["session"]["token"], again.token.as_str());
}

#[tokio::test]
async fn harness_migrate_only_then_start_without_migrating() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("migrated.sqlite");
    let opts = BetterAuthOptions {
        migrate: false,
        jwt_alg: Some("ES256".to_owned()),
        ..BetterAuthOptions::sqlite(&db)
    };
    BetterAuth::migrate_only(opts.clone()).await;
    assert!(db.is_file());

    let ba = BetterAuth::start(opts).await;
    let signed = ba
        .sign_up("migrated@example.com", "password-1234", "M")
        .await;
    let (status, jwt) = ba.token(&signed.cookie_header).await;
    assert_eq!(status, 200);
    let verified = ba.jose_verify(&jwt.unwrap()).await;
    assert_eq!(verified["ok"], true, "{verified}");
    assert_eq!(verified["header"]["alg"], "ES256");
}

#[tokio::test]
#[should_panic(expected = "Better Auth server died before becoming ready")]
async fn harness_reports_a_dead_server() {
    // A bad option makes server.mjs exit at startup.
    let opts = BetterAuthOptions {
        plugins: vec!["no-such-plugin"],
        ..BetterAuthOptions::new(":memory:")
    };
    let _ba = BetterAuth::start(opts).await;
}
