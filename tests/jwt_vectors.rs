//! The token layer against real Better Auth 1.7.25 output (tests/vectors):
//! stored keys decrypt, every token verifies at its `iat`, and re-issuing from the same
//! user row, key and second reproduces Better Auth's bytes (EdDSA, RS256; ES256 up to its
//! randomized signature).
use std::path::PathBuf;
use std::sync::Arc;

use better_auth_grpc::clock::FixedClock;
use better_auth_grpc::domain::model::{JwkRow, User};
use better_auth_grpc::domain::reason::Reason;
use better_auth_grpc::domain::secret::Secrets;
use better_auth_grpc::token::{
    decrypt_private_key, js_stringify, Alg, IssueOptions, Issuer, JwkRows, JwtSettings, KeySet,
    TokenError, Verifier, VerifyOptions,
};
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde_json::{Map, Value};

const FILES: [&str; 3] = [
    "postgres-eddsa.json",
    "postgres-es256.json",
    "sqlite-rs256.json",
];
const CORE_USER_FIELDS: [&str; 7] = [
    "id",
    "name",
    "email",
    "emailVerified",
    "image",
    "createdAt",
    "updatedAt",
];

fn vectors_dir() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors"));
    assert!(
        dir.join("README.md").is_file(),
        "Better Auth test vectors not found at {}: tests/vectors/ is part of the repository",
        dir.display()
    );
    dir
}

struct Vector {
    name: &'static str,
    doc: Value,
    secret: String,
}

impl Vector {
    fn all() -> Vec<Vector> {
        let dir = vectors_dir();
        let readme =
            std::fs::read_to_string(dir.join("README.md")).expect("read vectors README.md");
        FILES
            .into_iter()
            .map(|name| {
                let text = std::fs::read_to_string(dir.join(name))
                    .unwrap_or_else(|e| panic!("read {name}: {e}"));
                let doc =
                    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {name}: {e}"));
                Vector {
                    name,
                    doc,
                    secret: secret_from_readme(&readme, name),
                }
            })
            .collect()
    }

    fn secrets(&self) -> Secrets {
        Secrets::from_secret(&self.secret).expect("vector secret is acceptable")
    }

    fn alg(&self) -> Alg {
        self.doc["config"]["jwtPluginOptions"]["jwks"]["keyPairConfig"]["alg"]
            .as_str()
            .map_or(Alg::EdDSA, |a| Alg::parse(a).expect("supported alg"))
    }

    fn settings(&self) -> JwtSettings {
        let mut s =
            JwtSettings::for_origin(self.doc["config"]["baseURL"].as_str().expect("baseURL"));
        s.alg = self.alg();
        assert_eq!(s.issuer, self.doc["config"]["expectedIssuer"]);
        s
    }

    fn raw_rows(&self) -> &Vec<Value> {
        self.doc["jwksRows"].as_array().expect("jwksRows")
    }

    fn rows(&self) -> Vec<JwkRow> {
        self.raw_rows().iter().map(jwk_row).collect()
    }

    fn users(&self) -> &Vec<Value> {
        self.doc["users"].as_array().expect("users")
    }
}

/// The `BETTER_AUTH_SECRET` column of the README's table row for `file`.
fn secret_from_readme(readme: &str, file: &str) -> String {
    let line = readme
        .lines()
        .find(|l| l.starts_with('|') && l.contains(file))
        .unwrap_or_else(|| panic!("README has no row for {file}"));
    let cell = line
        .split('|')
        .nth(4)
        .unwrap_or_else(|| panic!("README row for {file} has no secret column"));
    cell.trim().trim_matches('`').to_owned()
}

fn date(v: &Value) -> DateTime<Utc> {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("date expected, got {v}"));
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .with_timezone(&Utc)
}

fn opt_text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

fn jwk_row(r: &Value) -> JwkRow {
    JwkRow {
        id: r["id"].as_str().expect("id").to_owned(),
        public_key: r["publicKey"].as_str().expect("publicKey").to_owned(),
        private_key: r["privateKey"].as_str().expect("privateKey").to_owned(),
        created_at: date(&r["createdAt"]),
        expires_at: (!r["expiresAt"].is_null()).then(|| date(&r["expiresAt"])),
        alg: opt_text(&r["alg"]),
        crv: opt_text(&r["crv"]),
    }
}

