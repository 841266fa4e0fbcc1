//! JWT interop with real Better Auth 1.7.25 (npm) on the same PostgreSQL and SQLite databases:
//! tokens from its `/api/auth/token` validate here, tokens from IssueToken verify there (with jose
//! against its `/jwks` and with its own `verifyJWT`) and carry the same payload, byte for byte
//! when issued in the same second; a key created here is the one Better Auth signs with next;
//! rotation is followed without a restart; a key this service cannot decrypt stops IssueToken
//! (and its health entry) without touching the table; and IssueToken's callers are authenticated
//! and held to what the config grants them.
mod common;

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use better_auth_grpc::proto::auth::v1::{
    issue_token_request::Subject, CredentialKind, IssueTokenRequest, IssueTokenResponse, Reason,
    ValidateTokenRequest, ValidateTokenResponse,
};
use chrono::Utc;
use common::{
    better_auth::{BetterAuth, BetterAuthOptions, SignedIn, DEFAULT_BASE_URL, DEFAULT_SECRET},
    db::Db,
    server::{settings_with_file, TestServer},
};
use serde_json::{json, Map, Value};
use sqlx::{postgres::PgPoolOptions, sqlite::SqlitePoolOptions, Row};
use tonic::Code;
use tonic_health::pb::{
    health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
};

/// API key of the caller allowed to mint for any user id and for [`EXTRA_AUD`].
const SVC_KEY: &str = "svc-caller-api-key-0123456789abcdef";
/// API key of a caller limited to session subjects and the default audience.
const WEB_KEY: &str = "web-caller-api-key-0123456789abcdef";
const EXTRA_AUD: &str = "extra-aud";
/// Not Better Auth's secret: its private keys cannot be decrypted with it.
const OTHER_SECRET: &str = "not-the-better-auth-secret-0123456789abcdef";
/// Health entry of IssueToken.
const ISSUE_HEALTH: &str = "auth.v1.AuthService/IssueToken";
/// Better Auth's payload key order (docs/better-auth-compat.md §4.6).
const PAYLOAD_ORDER: [&str; 12] = [
    "iat",
    "name",
    "email",
    "emailVerified",
    "image",
    "createdAt",
    "updatedAt",
    "id",
    "sub",
    "exp",
    "iss",
    "aud",
];
/// Tries to get both services to sign within one second.
const SAME_SECOND_ATTEMPTS: usize = 5;

struct Env {
    db: Db,
    ba: BetterAuth,
    svc: TestServer,
    alg: &'static str,
    _config_dir: tempfile::TempDir,
}

fn sha256_hex(s: &str) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, s.as_bytes()).as_ref())
}

/// The TOML file holding the callers (they exist only there).
fn callers_toml(dir: &tempfile::TempDir) -> PathBuf {
    let path = dir.path().join("better-auth-grpc.toml");
    let text = format!(
        "[[callers]]\nname = \"svc\"\nkey_sha256 = \"{}\"\nallow_user_id = true\naudiences = [\"{EXTRA_AUD}\"]\n\n\
         [[callers]]\nname = \"web\"\nkey_sha256 = \"{}\"\nallow_user_id = false\n",
        sha256_hex(SVC_KEY),
        sha256_hex(WEB_KEY),
    );
    std::fs::write(&path, text).expect("write config file");
    path
}

async fn start_better_auth(db: &Db, alg: &str, extra_env: &[(&str, &str)]) -> BetterAuth {
    let target = db
        .sqlite_path()
        .map_or(db.url.clone(), |p| p.display().to_string());
    let mut opts = BetterAuthOptions::new(target);
    opts.jwt_alg = Some(alg.into());
    for (k, v) in extra_env {
        opts = opts.env(*k, *v);
    }
    BetterAuth::start(opts).await
}

