//! The session suite, run against both stores: every session, cookie and bearer case of the
//! Better Auth vectors, Better Auth's expiry and refresh rules, and refusals with their reasons.
mod common;

use better_auth_grpc::{
    clock::FixedClock,
    proto::auth::v1::{
        CredentialKind, GetSessionRequest, Reason, ValidateTokenRequest, ValidateTokenResponse,
    },
};
use chrono::TimeDelta;
use common::{db::Db, server::TestServer, vectors};
use serde_json::Value;
use tonic::Code;
use tonic_types::StatusExt;

/// Migrates a fresh database and inserts the vector's user, session and expired-session rows.
async fn seeded(db: &Db, file: &str) -> (Value, TestServer, FixedClock) {
    common::server::migrate(&db.url).await;
    let v = vectors::load(file);
    let clock = FixedClock::at(vectors::generated_at(&v));
    let server = TestServer::start_at(
        common::server::settings(&db.url, vectors::secret(file)),
        &clock,
    )
    .await;
    for u in v["users"].as_array().unwrap() {
        server
            .store
            .insert_user(&vectors::user(vectors::row(&u["db"], "user")))
            .await
            .unwrap();
        server
            .store
            .insert_session(&vectors::session(vectors::row(&u["db"], "session")))
            .await
            .unwrap();
    }
    for e in v["expiredSessions"].as_array().unwrap() {
        server
            .store
            .insert_session(&vectors::session(vectors::row(&e["db"], "session")))
            .await
            .unwrap();
    }
    (v, server, clock)
}

async fn validate(s: &TestServer, token: &str) -> ValidateTokenResponse {
    let req = ValidateTokenRequest {
        token: token.into(),
        ..Default::default()
    };
    s.client
        .clone()
        .validate_token(req)
        .await
        .expect("status OK")
        .into_inner()
}

async fn get_session(
    s: &TestServer,
    token: &str,
) -> Result<better_auth_grpc::proto::auth::v1::GetSessionResponse, tonic::Status> {
    let req = GetSessionRequest {
        token: token.into(),
        disable_refresh: false,
    };
    s.client
        .clone()
        .get_session(req)
        .await
        .map(|r| r.into_inner())
}

fn error_reason(status: &tonic::Status) -> String {
    status
        .get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default()
}

async fn vectors_resolve(db: Db) {
    for file in vectors::FILES {
        let db = if db.sqlite_path().is_some() {
            Db::sqlite().await
        } else {
            Db::postgres().await
        };
        let (v, server, _clock) = seeded(&db, file).await;
        for u in v["users"].as_array().unwrap() {
            let user_id = u["userId"].as_str().unwrap();
            let raw = u["sessionToken"].as_str().unwrap();
            let cookie = u["sessionCookie"]["value"].as_str().unwrap();
            let decoded = u["sessionCookie"]["decoded"].as_str().unwrap();
            let bearer = u["setAuthToken"].as_str().unwrap();
            let cases = [
                (raw.to_string(), CredentialKind::SessionToken),
                (cookie.to_string(), CredentialKind::SignedSessionToken),
                (decoded.to_string(), CredentialKind::SignedSessionToken),
                (
                    format!("Bearer {bearer}"),
                    CredentialKind::SignedSessionToken,
                ),
                (format!("Bearer {raw}"), CredentialKind::SessionToken),
                (
                    format!("bearer {cookie}"),
                    CredentialKind::SignedSessionToken,
                ),
                (
                    format!("better-auth.session_token={cookie}"),
                    CredentialKind::SessionCookie,
                ),
                (
                    format!("theme=dark; better-auth.session_token={cookie}; other=1"),
                    CredentialKind::SessionCookie,
                ),
            ];
            for (input, kind) in cases {
                let r = validate(&server, &input).await;
                assert!(r.valid, "{file}: {input} -> {r:?}");
                assert_eq!(r.kind(), kind, "{file}: {input}");
                assert_eq!(r.user.as_ref().unwrap().id, user_id);
                assert_eq!(r.session.as_ref().unwrap().token, raw);
            }
            // GetSession answers what Better Auth's get-session answered, field by field.
            let got = get_session(&server, &format!("better-auth.session_token={cookie}"))
                .await
                .unwrap();
            let want = &u["getSession"]["body"];
            let (s, us) = (got.session.unwrap(), got.user.unwrap());
            assert_eq!(s.id, want["session"]["id"].as_str().unwrap());
            assert_eq!(s.user_id, want["session"]["userId"].as_str().unwrap());
            assert_eq!(
                iso(&s.expires_at),
                want["session"]["expiresAt"].as_str().unwrap()
            );
            assert_eq!(
                iso(&s.created_at),
                want["session"]["createdAt"].as_str().unwrap()
            );
            assert_eq!(
                s.ip_address.as_deref(),
                want["session"]["ipAddress"].as_str()
            );
            assert_eq!(us.email, want["user"]["email"].as_str().unwrap());
            assert_eq!(us.name, want["user"]["name"].as_str().unwrap());
            assert_eq!(
                us.email_verified,
                want["user"]["emailVerified"].as_bool().unwrap()
            );
            assert_eq!(us.image.as_deref(), want["user"]["image"].as_str());
            assert_eq!(
                iso(&us.updated_at),
                want["user"]["updatedAt"].as_str().unwrap()
            );
        }
        for e in v["expiredSessions"].as_array().unwrap() {
            let r = validate(&server, e["sessionCookie"]["value"].as_str().unwrap()).await;
            assert!(!r.valid);
            assert_eq!(r.reason(), Reason::SessionExpired, "{file}");
        }
        for rv in v["revokedSessions"].as_array().unwrap() {
            let r = validate(&server, rv["setAuthToken"].as_str().unwrap()).await;
            assert_eq!(
                (r.valid, r.reason()),
                (false, Reason::SessionNotFound),
                "{file}"
            );
        }
        server.stop().await;
    }
}

