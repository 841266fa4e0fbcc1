//! The session rows the test seeds, and every form of session credential it sends.
use std::time::Duration;

use better_auth_grpc::{
    auth::signature::{sign, sign_cookie_value},
    domain::{
        model::{random_id, Session, User},
        time::millis,
    },
    proto::auth::v1 as pb,
    store::{schema::SchemaNames, sqlite, Store},
};
use chrono::{DateTime, TimeDelta, Utc};

use super::{grep::Secret, jwts::flip, COOKIE, SECRET, SESSION_DATA, WRONG_SECRET};

/// The rows the test seeds: one user, and sessions live, due for a refresh, and expired.
pub struct Fixture {
    pub user: User,
    pub live: String,
    pub refresh_due: String,
    pub expired: String,
}

pub async fn open_store(url: &str) -> sqlite::SqliteStore {
    let pool = sqlite::pool(&sqlite::SqliteSettings {
        url: url.to_owned(),
        create: false,
        max_connections: 1,
        acquire_timeout: Duration::from_secs(10),
    })
    .expect("pool");
    sqlite::SqliteStore::open(pool, &SchemaNames::default(), &[])
        .await
        .expect("open")
}

pub async fn seed(store: &sqlite::SqliteStore) -> Fixture {
    let now = millis(Utc::now());
    let user = User {
        id: random_id(32),
        name: "Redaction User".into(),
        email: "redaction@example.com".into(),
        email_verified: true,
        image: None,
        created_at: now,
        updated_at: now,
        extra: vec![],
    };
    store.insert_user(&user).await.expect("user");
    let session = |expires_at: DateTime<Utc>| Session {
        id: random_id(32),
        expires_at,
        token: random_id(32),
        created_at: now - TimeDelta::days(3),
        updated_at: now - TimeDelta::days(3),
        ip_address: Some("203.0.113.7".into()),
        user_agent: Some("redaction-test".into()),
        user_id: user.id.clone(),
        extra: vec![],
    };
    // Not due for a refresh (expiresIn 7 d, updateAge 1 d), due for one, and expired.
    let live = session(now + TimeDelta::days(7));
    let refresh_due = session(now + TimeDelta::days(2));
    let expired = session(now - TimeDelta::hours(1));
    for s in [&live, &refresh_due, &expired] {
        store.insert_session(s).await.expect("session");
    }
    Fixture {
        user,
        live: live.token,
        refresh_due: refresh_due.token,
        expired: expired.token,
    }
}

/// Every session credential form the test sends, good and bad.
pub struct Forms {
    pub live: String,
    pub signed: String,
    pub cookie_value: String,
    pub signature: String,
    pub dont_remember: String,
    pub cookie_header: String,
    pub wrong_signed: String,
    pub tampered: String,
    pub unknown: String,
    pub unknown_signed: String,
    pub expired: String,
    pub expired_signed: String,
    pub refresh_due: String,
    pub refresh_cookie: String,
}

impl Forms {
    pub fn new(fx: &Fixture) -> Self {
        let live = fx.live.clone();
        let signed = sign(&live, SECRET.as_bytes());
        let cookie_value = sign_cookie_value(&live, SECRET.as_bytes());
        let signature = signed.rsplit_once('.').unwrap().1.to_owned();
        let dont_remember = sign_cookie_value("true", SECRET.as_bytes());
        let cookie_header = format!(
            "theme=dark; better-auth.session_data={SESSION_DATA}; {COOKIE}={cookie_value}; \
             better-auth.dont_remember={dont_remember}"
        );
        let wrong_signed = sign(&live, WRONG_SECRET.as_bytes());
        let tampered = format!(
            "{live}.{}",
            flip(&signature, 10) // still 44 characters of padded base64
        );
        let unknown = random_id(32);
        let unknown_signed = sign(&unknown, SECRET.as_bytes());
        let expired_signed = sign(&fx.expired, SECRET.as_bytes());
        let refresh_cookie = format!(
            "{COOKIE}={}",
            sign_cookie_value(&fx.refresh_due, SECRET.as_bytes())
        );
        Self {
            live,
            signed,
            cookie_value,
            signature,
            dont_remember,
            cookie_header,
            wrong_signed,
            tampered,
            unknown,
            unknown_signed,
            expired: fx.expired.clone(),
            expired_signed,
            refresh_due: fx.refresh_due.clone(),
            refresh_cookie,
        }
    }