/// Better Auth first (it migrates the schema, jwks included), then this service on the same database.
async fn start(db: Db, alg: &'static str, ba_env: &[(&str, &str)], secret: &str) -> Env {
    let ba = start_better_auth(&db, alg, ba_env).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut args = settings_with_file(&db.url, secret, &callers_toml(&dir));
    args.base_url = Some(DEFAULT_BASE_URL.into());
    args.jwt_alg = alg.into();
    args.jwt_reload_cooldown_ms = 100;
    let svc = TestServer::start(args).await;
    Env {
        db,
        ba,
        svc,
        alg,
        _config_dir: dir,
    }
}

async fn sign_up(env: &Env, n: usize) -> SignedIn {
    // Non-ASCII, a quote and a slash: JSON.stringify emits them raw (except the escaped quote).
    env.ba
        .sign_up(
            &format!("jwt-user-{n}@example.com"),
            "a-long-password-123",
            &format!("Zoë \"Jwt\" Ünïcode {n} a/b"),
        )
        .await
}

async fn try_validate(
    env: &Env,
    token: &str,
    audience: &str,
) -> Result<ValidateTokenResponse, tonic::Status> {
    let req = ValidateTokenRequest {
        token: token.into(),
        audience: audience.into(),
    };
    env.svc
        .client
        .clone()
        .validate_token(req)
        .await
        .map(|r| r.into_inner())
}

async fn validate(env: &Env, token: &str, audience: &str) -> ValidateTokenResponse {
    try_validate(env, token, audience)
        .await
        .expect("ValidateToken answers OK")
}

async fn issue(
    env: &Env,
    api_key: Option<&str>,
    subject: Subject,
    audience: &str,
    lifetime_seconds: Option<u32>,
) -> Result<IssueTokenResponse, tonic::Status> {
    let mut req = tonic::Request::new(IssueTokenRequest {
        subject: Some(subject),
        audience: audience.into(),
        lifetime_seconds,
    });
    if let Some(key) = api_key {
        req.metadata_mut()
            .insert("x-api-key", key.parse().expect("ascii metadata"));
    }
    env.svc
        .client
        .clone()
        .issue_token(req)
        .await
        .map(|r| r.into_inner())
}

async fn issue_ok(
    env: &Env,
    api_key: &str,
    subject: Subject,
    audience: &str,
) -> IssueTokenResponse {
    issue(env, Some(api_key), subject.clone(), audience, None)
        .await
        .unwrap_or_else(|s| panic!("IssueToken({subject:?}, aud {audience:?}): {s:?}"))
}

fn session_subject(who: &SignedIn) -> Subject {
    Subject::SessionToken(who.cookie_header.clone())
}

async fn better_auth_token(env: &Env, who: &SignedIn) -> String {
    let (status, jwt) = env.ba.token(&who.cookie_header).await;
    assert_eq!(
        status,
        200,
        "GET /token failed\n--- node stderr (tail) ---\n{}",
        env.ba.stderr_tail()
    );
    jwt.expect("GET /token answered a token")
}

/// Header and payload as JSON, key order preserved (serde_json `preserve_order`).
fn decode(jwt: &str) -> (Value, Value) {
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3, "not a compact JWS: {jwt}");
    let part = |s: &str| -> Value {
        let bytes = URL_SAFE_NO_PAD.decode(s).expect("base64url segment");
        serde_json::from_slice(&bytes).expect("JSON segment")
    };
    (part(parts[0]), part(parts[1]))
}

fn signing_input(jwt: &str) -> &str {
    &jwt[..jwt.rfind('.').expect("compact JWS")]
}

fn keys(v: &Value) -> Vec<String> {
    v.as_object()
        .expect("JSON object")
        .keys()
        .cloned()
        .collect()
}

fn without_times(v: &Value) -> Map<String, Value> {
    let mut m = v.as_object().expect("JSON object").clone();
    m.shift_remove("iat");
    m.shift_remove("exp");
    m
}

fn num(v: &Value, key: &str) -> i64 {
    v[key]
        .as_i64()
        .unwrap_or_else(|| panic!("{key} is not an integer in {v}"))
}

fn kid(jwt: &str) -> String {
    decode(jwt).0["kid"].as_str().expect("kid").to_owned()
}

