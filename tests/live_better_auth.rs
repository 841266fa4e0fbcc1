//! Interop with real Better Auth 1.7.25 (npm) on the same PostgreSQL and SQLite databases:
//! what Better Auth hands out resolves here, GetSession answers what get-session answers
//! (admin and organization columns included), and sign-out, expiry and refresh are seen alike.
mod common;

use std::collections::BTreeMap;

use better_auth_grpc::proto::auth::v1::{
    CredentialKind, GetSessionRequest, GetSessionResponse, Reason, ValidateTokenRequest,
    ValidateTokenResponse,
};
use chrono::{TimeDelta, Utc};
use common::{
    better_auth::{BetterAuth, BetterAuthOptions, SignedIn, DEFAULT_BASE_URL, DEFAULT_SECRET},
    db::Db,
    server::{settings, TestServer},
    sql,
};
use serde_json::{json, Map, Value};

struct Pair {
    db: Db,
    ba: BetterAuth,
    svc: TestServer,
}

async fn pair(db: Db, plugins: Vec<&'static str>) -> Pair {
    let target = db
        .sqlite_path()
        .map_or(db.url.clone(), |p| p.display().to_string());
    let mut opts = BetterAuthOptions::new(target);
    opts.plugins = plugins;
    let ba = BetterAuth::start(opts).await;
    let mut args = settings(&db.url, DEFAULT_SECRET);
    args.base_url = Some(DEFAULT_BASE_URL.into());
    let svc = TestServer::start(args).await;
    Pair { db, ba, svc }
}

async fn validate(p: &Pair, token: &str) -> ValidateTokenResponse {
    let req = ValidateTokenRequest {
        token: token.into(),
        ..Default::default()
    };
    p.svc
        .client
        .clone()
        .validate_token(req)
        .await
        .expect("status OK")
        .into_inner()
}

async fn get_session(p: &Pair, token: &str) -> Result<GetSessionResponse, tonic::Status> {
    let req = GetSessionRequest {
        token: token.into(),
        disable_refresh: false,
    };
    p.svc
        .client
        .clone()
        .get_session(req)
        .await
        .map(|r| r.into_inner())
}

fn iso(t: &Option<prost_types::Timestamp>) -> Value {
    let t = t.as_ref().expect("timestamp");
    let dt = chrono::DateTime::from_timestamp(t.seconds, t.nanos as u32).expect("date");
    Value::String(better_auth_grpc::domain::model::iso_millis(&dt))
}

fn struct_json(s: &Option<prost_types::Struct>) -> BTreeMap<String, Value> {
    s.iter()
        .flat_map(|s| s.fields.iter())
        .map(|(k, v)| (k.clone(), value_json(v)))
        .collect()
}

fn value_json(v: &prost_types::Value) -> Value {
    use prost_types::value::Kind;
    match &v.kind {
        Some(Kind::BoolValue(b)) => json!(b),
        Some(Kind::StringValue(s)) => json!(s),
        Some(Kind::NumberValue(n)) => json!(n),
        Some(Kind::StructValue(s)) => {
            Value::Object(struct_json(&Some(s.clone())).into_iter().collect())
        }
        Some(Kind::ListValue(l)) => Value::Array(l.values.iter().map(value_json).collect()),
        _ => Value::Null,
    }
}

/// Our GetSession answer in Better Auth's get-session JSON shape.
fn as_better_auth_json(r: &GetSessionResponse) -> Value {
    let (s, u) = (r.session.as_ref().unwrap(), r.user.as_ref().unwrap());
    let mut session = Map::new();
    session.insert("id".into(), json!(s.id));
    session.insert("expiresAt".into(), iso(&s.expires_at));
    session.insert("token".into(), json!(s.token));
    session.insert("createdAt".into(), iso(&s.created_at));
    session.insert("updatedAt".into(), iso(&s.updated_at));
    session.insert("ipAddress".into(), json!(s.ip_address));
    session.insert("userAgent".into(), json!(s.user_agent));
    session.insert("userId".into(), json!(s.user_id));
    session.extend(struct_json(&s.extra));
    let mut user = Map::new();
    user.insert("id".into(), json!(u.id));
    user.insert("name".into(), json!(u.name));
    user.insert("email".into(), json!(u.email));
    user.insert("emailVerified".into(), json!(u.email_verified));
    user.insert("image".into(), json!(u.image));
    user.insert("createdAt".into(), iso(&u.created_at));
    user.insert("updatedAt".into(), iso(&u.updated_at));
    user.extend(struct_json(&u.extra));
    json!({ "session": session, "user": user })
}