    /// Each of them is a secret.
    pub fn add_to(&self, secrets: &mut Secret) {
        for (label, v) in [
            ("the live session token", &self.live),
            ("the live signed token", &self.signed),
            ("the live cookie value", &self.cookie_value),
            ("the live token's signature", &self.signature),
            ("the dont_remember cookie", &self.dont_remember),
            ("a token signed with the wrong secret", &self.wrong_signed),
            ("a tampered signed token", &self.tampered),
            ("an unknown session token", &self.unknown),
            ("an unknown signed token", &self.unknown_signed),
            ("the expired session token", &self.expired),
            ("the expired signed token", &self.expired_signed),
            ("the refresh-due session token", &self.refresh_due),
        ] {
            secrets.add(label, v.clone());
        }
        secrets.add(
            "the wrong signature",
            self.wrong_signed.rsplit_once('.').unwrap().1,
        );
    }
}

/// A session credential, and the refusal ValidateToken answers (None: valid).
pub type SessionCase = (&'static str, String, Option<pb::Reason>);

pub fn session_cases(f: &Forms) -> Vec<SessionCase> {
    let Forms {
        live,
        signed,
        cookie_value,
        signature,
        cookie_header,
        wrong_signed,
        tampered,
        unknown,
        unknown_signed,
        expired,
        expired_signed,
        refresh_cookie,
        ..
    } = f;
    let oversized = format!("{signed}{}", "A".repeat(9000));
    let oversized_cookie = format!(
        "better-auth.session_data={SESSION_DATA}{}; {COOKIE}={cookie_value}",
        "x".repeat(9000)
    );
    vec![
        ("raw token", live.clone(), None),
        ("signed token", signed.clone(), None),
        ("URL-encoded signed token", cookie_value.clone(), None),
        ("cookie header", cookie_header.clone(), None),
        ("bearer signed", format!("Bearer {signed}"), None),
        ("bearer raw", format!("Bearer {live}"), None),
        ("refresh-due cookie", refresh_cookie.clone(), None),
        (
            "unknown raw token",
            unknown.clone(),
            Some(pb::Reason::SessionNotFound),
        ),
        (
            "unknown signed token",
            unknown_signed.clone(),
            Some(pb::Reason::SessionNotFound),
        ),
        (
            "wrong-secret signature",
            wrong_signed.clone(),
            Some(pb::Reason::BadSignature),
        ),
        (
            "tampered signature",
            tampered.clone(),
            Some(pb::Reason::BadSignature),
        ),
        (
            "unpadded signature",
            signed.trim_end_matches('=').to_owned(),
            Some(pb::Reason::Malformed),
        ),
        (
            "bad percent escape",
            format!("{live}.%ZZ{signature}"),
            Some(pb::Reason::Malformed),
        ),
        (
            "illegal characters",
            format!("{live}!<>"),
            Some(pb::Reason::Malformed),
        ),
        (
            "bearer with a bad signature",
            format!("Bearer {wrong_signed}"),
            Some(pb::Reason::BadSignature),
        ),
        (
            "cookie header signed with the wrong secret",
            format!(
                "{COOKIE}={}",
                sign_cookie_value(live, WRONG_SECRET.as_bytes())
            ),
            Some(pb::Reason::BadSignature),
        ),
        (
            "cookie header with an unsigned token",
            format!("{COOKIE}={live}"),
            Some(pb::Reason::Malformed),
        ),
        (
            "cookie header without the session cookie",
            format!("theme=dark; better-auth.session_data={SESSION_DATA}"),
            Some(pb::Reason::NoSessionCookie),
        ),
        (
            "cookie of another deployment",
            format!("__Secure-{COOKIE}={cookie_value}"),
            Some(pb::Reason::NoSessionCookie),
        ),
        (
            "expired raw token",
            expired.clone(),
            Some(pb::Reason::SessionExpired),
        ),
        (
            "expired signed token",
            expired_signed.clone(),
            Some(pb::Reason::SessionExpired),
        ),
        (
            "oversized token",
            oversized.clone(),
            Some(pb::Reason::TooLarge),
        ),
        (
            "oversized cookie header",
            oversized_cookie.clone(),
            Some(pb::Reason::TooLarge),
        ),
        ("empty", String::new(), Some(pb::Reason::Empty)),
        ("bare bearer", "Bearer ".into(), Some(pb::Reason::Empty)),
    ]
}