fn iso(t: &Option<prost_types::Timestamp>) -> String {
    let t = t.as_ref().unwrap();
    let dt = chrono::DateTime::from_timestamp(t.seconds, t.nanos as u32).unwrap();
    better_auth_grpc::domain::model::iso_millis(&dt)
}

async fn refusals_have_reasons(db: Db) {
    let file = "postgres-eddsa.json";
    let (v, server, _clock) = seeded(&db, file).await;
    let u = &v["users"][0];
    let decoded = u["sessionCookie"]["decoded"].as_str().unwrap();
    let (token, sig) = decoded.rsplit_once('.').unwrap();
    let flipped = format!(
        "{}{}",
        &token[..token.len() - 1],
        if token.ends_with('A') { 'B' } else { 'A' }
    );
    let cases = [
        ("".to_string(), Reason::Empty, CredentialKind::Unspecified),
        (
            "  \t ".to_string(),
            Reason::Empty,
            CredentialKind::Unspecified,
        ),
        (
            "a".repeat(9000),
            Reason::TooLarge,
            CredentialKind::Unspecified,
        ),
        (
            format!("{flipped}.{sig}"),
            Reason::BadSignature,
            CredentialKind::SignedSessionToken,
        ),
        (
            format!("{token}.{}", &sig[..43]),
            Reason::Malformed,
            CredentialKind::SignedSessionToken,
        ),
        (
            format!("{token}.{}", sig.replace('+', "-").replace('/', "_")),
            if sig.contains(['+', '/']) {
                Reason::Malformed
            } else {
                Reason::SessionNotFound
            },
            CredentialKind::SignedSessionToken,
        ),
        (
            format!("{token}.{}", sig.trim_end_matches('=')),
            Reason::Malformed,
            CredentialKind::SignedSessionToken,
        ),
        (
            "theme=dark".to_string(),
            Reason::NoSessionCookie,
            CredentialKind::SessionCookie,
        ),
        (
            format!("__Secure-better-auth.session_token={decoded}"),
            Reason::NoSessionCookie,
            CredentialKind::SessionCookie,
        ),
        (
            "notarealsessiontoken00000000000".to_string(),
            Reason::SessionNotFound,
            CredentialKind::SessionToken,
        ),
        (
            "tok'; DROP TABLE \"session\"; --".to_string(),
            Reason::NoSessionCookie,
            CredentialKind::SessionCookie,
        ),
        (
            "tök\u{7}".to_string(),
            Reason::Malformed,
            CredentialKind::SessionToken,
        ),
    ];
    for (input, reason, kind) in cases {
        let r = validate(&server, &input).await;
        assert!(!r.valid, "{input:?}");
        assert_eq!(r.reason(), reason, "{input:?}");
        assert_eq!(r.kind(), kind, "{input:?}");
        assert!(
            !r.message.contains(token),
            "messages never echo the credential"
        );
    }
    // The database is intact after all of that.
    assert!(validate(&server, decoded).await.valid);

    // GetSession: bad input is INVALID_ARGUMENT, no live session is NOT_FOUND; both say why.
    let e = get_session(&server, "").await.unwrap_err();
    assert_eq!(
        (e.code(), error_reason(&e).as_str()),
        (Code::InvalidArgument, "EMPTY")
    );
    let e = get_session(&server, &"x".repeat(9000)).await.unwrap_err();
    assert_eq!(
        (e.code(), error_reason(&e).as_str()),
        (Code::InvalidArgument, "TOO_LARGE")
    );
    let e = get_session(&server, &format!("{flipped}.{sig}"))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), error_reason(&e).as_str()),
        (Code::NotFound, "BAD_SIGNATURE")
    );
    let rv = v["revokedSessions"][0]["setAuthToken"].as_str().unwrap();
    let e = get_session(&server, rv).await.unwrap_err();
    assert_eq!(
        (e.code(), error_reason(&e).as_str()),
        (Code::NotFound, "SESSION_NOT_FOUND")
    );
    server.stop().await;
}

