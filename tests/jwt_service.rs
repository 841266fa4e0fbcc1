//! JWTs through the real server, offline: the vectors' keys in a real database, the clock
//! at each token's `iat`. ValidateToken accepts Better Auth's tokens, IssueToken reproduces the
//! deterministic ones byte for byte, and callers are authenticated.
mod common;

use better_auth_grpc::{
    auth::callers::key_sha256_hex,
    clock::FixedClock,
    proto::auth::v1::{
        issue_token_request::Subject, CredentialKind, IssueTokenRequest, Reason,
        ValidateTokenRequest,
    },
};
use chrono::DateTime;
use common::{db::Db, server::TestServer, vectors};
use serde_json::Value;
use tonic::{Code, Request};

const API_KEY: &str = "test-caller-key-0123456789";
const NARROW_KEY: &str = "narrow-caller-key-0123456789";

fn callers_file(dir: &std::path::Path) -> std::path::PathBuf {
    let narrow = format!(
        "audiences = [\"mcp-tools\"]\n\n[[callers]]\nname = \"narrow\"\nkey_sha256 = \"{}\"\n",
        key_sha256_hex(NARROW_KEY)
    );
    common::files::callers_file(dir, API_KEY, &narrow)
}

/// A server on a migrated database holding the vector's jwks rows and users.
async fn server(db: &Db, file: &str, dir: &std::path::Path) -> (Value, TestServer, FixedClock) {
    common::server::migrate(&db.url).await;
    let v = vectors::load(file);
    let clock = FixedClock::at(vectors::generated_at(&v));
    let secret = vectors::secret(file);
    let mut args = common::server::settings_with_file(&db.url, secret, &callers_file(dir));
    args.base_url = Some(v["config"]["baseURL"].as_str().unwrap().into());
    args.jwt_alg = v["jwks"]["keys"][0]["alg"].as_str().unwrap().into();
    let s = TestServer::start_at(args, &clock).await;
    for row in v["jwksRows"].as_array().unwrap() {
        s.store.insert_jwk(&vectors::jwk_row(row)).await.unwrap();
    }
    for u in v["users"].as_array().unwrap() {
        s.store
            .insert_user(&vectors::user(vectors::row(&u["db"], "user")))
            .await
            .unwrap();
        s.store
            .insert_session(&vectors::session(vectors::row(&u["db"], "session")))
            .await
            .unwrap();
    }
    (v, s, clock)
}

fn issue(subject: Subject, key: Option<&str>) -> Request<IssueTokenRequest> {
    let mut r = Request::new(IssueTokenRequest {
        subject: Some(subject),
        ..Default::default()
    });
    if let Some(k) = key {
        r.metadata_mut().insert("x-api-key", k.parse().unwrap());
    }
    r
}

async fn vectors_validate_and_reissue_identically(
    engine: fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Db>>>,
) {
    for file in vectors::FILES {
        let dir = tempfile::tempdir().unwrap();
        let db = engine().await;
        let (v, s, clock) = server(&db, file, dir.path()).await;
        let alg = v["jwks"]["keys"][0]["alg"].as_str().unwrap();
        for u in v["users"].as_array().unwrap() {
            let jwt = u["jwt"]["token"].as_str().unwrap();
            let iat = u["jwt"]["payload"]["iat"].as_i64().unwrap();
            clock.set(DateTime::from_timestamp(iat, 0).unwrap());
            let req = ValidateTokenRequest {
                token: format!("Bearer {jwt}"),
                ..Default::default()
            };
            let r = s
                .client
                .clone()
                .validate_token(req)
                .await
                .unwrap()
                .into_inner();
            assert!(r.valid, "{file}: {r:?}");
            assert_eq!(r.kind(), CredentialKind::Jwt);
            assert_eq!(r.user.as_ref().unwrap().id, u["userId"].as_str().unwrap());
            assert_eq!(
                r.expires_at.unwrap().seconds,
                u["jwt"]["payload"]["exp"].as_i64().unwrap()
            );

            // Re-issued at the same second for the same user and key: the same bytes.
            let token = u["sessionToken"].as_str().unwrap().to_owned();
            let issued = s
                .client
                .clone()
                .issue_token(issue(Subject::SessionToken(token), Some(API_KEY)))
                .await;
            let issued = issued.unwrap().into_inner();
            assert_eq!(issued.kid, u["jwt"]["header"]["kid"].as_str().unwrap());
            if alg == "EdDSA" || alg == "RS256" {
                assert_eq!(issued.token, jwt, "{file}: not byte-identical");
            } else {
                // ES256 signatures are randomized: header and payload must still be identical.
                let signed_part = |t: &str| t.rsplit_once('.').map(|(hp, _)| hp.to_owned());
                assert_eq!(
                    signed_part(&issued.token),
                    signed_part(jwt),
                    "{file}: header/payload differ"
                );
            }
            // One second past exp: refused as expired.
            clock.set(
                DateTime::from_timestamp(u["jwt"]["payload"]["exp"].as_i64().unwrap(), 0).unwrap(),
            );
            let req = ValidateTokenRequest {
                token: jwt.into(),
                ..Default::default()
            };
            let r = s
                .client
                .clone()
                .validate_token(req)
                .await
                .unwrap()
                .into_inner();
            assert_eq!((r.valid, r.reason()), (false, Reason::JwtExpired), "{file}");
        }
        s.stop().await;
    }
}