/// A `google.protobuf.Struct` as JSON (integral numbers as integers, like the JWT's).
fn struct_json(s: &prost_types::Struct) -> Map<String, Value> {
    s.fields
        .iter()
        .map(|(k, v)| (k.clone(), value_json(v)))
        .collect()
}

fn value_json(v: &prost_types::Value) -> Value {
    use prost_types::value::Kind;
    match &v.kind {
        Some(Kind::BoolValue(b)) => json!(b),
        Some(Kind::StringValue(s)) => json!(s),
        Some(Kind::NumberValue(n)) if n.fract() == 0.0 && n.abs() < 9.0e15 => json!(*n as i64),
        Some(Kind::NumberValue(n)) => json!(n),
        Some(Kind::StructValue(s)) => Value::Object(struct_json(s)),
        Some(Kind::ListValue(l)) => Value::Array(l.values.iter().map(value_json).collect()),
        _ => Value::Null,
    }
}

/// Objects compared regardless of key order.
fn same_members(a: &Map<String, Value>, b: &Map<String, Value>) -> bool {
    a.len() == b.len() && a.iter().all(|(k, v)| b.get(k) == Some(v))
}

/// jose.jwtVerify against Better Auth's /jwks with the default issuer and the given audience.
async fn jose_verify_audience(ba: &BetterAuth, jwt: &str, audience: &str) -> Value {
    let resp = ba
        .client()
        .get(format!("{}/test/jose-verify", ba.url()))
        .query(&[("token", jwt), ("audience", audience)])
        .send()
        .await
        .expect("jose-verify request");
    assert_eq!(resp.status().as_u16(), 200);
    resp.json().await.expect("jose-verify JSON")
}

/// Both of Better Auth's verifiers accept `jwt` and see exactly its payload.
async fn better_auth_accepts(env: &Env, jwt: &str, what: &str) {
    let (_, payload) = decode(jwt);
    let jose = env.ba.jose_verify(jwt).await;
    assert_eq!(jose["ok"], json!(true), "jose refuses {what}: {jose}");
    assert_eq!(jose["payload"], payload, "jose's payload of {what}");
    let native = env.ba.verify_jwt_native(jwt).await;
    assert_eq!(
        native.as_ref(),
        Some(&payload),
        "Better Auth's verifyJWT on {what}\n--- node stderr (tail) ---\n{}",
        env.ba.stderr_tail()
    );
}

/// Sleeps until a few milliseconds past the next whole second.
async fn to_start_of_second() {
    let ms = Utc::now().timestamp_subsec_millis() as u64;
    tokio::time::sleep(Duration::from_millis(1000 - ms + 20)).await;
}

struct JwkRow {
    id: String,
    public_key: String,
    private_key: String,
    alg: Option<String>,
    crv: Option<String>,
    expires_at_null: bool,
}

/// The jwks table, as Better Auth wrote it (or this service did).
async fn jwks_rows(url: &str) -> Vec<JwkRow> {
    const Q: &str = r#"SELECT "id", "publicKey", "privateKey", "alg", "crv",
        CASE WHEN "expiresAt" IS NULL THEN 1 ELSE 0 END AS "noExp" FROM "jwks""#;
    macro_rules! read {
        ($pool:expr) => {{
            let pool = $pool;
            let rows = sqlx::query(Q).fetch_all(&pool).await.expect("read jwks");
            pool.close().await;
            rows.iter()
                .map(|r| JwkRow {
                    id: r.get("id"),
                    public_key: r.get("publicKey"),
                    private_key: r.get("privateKey"),
                    alg: r.get("alg"),
                    crv: r.get("crv"),
                    expires_at_null: r.get::<i32, _>("noExp") == 1,
                })
                .collect()
        }};
    }
    if url.starts_with("sqlite:") {
        read!(SqlitePoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await
            .expect("sqlite"))
    } else {
        read!(PgPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await
            .expect("postgres"))
    }
}

fn deterministic(alg: &str) -> bool {
    matches!(alg, "EdDSA" | "RS256")
}