async fn wrong_secret_is_bad_signature(db: Db) {
    let file = "postgres-eddsa.json";
    common::server::migrate(&db.url).await;
    let v = vectors::load(file);
    let clock = FixedClock::at(vectors::generated_at(&v));
    let s = TestServer::start_at(
        common::server::settings(&db.url, "a-different-secret-0123456789abcdefgh"),
        &clock,
    )
    .await;
    let u = &v["users"][0];
    s.store
        .insert_user(&vectors::user(vectors::row(&u["db"], "user")))
        .await
        .unwrap();
    s.store
        .insert_session(&vectors::session(vectors::row(&u["db"], "session")))
        .await
        .unwrap();
    let r = validate(&s, u["sessionCookie"]["value"].as_str().unwrap()).await;
    assert_eq!((r.valid, r.reason()), (false, Reason::BadSignature));
    // A raw token carries no signature: it is looked up as is.
    assert!(
        validate(&s, u["sessionToken"].as_str().unwrap())
            .await
            .valid
    );
    s.stop().await;
}

async fn expiry_and_refresh_follow_better_auth(db: Db) {
    let (v, server, clock) = seeded(&db, "postgres-eddsa.json").await;
    let u = &v["users"][0];
    let token = u["sessionToken"].as_str().unwrap();
    let row = vectors::session(vectors::row(&u["db"], "session"));

    // Before updateAge has passed: no refresh.
    clock.set(row.created_at + TimeDelta::hours(23));
    let got = get_session(&server, token).await.unwrap();
    assert_eq!(
        iso(&got.session.unwrap().expires_at),
        better_auth_grpc::domain::model::iso_millis(&row.expires_at)
    );

    // Once it has: expiresAt = now + expiresIn, updatedAt = now, and the row says so.
    let now = row.created_at + TimeDelta::days(1) + TimeDelta::milliseconds(1);
    clock.set(now);
    // ValidateToken never writes.
    let before = validate(&server, token).await;
    assert_eq!(
        iso(&before.expires_at),
        better_auth_grpc::domain::model::iso_millis(&row.expires_at)
    );
    let noref = server
        .client
        .clone()
        .get_session(GetSessionRequest {
            token: token.into(),
            disable_refresh: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        iso(&noref.session.unwrap().expires_at),
        better_auth_grpc::domain::model::iso_millis(&row.expires_at)
    );
    let got = get_session(&server, token).await.unwrap().session.unwrap();
    let want = better_auth_grpc::domain::model::iso_millis(&(now + TimeDelta::days(7)));
    assert_eq!(iso(&got.expires_at), want);
    assert_eq!(
        iso(&got.updated_at),
        better_auth_grpc::domain::model::iso_millis(&now)
    );
    let stored = server
        .store
        .find_session(token)
        .await
        .unwrap()
        .unwrap()
        .session;
    assert_eq!(
        better_auth_grpc::domain::model::iso_millis(&stored.expires_at),
        want
    );

    // Expiry is strict: valid at expiresAt, expired one millisecond later.
    clock.set(stored.expires_at);
    assert!(validate(&server, token).await.valid);
    clock.set(stored.expires_at + TimeDelta::milliseconds(1));
    let r = validate(&server, token).await;
    assert_eq!((r.valid, r.reason()), (false, Reason::SessionExpired));
    assert!(
        server.store.find_session(token).await.unwrap().is_some(),
        "ValidateToken deleted a row"
    );

    // GetSession deletes the expired row, as get-session does.
    let e = get_session(&server, token).await.unwrap_err();
    assert_eq!(
        (e.code(), error_reason(&e).as_str()),
        (Code::NotFound, "SESSION_EXPIRED")
    );
    assert!(
        server.store.find_session(token).await.unwrap().is_none(),
        "expired row kept"
    );
    let r = validate(&server, token).await;
    assert_eq!(r.reason(), Reason::SessionNotFound);
    server.stop().await;
}

async fn read_only_never_writes(db: Db) {
    common::server::migrate(&db.url).await;
    let file = "postgres-eddsa.json";
    let v = vectors::load(file);
    let u = &v["users"][0];
    let row = vectors::session(vectors::row(&u["db"], "session"));
    let clock = FixedClock::at(row.created_at + TimeDelta::days(2));
    let mut args = common::server::settings(&db.url, vectors::secret(file));
    args.read_only = true;
    let s = TestServer::start_at(args, &clock).await;
    s.store
        .insert_user(&vectors::user(vectors::row(&u["db"], "user")))
        .await
        .unwrap();
    s.store.insert_session(&row).await.unwrap();
    let token = &row.token;
    let got = get_session(&s, token).await.unwrap().session.unwrap();
    assert_eq!(
        iso(&got.expires_at),
        better_auth_grpc::domain::model::iso_millis(&row.expires_at),
        "refreshed"
    );
    clock.set(row.expires_at + TimeDelta::seconds(1));
    let e = get_session(&s, token).await.unwrap_err();
    assert_eq!(error_reason(&e), "SESSION_EXPIRED");
    assert!(
        s.store.find_session(token).await.unwrap().is_some(),
        "read-only deleted a row"
    );
    s.stop().await;
}

async fn dont_remember_sessions_are_not_refreshed(db: Db) {
    let (v, server, clock) = seeded(&db, "postgres-eddsa.json").await;
    let u = &v["users"][0];
    let row = vectors::session(vectors::row(&u["db"], "session"));
    clock.set(row.created_at + TimeDelta::days(2));
    let secret = vectors::secret("postgres-eddsa.json").as_bytes();
    let dr = better_auth_grpc::auth::signature::sign_cookie_value("true", secret);
    let cookie = u["sessionCookie"]["value"].as_str().unwrap();
    let header = format!("better-auth.session_token={cookie}; better-auth.dont_remember={dr}");
    let got = get_session(&server, &header)
        .await
        .unwrap()
        .session
        .unwrap();
    assert_eq!(
        iso(&got.expires_at),
        better_auth_grpc::domain::model::iso_millis(&row.expires_at)
    );
    server.stop().await;
}

/// `--session-cache-ms`: a signed-out session stays valid for at most the stated staleness
/// (measured on the injected clock), expiry is never stale, GetSession bypasses and clears it.
async fn session_cache_staleness_is_bounded(db: Db) {
    common::server::migrate(&db.url).await;
    let file = "postgres-eddsa.json";
    let v = vectors::load(file);
    let clock = FixedClock::at(vectors::generated_at(&v));
    let mut args = common::server::settings(&db.url, vectors::secret(file));
    args.session_cache_ms = better_auth_grpc::cli::CacheMs::Ms(2000);
    // Staleness without a feed (SQLite's would drop the entry at the deletion).
    args.follow_changes = "off".into();
    let s = TestServer::start_at(args, &clock).await;
    let u = &v["users"][0];
    s.store
        .insert_user(&vectors::user(vectors::row(&u["db"], "user")))
        .await
        .unwrap();
    let mut rows = Vec::new();
    for i in 0..3 {
        // Three sessions of the vector's user (a user signed in on three devices).
        let mut row = vectors::session(vectors::row(&u["db"], "session"));
        row.id = format!("{}{i}", &row.id[1..]);
        row.token = format!("{}{i}", &row.token[1..]);
        s.store.insert_session(&row).await.unwrap();
        rows.push(row);
    }
    let (a, b, c) = (&rows[0].token, &rows[1].token, &rows[2].token);

    // Signed out after a check: valid until the entry is 2 s old, then refused.
    assert!(validate(&s, a).await.valid);
    s.store.delete_session(a).await.unwrap();
    clock.advance(TimeDelta::milliseconds(1999));
    assert!(
        validate(&s, a).await.valid,
        "cached answer expected within the staleness"
    );
    clock.advance(TimeDelta::milliseconds(1));
    assert_eq!(validate(&s, a).await.reason(), Reason::SessionNotFound);

    // Expiry is judged on every hit, even with the row still present.
    assert!(validate(&s, b).await.valid);
    clock.set(rows[1].expires_at + TimeDelta::milliseconds(1));
    assert_eq!(validate(&s, b).await.reason(), Reason::SessionExpired);
    clock.set(vectors::generated_at(&v));

    // GetSession reads the database and drops the cached entry.
    assert!(validate(&s, c).await.valid);
    s.store.delete_session(c).await.unwrap();
    let e = get_session(&s, c).await.unwrap_err();
    assert_eq!(error_reason(&e), "SESSION_NOT_FOUND");
    assert_eq!(validate(&s, c).await.reason(), Reason::SessionNotFound);
    s.stop().await;
}

/// Copies of the vector's first user and session, the i-th with its own ids and token.
async fn insert_copies(s: &TestServer, v: &Value, n: usize) -> Vec<(String, String)> {
    let u = &v["users"][0]["db"];
    let mut made = Vec::new();
    for i in 0..n {
        let mut user = vectors::user(vectors::row(u, "user"));
        let mut session = vectors::session(vectors::row(u, "session"));
        user.id = format!("batch-user-{i}");
        user.email = format!("batch-{i}@example.com");
        session.id = format!("batch-session-{i}");
        session.token = format!("batchToken{i:04}AbCdEfGhIjKlMnOp");
        session.user_id = user.id.clone();
        s.store.insert_user(&user).await.unwrap();
        s.store.insert_session(&session).await.unwrap();
        made.push((session.token, user.id));
    }
    made
}

/// Many lookups at once over one connection: on PostgreSQL they queue and go out together in
/// one query, and each call still gets its own row, or none.
async fn concurrent_lookups_get_their_own_rows(db: Db) {
    common::server::migrate(&db.url).await;
    let file = "postgres-eddsa.json";
    let v = vectors::load(file);
    let clock = FixedClock::at(vectors::generated_at(&v));
    let args = common::server::settings_with(
        &db.url,
        vectors::secret(file),
        &["--db-max-connections", "1", "--session-cache-ms", "0"],
    );
    let s = TestServer::start_at(args, &clock).await;
    let made = insert_copies(&s, &v, 40).await;
    let calls = made.iter().enumerate().map(|(i, (token, user))| {
        // Every third asks for a token no row has, in the same burst.
        let (token, want) = match i % 3 {
            0 => (format!("{token}x"), None),
            _ => (token.clone(), Some(user.clone())),
        };
        let s = &s;
        async move { (validate(s, &token).await, want) }
    });
    for (got, want) in futures::future::join_all(calls).await {
        match want {
            Some(user) => assert_eq!(got.user.unwrap().id, user),
            None => assert_eq!(got.reason(), Reason::SessionNotFound),
        }
    }
    s.stop().await;
}

macro_rules! suite {
    ($engine:ident) => {
        mod $engine {
            use super::*;

            #[tokio::test]
            async fn vectors_resolve_to_their_users() {
                super::vectors_resolve(Db::$engine().await).await
            }
            #[tokio::test]
            async fn refusals_have_their_reasons() {
                super::refusals_have_reasons(Db::$engine().await).await
            }
            #[tokio::test]
            async fn a_wrong_secret_is_a_bad_signature() {
                super::wrong_secret_is_bad_signature(Db::$engine().await).await
            }
            #[tokio::test]
            async fn expiry_and_refresh_follow_better_auth() {
                super::expiry_and_refresh_follow_better_auth(Db::$engine().await).await
            }
            #[tokio::test]
            async fn read_only_never_writes() {
                super::read_only_never_writes(Db::$engine().await).await
            }
            #[tokio::test]
            async fn dont_remember_sessions_are_not_refreshed() {
                super::dont_remember_sessions_are_not_refreshed(Db::$engine().await).await
            }
            #[tokio::test]
            async fn concurrent_lookups_get_their_own_rows() {
                super::concurrent_lookups_get_their_own_rows(Db::$engine().await).await
            }
            #[tokio::test]
            async fn the_session_cache_staleness_is_bounded() {
                super::session_cache_staleness_is_bounded(Db::$engine().await).await
            }
        }
    };
}

suite!(sqlite);
suite!(postgres);