async fn callers_are_authenticated(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let (v, s, _clock) = server(&db, "postgres-eddsa.json", dir.path()).await;
    let user_id = v["users"][0]["userId"].as_str().unwrap().to_owned();
    let token = v["users"][0]["sessionToken"].as_str().unwrap().to_owned();
    let mut c = s.client.clone();
    let code = |r: Result<tonic::Response<_>, tonic::Status>| {
        r.map(|_: tonic::Response<_>| ()).unwrap_err().code()
    };

    assert_eq!(
        code(
            c.issue_token(issue(Subject::UserId(user_id.clone()), None))
                .await
        ),
        Code::Unauthenticated
    );
    assert_eq!(
        code(
            c.issue_token(issue(Subject::UserId(user_id.clone()), Some("wrong")))
                .await
        ),
        Code::Unauthenticated
    );
    assert_eq!(
        code(
            c.issue_token(issue(Subject::UserId(user_id.clone()), Some(NARROW_KEY)))
                .await
        ),
        Code::PermissionDenied
    );
    // The narrow caller may still turn a live session into a JWT.
    assert!(c
        .issue_token(issue(
            Subject::SessionToken(token.clone()),
            Some(NARROW_KEY)
        ))
        .await
        .is_ok());

    let mut r = issue(Subject::UserId(user_id.clone()), Some(NARROW_KEY));
    r.get_mut().subject = Some(Subject::SessionToken(token.clone()));
    r.get_mut().audience = "mcp-tools".into();
    assert_eq!(
        code(c.issue_token(r).await),
        Code::PermissionDenied,
        "audience not the caller's"
    );

    let mut r = issue(Subject::UserId(user_id.clone()), Some(API_KEY));
    r.get_mut().audience = "mcp-tools".into();
    r.get_mut().lifetime_seconds = Some(60);
    let t = c.issue_token(r).await.unwrap().into_inner();
    let req = ValidateTokenRequest {
        token: t.token.clone(),
        audience: "mcp-tools".into(),
    };
    let got = c.validate_token(req).await.unwrap().into_inner();
    assert!(got.valid, "{got:?}");
    let req = ValidateTokenRequest {
        token: t.token,
        ..Default::default()
    };
    let got = c.validate_token(req).await.unwrap().into_inner();
    assert_eq!(
        got.reason(),
        Reason::JwtBadAudience,
        "an mcp-tools token is not for the default audience"
    );

    let mut r = issue(Subject::UserId(user_id.clone()), Some(API_KEY));
    r.get_mut().lifetime_seconds = Some(10 * 3600);
    assert_eq!(
        code(c.issue_token(r).await),
        Code::InvalidArgument,
        "lifetime over the bound"
    );
    let e = c
        .issue_token(issue(Subject::UserId("nobody".into()), Some(API_KEY)))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let e = c
        .issue_token(issue(
            Subject::SessionToken("not-a-session".into()),
            Some(API_KEY),
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let mut r = issue(Subject::UserId(user_id), Some(API_KEY));
    r.get_mut().subject = None;
    assert_eq!(code(c.issue_token(r).await), Code::InvalidArgument);
    s.stop().await;
}

async fn wrong_secret_is_failed_precondition(db: Db) {
    let file = "postgres-eddsa.json";
    let dir = tempfile::tempdir().unwrap();
    let (v, s, clock) = server(&db, file, dir.path()).await;
    s.stop().await;
    let other_secret = "a-completely-different-secret-0123456789";
    let callers = callers_file(dir.path());
    let mut args = common::server::settings_with_file(&db.url, other_secret, &callers);
    args.base_url = Some("http://127.0.0.1:3000".into());
    let s = TestServer::start_at(args, &clock).await;
    let user_id = v["users"][0]["userId"].as_str().unwrap().to_owned();
    let e = s
        .client
        .clone()
        .issue_token(issue(Subject::UserId(user_id), Some(API_KEY)))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    let kid = v["jwksRows"][0]["id"].as_str().unwrap();
    assert!(e.message().contains(kid), "{}", e.message());
    assert!(
        !e.message().contains("a-completely-different"),
        "secret leaked"
    );
    // No replacement key was created, as in Better Auth.
    assert_eq!(s.store.list_jwks().await.unwrap().len(), 1);
    s.stop().await;
}

mod sqlite {
    use super::*;

    #[tokio::test]
    async fn vectors_validate_and_reissue_identically() {
        super::vectors_validate_and_reissue_identically(|| Box::pin(Db::sqlite())).await
    }
    #[tokio::test]
    async fn callers_are_authenticated() {
        super::callers_are_authenticated(Db::sqlite().await).await
    }
    #[tokio::test]
    async fn wrong_secret_is_failed_precondition() {
        super::wrong_secret_is_failed_precondition(Db::sqlite().await).await
    }
}

mod postgres {
    use super::*;

    #[tokio::test]
    async fn vectors_validate_and_reissue_identically() {
        super::vectors_validate_and_reissue_identically(|| Box::pin(Db::postgres())).await
    }
    #[tokio::test]
    async fn callers_are_authenticated() {
        super::callers_are_authenticated(Db::postgres().await).await
    }
    #[tokio::test]
    async fn wrong_secret_is_failed_precondition() {
        super::wrong_secret_is_failed_precondition(Db::postgres().await).await
    }
}