/// Case 1: a token Better Auth handed out validates here, in both forms, and is refused when
/// tampered with or when the caller narrows the audience to another value.
async fn assert_validates_here(env: &Env, jwt: &str, who: &SignedIn) {
    let (_, payload) = decode(jwt);
    assert_eq!(payload["sub"], json!(who.user_id));
    for input in [jwt.to_owned(), format!("Bearer {jwt}")] {
        let r = validate(env, &input, "").await;
        assert!(r.valid, "{}: Better Auth's token refused: {r:?}", env.alg);
        assert_eq!(r.kind(), CredentialKind::Jwt);
        assert_eq!(r.reason(), Reason::Unspecified);
        let user = r.user.as_ref().expect("user");
        assert_eq!(user.id, who.user_id);
        assert_eq!(json!(user.email), payload["email"]);
        assert_eq!(json!(user.name), payload["name"]);
        assert!(r.session.is_none(), "a JWT has no session");
        assert_eq!(
            r.expires_at.as_ref().expect("expires_at").seconds,
            num(&payload, "exp")
        );
        let claims = struct_json(r.claims.as_ref().expect("claims"));
        assert!(
            same_members(&claims, payload.as_object().unwrap()),
            "claims {claims:?} != payload {payload}"
        );
    }
    // Narrowing to the default audience keeps it valid; to another accepted audience refuses it
    // in-band; to one this service never accepts is a bad request.
    assert!(validate(env, jwt, DEFAULT_BASE_URL).await.valid);
    let r = validate(env, jwt, EXTRA_AUD).await;
    assert_eq!(
        (r.valid, r.reason()),
        (false, Reason::JwtBadAudience),
        "{r:?}"
    );
    let status = try_validate(env, jwt, "other")
        .await
        .expect_err("audience \"other\" is not accepted by this service");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    // One payload character changed.
    let parts: Vec<&str> = jwt.split('.').collect();
    let mut body: Vec<char> = parts[1].chars().collect();
    let i = body.len() / 2;
    body[i] = if body[i] == 'A' { 'B' } else { 'A' };
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        body.into_iter().collect::<String>(),
        parts[2]
    );
    let r = validate(env, &tampered, "").await;
    assert!(!r.valid, "tampered token accepted: {r:?}");
    assert!(
        matches!(r.reason(), Reason::JwtBadSignature | Reason::JwtMalformed),
        "tampered token: {r:?}"
    );
}

/// Case 2: IssueToken for the session's holder gives what Better Auth's /token gives: verified by
/// Better Auth, same header, same payload (key order included) up to iat/exp, and the same bytes
/// when both sign in the same second (whole token for the deterministic algs).
async fn assert_issues_like_better_auth(env: &Env, who: &SignedIn) {
    let mut last = None;
    for _ in 0..SAME_SECOND_ATTEMPTS {
        to_start_of_second().await;
        let ours = issue_ok(env, WEB_KEY, session_subject(who), "").await;
        let theirs = better_auth_token(env, who).await;
        let same = decode(&ours.token).1["iat"] == decode(&theirs).1["iat"];
        last = Some((ours, theirs, same));
        if same {
            break;
        }
    }
    let (ours, theirs, same_second) = last.expect("at least one attempt");
    let (h_ours, p_ours) = decode(&ours.token);
    let (h_theirs, p_theirs) = decode(&theirs);

    assert_eq!(keys(&h_theirs), ["alg", "kid"], "Better Auth's header");
    assert_eq!(
        ours.token.split('.').next(),
        theirs.split('.').next(),
        "{}: header bytes differ: {h_ours} vs {h_theirs}",
        env.alg
    );
    assert_eq!(h_ours["alg"], json!(env.alg));
    assert_eq!(ours.kid, h_ours["kid"].as_str().unwrap());
    assert_eq!(
        keys(&p_theirs),
        PAYLOAD_ORDER,
        "Better Auth's payload order"
    );
    assert_eq!(keys(&p_ours), keys(&p_theirs), "payload key order");
    assert_eq!(
        without_times(&p_ours),
        without_times(&p_theirs),
        "payload differs beyond iat/exp"
    );
    assert_eq!(num(&p_ours, "exp") - num(&p_ours, "iat"), 900);
    assert_eq!(num(&p_theirs, "exp") - num(&p_theirs, "iat"), 900);
    assert_eq!(
        ours.expires_at.as_ref().expect("expires_at").seconds,
        num(&p_ours, "exp")
    );
    if same_second {
        assert_eq!(
            signing_input(&ours.token),
            signing_input(&theirs),
            "{}: same second, different signing input",
            env.alg
        );
        if deterministic(env.alg) {
            assert_eq!(
                ours.token, theirs,
                "{}: same second, different token",
                env.alg
            );
        }
    } else {
        eprintln!(
            "{}: never signed in the same second as Better Auth in {SAME_SECOND_ATTEMPTS} attempts; \
             compared header bytes and payload without iat/exp only",
            env.alg
        );
    }
    better_auth_accepts(env, &ours.token, "our token").await;
    let r = validate(env, &ours.token, "").await;
    assert!(r.valid, "our own token refused: {r:?}");
}