/// The user as the service would read it: the PostgreSQL driver row, or (SQLite, whose raw
/// row has 0/1 booleans) the user object of the get-session body.
fn user_of(u: &Value) -> User {
    let row = match u["db"]["user"]["viaDriver"].get(0) {
        Some(row) => row,
        None => &u["getSession"]["body"]["user"],
    };
    let obj = row.as_object().expect("user object");
    User {
        id: row["id"].as_str().expect("id").to_owned(),
        name: row["name"].as_str().expect("name").to_owned(),
        email: row["email"].as_str().expect("email").to_owned(),
        email_verified: row["emailVerified"].as_bool().expect("emailVerified"),
        image: opt_text(&row["image"]),
        created_at: date(&row["createdAt"]),
        updated_at: date(&row["updatedAt"]),
        extra: obj
            .iter()
            .filter(|(k, _)| !CORE_USER_FIELDS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}

/// Both tokens Better Auth issued for a user: `/api/auth/token` and the get-session header.
fn tokens_of(u: &Value) -> Vec<&Value> {
    let tokens = vec![&u["jwt"], &u["jwtFromGetSessionHeader"]];
    for t in &tokens {
        assert!(t["token"].is_string(), "vector user without tokens");
    }
    tokens
}

fn iat_of(jwt: &Value) -> DateTime<Utc> {
    let iat = jwt["payload"]["iat"].as_i64().expect("iat");
    DateTime::from_timestamp(iat, 0).expect("iat in range")
}

async fn verifier_at(v: &Vector, clock: &FixedClock) -> Verifier {
    let settings = v.settings();
    let keys = KeySet::from_rows(v.rows(), &settings, Arc::new(clock.clone()))
        .await
        .expect("key set");
    assert_eq!(
        keys.len(),
        v.raw_rows().len(),
        "{}: every stored key is usable",
        v.name
    );
    Verifier::new(
        Arc::new(keys),
        Arc::new(settings),
        Arc::new(v.secrets()),
        Arc::new(clock.clone()),
    )
}

#[test]
fn stored_private_keys_decrypt_to_better_auths_jwk() {
    for v in Vector::all() {
        for r in v.raw_rows() {
            let kid = r["id"].as_str().expect("id");
            let jwk = decrypt_private_key(
                kid,
                r["privateKey"].as_str().expect("privateKey"),
                &v.secrets(),
            )
            .unwrap_or_else(|e| panic!("{}: {e}", v.name));
            assert_eq!(
                jwk.expose_secret(),
                r["privateKeyDecrypted"].as_str().expect("decrypted"),
                "{}",
                v.name
            );
        }
    }
}

#[test]
fn a_wrong_secret_names_the_key() {
    let wrong = Secrets::from_secret("definitely-not-the-secret-0123456789abcdef").expect("secret");
    for v in Vector::all() {
        for r in v.raw_rows() {
            let kid = r["id"].as_str().expect("id");
            let err =
                decrypt_private_key(kid, r["privateKey"].as_str().expect("privateKey"), &wrong)
                    .unwrap_err();
            assert!(
                matches!(&err, TokenError::KeyDecrypt { kid: k, .. } if k == kid),
                "{}: {err:?}",
                v.name
            );
            assert!(err.to_string().contains(kid), "{err}");
        }
    }
}

#[tokio::test]
async fn every_better_auth_token_verifies_at_its_iat() {
    for v in Vector::all() {
        for u in v.users() {
            for jwt in tokens_of(u) {
                let token = jwt["token"].as_str().expect("token");
                let clock = FixedClock::at(iat_of(jwt));
                let verifier = verifier_at(&v, &clock).await;
                let ok = verifier
                    .verify(token, VerifyOptions::default())
                    .await
                    .unwrap_or_else(|e| panic!("{}: {e}", v.name));
                assert_eq!(ok.sub, u["userId"].as_str().expect("userId"));
                assert_eq!(Some(ok.exp), jwt["payload"]["exp"].as_i64());
                assert_eq!(ok.kid.as_deref(), jwt["header"]["kid"].as_str());
                assert_eq!(ok.alg, v.alg().as_str());
                // Claims come back in token order, byte for byte.
                let claims = js_stringify(&Value::Object(ok.claims)).expect("stringify");
                assert_eq!(
                    claims,
                    jwt["payloadJson"].as_str().expect("payloadJson"),
                    "{}",
                    v.name
                );

                clock.set(DateTime::from_timestamp(ok.exp, 0).expect("exp"));
                let late = verifier
                    .verify(token, VerifyOptions::default())
                    .await
                    .unwrap_err();
                assert_eq!(late.reason(), Some(Reason::JwtExpired), "{}", v.name);
            }
        }
    }
}

#[tokio::test]
async fn reissuing_reproduces_better_auths_tokens() {
    for v in Vector::all() {
        for u in v.users() {
            let user = user_of(u);
            let user_json = Value::Object(user.to_better_auth_json());
            assert_eq!(
                user_json, u["getSession"]["body"]["user"],
                "{}: user row",
                v.name
            );
            for jwt in tokens_of(u) {
                let expected = jwt["token"].as_str().expect("token");
                let clock = FixedClock::at(iat_of(jwt));
                let rows = Arc::new(JwkRows::memory(v.rows()));
                let issuer = Issuer::new(
                    Arc::clone(&rows),
                    Arc::new(v.settings()),
                    Arc::new(v.secrets()),
                    Arc::new(clock.clone()),
                );
                let issued = issuer
                    .issue(&user, IssueOptions::default())
                    .await
                    .unwrap_or_else(|e| panic!("{}: {e}", v.name));
                assert_eq!(
                    rows.list().await.expect("rows").len(),
                    v.raw_rows().len(),
                    "no key created"
                );
                match v.alg() {
                    Alg::EdDSA | Alg::RS256 => assert_eq!(issued.token, expected, "{}", v.name),
                    _ => {
                        // Randomized signature: header and payload must still be identical.
                        let unsigned = |t: &str| t.rsplit_once('.').map(|(a, _)| a.to_owned());
                        assert_eq!(unsigned(&issued.token), unsigned(expected), "{}", v.name);
                        let verifier = verifier_at(&v, &clock).await;
                        verifier
                            .verify(&issued.token, VerifyOptions::default())
                            .await
                            .expect("re-issued token verifies");
                    }
                }
                assert_eq!(
                    Some(issued.expires_at.timestamp()),
                    jwt["payload"]["exp"].as_i64()
                );
                assert_eq!(issued.kid, jwt["header"]["kid"].as_str().expect("kid"));
                let header: Map<String, Value> =
                    serde_json::from_str(jwt["headerJson"].as_str().expect("headerJson"))
                        .expect("header");
                assert_eq!(header.keys().collect::<Vec<_>>(), ["alg", "kid"]);
            }
        }
    }
}