/// Every field Better Auth's get-session returns, compared with ours.
async fn assert_same_session(p: &Pair, who: &SignedIn) {
    let (status, body, _) = p.ba.get_session_cookie(&who.cookie_header).await;
    assert_eq!(status, 200);
    assert!(body.is_object(), "Better Auth has no session: {body}");
    let ours = get_session(p, &who.cookie_header)
        .await
        .expect("GetSession");
    assert_eq!(
        as_better_auth_json(&ours),
        body,
        "GetSession differs from get-session"
    );
}

async fn resolves_what_better_auth_hands_out(db: Db) {
    let p = pair(db, vec!["jwt", "bearer", "admin", "organization"]).await;
    let alice =
        p.ba.sign_up(
            "Alice@Example.com",
            "a-long-password-1",
            "Alice Ünïcode \"quoted\"",
        )
        .await;
    let bob =
        p.ba.sign_up("bob@example.com", "a-long-password-2", "Bob")
            .await;
    let bob2 = p.ba.sign_in("bob@example.com", "a-long-password-2").await;
    for who in [&alice, &bob, &bob2] {
        let bearer = who.set_auth_token.clone().expect("bearer plugin header");
        let cases = [
            (who.cookie_header.clone(), CredentialKind::SessionCookie),
            (who.cookie_value.clone(), CredentialKind::SignedSessionToken),
            (bearer.clone(), CredentialKind::SignedSessionToken),
            (
                format!("Bearer {bearer}"),
                CredentialKind::SignedSessionToken,
            ),
            (
                format!("Bearer {}", who.token),
                CredentialKind::SessionToken,
            ),
            (who.token.clone(), CredentialKind::SessionToken),
        ];
        for (input, kind) in cases {
            let r = validate(&p, &input).await;
            assert!(r.valid, "{input}: {r:?}");
            assert_eq!(r.kind(), kind);
            assert_eq!(r.user.as_ref().unwrap().id, who.user_id);
            assert_eq!(r.session.as_ref().unwrap().token, who.token);
        }
        // Both forms Better Auth accepts give the same session there too.
        let (_, via_bearer, _) = p.ba.get_session_bearer(&bearer).await;
        assert_eq!(via_bearer["session"]["token"], json!(who.token));
        assert_same_session(&p, who).await;
    }
    let r = validate(&p, &alice.cookie_header).await;
    let extra = struct_json(&r.user.unwrap().extra);
    assert_eq!(extra["role"], json!("user"), "admin plugin column");
    assert_eq!(extra["banned"], json!(false));

    // Plugin columns with values, dates included, come back as Better Auth shows them.
    let exp = sql::date(&(Utc::now() + TimeDelta::days(30)));
    let t = if p.db.url.starts_with("sqlite:") {
        "1"
    } else {
        "true"
    };
    let org = "org_123";
    sql::exec(
        &p.db.url,
        &format!(
            "UPDATE \"user\" SET \"banned\" = {t}, \"banReason\" = 'spam ''quoted''', \"banExpires\" = {exp}, \"role\" = 'admin' WHERE \"id\" = '{}';
             UPDATE \"session\" SET \"activeOrganizationId\" = '{org}', \"impersonatedBy\" = '{}' WHERE \"token\" = '{}'",
            alice.user_id, bob.user_id, alice.token
        ),
    )
    .await;
    assert_same_session(&p, &alice).await;
    let r = validate(&p, &alice.token).await;
    assert_eq!(
        struct_json(&r.session.unwrap().extra)["activeOrganizationId"],
        json!(org)
    );
}