/// Cases 1 and 2 on a key Better Auth created (so IssueToken decrypts Better Auth's private key).
async fn better_auth_keys(db: Db, alg: &'static str) {
    let env = start(db, alg, &[], DEFAULT_SECRET).await;
    let who = sign_up(&env, 1).await;
    let jwt = better_auth_token(&env, &who).await;
    let rows = jwks_rows(&env.db.url).await;
    assert_eq!(rows.len(), 1, "Better Auth created one key");
    assert_eq!(rows[0].id, kid(&jwt));
    assert_validates_here(&env, &jwt, &who).await;
    assert_issues_like_better_auth(&env, &who).await;
    // The user-id subject mints the same payload for the same user.
    let by_id = issue_ok(&env, SVC_KEY, Subject::UserId(who.user_id.clone()), "").await;
    assert_eq!(
        without_times(&decode(&by_id.token).1),
        without_times(&decode(&jwt).1)
    );
    better_auth_accepts(&env, &by_id.token, "user-id token").await;
    assert_eq!(jwks_rows(&env.db.url).await.len(), 1, "no key added");
}

/// Case 3: on a database where Better Auth has made no key yet, IssueToken creates the row exactly
/// as Better Auth would, and Better Auth then signs with it and publishes it.
async fn key_created_here(db: Db, alg: &'static str) {
    let env = start(db, alg, &[], DEFAULT_SECRET).await;
    let who = sign_up(&env, 2).await;
    assert!(
        jwks_rows(&env.db.url).await.is_empty(),
        "Better Auth made a key before /token or /jwks; the case needs an empty jwks table"
    );
    let ours = issue_ok(&env, WEB_KEY, session_subject(&who), "").await;

    let rows = jwks_rows(&env.db.url).await;
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.id, ours.kid);
    assert_eq!(row.id.len(), 32, "kid {}", row.id);
    assert!(row.id.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(row.alg.as_deref(), Some(alg));
    let (crv, order): (Option<&str>, &[&str]) = match alg {
        "EdDSA" => (Some("Ed25519"), &["crv", "x", "kty"]),
        "ES256" => (Some("P-256"), &["kty", "x", "y", "crv"]),
        "ES512" => (Some("P-521"), &["kty", "x", "y", "crv"]),
        _ => (None, &["kty", "n", "e"]),
    };
    assert_eq!(row.crv.as_deref(), crv);
    let public: Value = serde_json::from_str(&row.public_key).expect("publicKey JSON");
    assert_eq!(keys(&public), order, "publicKey {}", row.public_key);
    let private: String =
        serde_json::from_str(&row.private_key).expect("privateKey is a JSON string");
    assert!(
        private.len() > 80
            && private
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
        "privateKey is not JSON.stringify(lowercase hex): {}",
        row.private_key
    );
    assert!(
        row.expires_at_null,
        "no rotation configured: expiresAt NULL"
    );

    let theirs = better_auth_token(&env, &who).await;
    assert_eq!(kid(&theirs), ours.kid, "Better Auth signs with our key");
    let jwks = env.ba.jwks().await;
    let listed = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["kid"] == json!(ours.kid))
        .unwrap_or_else(|| panic!("/jwks does not list {}: {jwks}", ours.kid));
    assert_eq!(listed["alg"], json!(alg));
    assert_eq!(
        jwks_rows(&env.db.url).await.len(),
        1,
        "Better Auth added no key"
    );
    better_auth_accepts(&env, &ours.token, "token signed with our key").await;
    assert_validates_here(&env, &theirs, &who).await;
    assert_issues_like_better_auth(&env, &who).await;
}

/// Case 4: Better Auth rotates (every 2 s); a token on the new key validates here without a
/// restart, and one on the old key still does (grace period).
async fn rotation(db: Db, alg: &'static str) {
    let env = start(db, alg, &[("BA_JWT_ROTATION", "2")], DEFAULT_SECRET).await;
    let who = sign_up(&env, 3).await;
    let a = better_auth_token(&env, &who).await;
    assert!(validate(&env, &a, "").await.valid, "token A");
    tokio::time::sleep(Duration::from_millis(2600)).await;
    let b = better_auth_token(&env, &who).await;
    assert_ne!(kid(&a), kid(&b), "Better Auth rotated");
    assert_eq!(jwks_rows(&env.db.url).await.len(), 2);
    let r = validate(&env, &b, "").await;
    assert!(r.valid, "token B on the new key: {r:?}");
    assert_eq!(r.user.unwrap().id, who.user_id);
    let r = validate(&env, &a, "").await;
    assert!(r.valid, "token A on the rotated-out key: {r:?}");
}

async fn health(client: &mut HealthClient<tonic::transport::Channel>) -> Option<ServingStatus> {
    let req = HealthCheckRequest {
        service: ISSUE_HEALTH.into(),
    };
    client
        .check(req)
        .await
        .ok()
        .map(|r| r.into_inner().status())
}