async fn sign_out_and_expiry_are_seen_alike(db: Db) {
    let p = pair(db, vec!["jwt", "bearer"]).await;
    let a =
        p.ba.sign_up("carol@example.com", "a-long-password-3", "Carol")
            .await;
    let b = p.ba.sign_in("carol@example.com", "a-long-password-3").await;
    assert!(validate(&p, &a.cookie_header).await.valid);

    // Sign-out deletes the row: refused here at once, though the cookie's signature is fine.
    assert_eq!(p.ba.sign_out(&a.cookie_header).await, 200);
    let r = validate(&p, &a.cookie_header).await;
    assert_eq!((r.valid, r.reason()), (false, Reason::SessionNotFound));
    assert_eq!(
        p.ba.get_session_cookie(&a.cookie_header).await.1,
        Value::Null
    );
    assert!(
        validate(&p, &b.cookie_header).await.valid,
        "the other session lives on"
    );

    // Expiry: a session a moment from expiring is live for both; one just past it is dead for both.
    let soon = sql::date(&(Utc::now() + TimeDelta::seconds(30)));
    sql::exec(
        &p.db.url,
        &format!(
            "UPDATE \"session\" SET \"expiresAt\" = {soon} WHERE \"token\" = '{}'",
            b.token
        ),
    )
    .await;
    assert!(validate(&p, &b.cookie_header).await.valid);
    assert_same_session(&p, &b).await;
    let past = sql::date(&(Utc::now() - TimeDelta::milliseconds(5)));
    sql::exec(
        &p.db.url,
        &format!(
            "UPDATE \"session\" SET \"expiresAt\" = {past} WHERE \"token\" = '{}'",
            b.token
        ),
    )
    .await;
    let r = validate(&p, &b.cookie_header).await;
    assert_eq!((r.valid, r.reason()), (false, Reason::SessionExpired));
    // Better Auth's get-session deletes the expired row; afterwards we see it gone.
    assert_eq!(
        p.ba.get_session_cookie(&b.cookie_header).await.1,
        Value::Null
    );
    assert_eq!(
        validate(&p, &b.cookie_header).await.reason(),
        Reason::SessionNotFound
    );
}

async fn refresh_writes_are_understood_both_ways(db: Db) {
    let p = pair(db, vec!["jwt", "bearer"]).await;
    let a =
        p.ba.sign_up("dave@example.com", "a-long-password-4", "Dave")
            .await;
    // Make the session look issued a day and a minute ago, so a refresh is due (updateAge = 1 d).
    let backdate = |token: &str| {
        let exp = Utc::now() + TimeDelta::days(6) - TimeDelta::minutes(1);
        format!(
            "UPDATE \"session\" SET \"expiresAt\" = {} WHERE \"token\" = '{token}'",
            sql::date(&exp)
        )
    };

    sql::exec(&p.db.url, &backdate(&a.token)).await;
    let before = Utc::now();
    let ours = get_session(&p, &a.cookie_header).await.unwrap();
    let new_exp = iso(&ours.session.as_ref().unwrap().expires_at);
    let new_exp = chrono::DateTime::parse_from_rfc3339(new_exp.as_str().unwrap()).unwrap();
    assert!(
        new_exp >= before + TimeDelta::days(7) - TimeDelta::seconds(1),
        "we refreshed"
    );
    // Better Auth reads our write and, the refresh being fresh, answers the same row.
    assert_same_session(&p, &a).await;

    // And the other way: Better Auth refreshes, we read its write.
    sql::exec(&p.db.url, &backdate(&a.token)).await;
    let (_, body, set_cookies) = p.ba.get_session_cookie(&a.cookie_header).await;
    assert!(
        set_cookies.iter().any(|c| c.contains("session_token=")),
        "Better Auth refreshed"
    );
    let r = validate(&p, &a.token).await;
    assert_eq!(
        iso(&r.session.unwrap().expires_at),
        body["session"]["expiresAt"]
    );
}

macro_rules! suite {
    ($engine:ident) => {
        mod $engine {
            use super::*;

            #[tokio::test]
            async fn resolves_what_better_auth_hands_out() {
                super::resolves_what_better_auth_hands_out(Db::$engine().await).await
            }
            #[tokio::test]
            async fn sign_out_and_expiry_are_seen_alike() {
                super::sign_out_and_expiry_are_seen_alike(Db::$engine().await).await
            }
            #[tokio::test]
            async fn refresh_writes_are_understood_both_ways() {
                super::refresh_writes_are_understood_both_ways(Db::$engine().await).await
            }
        }
    };
}

suite!(sqlite);
suite!(postgres);