/// Case 5: this service runs with another secret than Better Auth: IssueToken answers
/// FAILED_PRECONDITION naming the key, health says NOT_SERVING, no replacement key is written,
/// and validation (public keys only) goes on.
async fn wrong_secret(db: Db) {
    let env = start(db, "EdDSA", &[], OTHER_SECRET).await;
    let who = sign_up(&env, 4).await;
    let jwt = better_auth_token(&env, &who).await;
    let kid = kid(&jwt);
    let channel = tonic::transport::Endpoint::from_shared(env.svc.channel_url())
        .expect("endpoint")
        .connect()
        .await
        .expect("health channel");
    let mut health_client = HealthClient::new(channel);

    let status = issue(
        &env,
        Some(SVC_KEY),
        Subject::UserId(who.user_id.clone()),
        "",
        None,
    )
    .await
    .expect_err("a key that cannot be decrypted cannot sign");
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(
        status.message().contains(&kid),
        "message does not name key {kid}: {status:?}"
    );

    let started = Instant::now();
    loop {
        let s = health(&mut health_client).await;
        if s == Some(ServingStatus::NotServing) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "health of {ISSUE_HEALTH} still {s:?} after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let rows = jwks_rows(&env.db.url).await;
    assert_eq!(rows.len(), 1, "no replacement key");
    assert_eq!(rows[0].id, kid);
    assert!(
        validate(&env, &jwt, "").await.valid,
        "verification needs no secret"
    );
}

fn assert_code<T: std::fmt::Debug>(what: &str, r: Result<T, tonic::Status>, code: Code) {
    let status = r.expect_err(what);
    assert_eq!(status.code(), code, "{what}: {status:?}");
}

/// Case 6: callers are authenticated by x-api-key and held to what the config grants them.
async fn callers(db: Db) {
    let env = start(db, "EdDSA", &[], DEFAULT_SECRET).await;
    let who = sign_up(&env, 5).await;
    let by_session = session_subject(&who);
    let by_id = Subject::UserId(who.user_id.clone());

    let r = issue(&env, None, by_session.clone(), "", None).await;
    assert_code("no x-api-key", r, Code::Unauthenticated);
    let r = issue(
        &env,
        Some("not-a-caller-key-0123456789"),
        by_session.clone(),
        "",
        None,
    )
    .await;
    assert_code("unknown x-api-key", r, Code::Unauthenticated);
    let r = issue(&env, Some(WEB_KEY), by_id.clone(), "", None).await;
    assert_code("user_id without allow_user_id", r, Code::PermissionDenied);
    let r = issue(&env, Some(SVC_KEY), by_session.clone(), "not-listed", None).await;
    assert_code("audience outside the list", r, Code::PermissionDenied);
    let r = issue(&env, Some(WEB_KEY), by_session.clone(), EXTRA_AUD, None).await;
    assert_code("another caller's audience", r, Code::PermissionDenied);

    // Allowed: session subject for any caller, the default audience by name, the extra audience.
    let web = issue_ok(&env, WEB_KEY, by_session.clone(), "").await;
    better_auth_accepts(&env, &web.token, "web caller's token").await;
    let named = issue_ok(&env, SVC_KEY, by_id.clone(), DEFAULT_BASE_URL).await;
    assert_eq!(decode(&named.token).1["aud"], json!(DEFAULT_BASE_URL));
    better_auth_accepts(&env, &named.token, "token for the default audience by name").await;

    let extra = issue_ok(&env, SVC_KEY, by_id.clone(), EXTRA_AUD).await;
    let (_, payload) = decode(&extra.token);
    assert_eq!(payload["aud"], json!(EXTRA_AUD));
    assert_eq!(payload["iss"], json!(DEFAULT_BASE_URL));
    assert_eq!(payload["sub"], json!(who.user_id));
    let jose = jose_verify_audience(&env.ba, &extra.token, EXTRA_AUD).await;
    assert_eq!(
        jose["ok"],
        json!(true),
        "jose with audience {EXTRA_AUD}: {jose}"
    );
    assert_eq!(jose["payload"], payload);
    let jose = env.ba.jose_verify(&extra.token).await;
    assert_eq!(
        jose["ok"],
        json!(false),
        "not for the default audience: {jose}"
    );

    // lifetime_seconds sets exp.
    let short = issue(&env, Some(SVC_KEY), by_id.clone(), "", Some(60))
        .await
        .expect("lifetime 60 s");
    let (_, payload) = decode(&short.token);
    assert_eq!(num(&payload, "exp") - num(&payload, "iat"), 60);
    assert_eq!(short.expires_at.unwrap().seconds, num(&payload, "exp"));
    better_auth_accepts(&env, &short.token, "60 s token").await;
}

macro_rules! per_alg {
    ($($name:ident: $engine:ident, $alg:literal;)*) => {$(
        mod $name {
            use super::*;

            #[tokio::test]
            async fn better_auth_tokens_validate_and_issued_tokens_match() {
                super::better_auth_keys(Db::$engine().await, $alg).await
            }
            #[tokio::test]
            async fn key_created_here_is_used_by_better_auth() {
                super::key_created_here(Db::$engine().await, $alg).await
            }
            #[tokio::test]
            async fn rotation_is_followed_without_restart() {
                super::rotation(Db::$engine().await, $alg).await
            }
        }
    )*};
}

per_alg! {
    postgres_eddsa: postgres, "EdDSA";
    postgres_es256: postgres, "ES256";
    postgres_es512: postgres, "ES512";
    postgres_rs256: postgres, "RS256";
    postgres_ps256: postgres, "PS256";
    sqlite_eddsa: sqlite, "EdDSA";
    sqlite_rs256: sqlite, "RS256";
}

macro_rules! per_engine {
    ($($engine:ident),*) => {$(
        mod $engine {
            use super::*;

            #[tokio::test]
            async fn wrong_secret_stops_issuing_and_health() {
                super::wrong_secret(Db::$engine().await).await
            }
            #[tokio::test]
            async fn callers_are_authenticated_and_limited() {
                super::callers(Db::$engine().await).await
            }
        }
    )*};
}

per_engine!(postgres, sqlite);
