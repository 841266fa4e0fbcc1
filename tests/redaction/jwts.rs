//! JWT surgery, the signing key IssueToken created, and the JWTs the test sends.
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use better_auth_grpc::{
    domain::{model::JwkRow, secret::Secrets},
    proto::auth::v1 as pb,
    store::{sqlite::SqliteStore, Store},
    token::{decrypt_private_key, sign_compact, Alg, SigningKey},
};
use chrono::Utc;
use secrecy::ExposeSecret;
use serde_json::{json, Map, Value};

use super::{grep::Secret, CALLER_AUDIENCE, SECRET};

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn segments(jwt: &str) -> [String; 3] {
    let v: Vec<&str> = jwt.split('.').collect();
    assert_eq!(v.len(), 3, "not a compact JWT");
    [v[0].to_owned(), v[1].to_owned(), v[2].to_owned()]
}

pub fn claims_of(jwt: &str) -> Map<String, Value> {
    let payload = URL_SAFE_NO_PAD.decode(&segments(jwt)[1]).unwrap();
    serde_json::from_slice(&payload).unwrap()
}

/// A JWT with this header over the original payload and signature.
pub fn with_header(jwt: &str, header: Value) -> String {
    let [_, p, s] = segments(jwt);
    format!("{}.{p}.{s}", b64(header.to_string().as_bytes()))
}

/// Replaces one character of `s` at `i` with another of the same alphabet.
pub fn flip(s: &str, i: usize) -> String {
    let mut b = s.as_bytes().to_vec();
    b[i] = if b[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(b).unwrap()
}

/// The signing key IssueToken created, as Better Auth stores it, decrypted here.
pub struct Key {
    pub kid: String,
    pub alg: Alg,
    signing: SigningKey,
}

impl Key {
    /// Decrypts the one stored key; its private JWK and `d` join `secrets`.
    pub async fn decrypt(store: &SqliteStore, secrets: &mut Secret) -> Self {
        let rows: Vec<JwkRow> = store.list_jwks().await.expect("jwks");
        assert_eq!(rows.len(), 1, "IssueToken created one key");
        let row = &rows[0];
        let kid = row.id.clone();
        let private = decrypt_private_key(
            &kid,
            &row.private_key,
            &Secrets::from_secret(SECRET).unwrap(),
        )
        .expect("the key decrypts with BETTER_AUTH_SECRET");
        let private_jwk: Value = serde_json::from_str(private.expose_secret()).unwrap();
        let d_value = private_jwk["d"]
            .as_str()
            .expect("a private JWK has d")
            .to_owned();
        secrets.add("the private key's d", d_value);
        secrets.add("the private key", private.expose_secret().to_owned());
        let alg = Alg::parse(row.alg.as_deref().unwrap_or("EdDSA")).unwrap();
        let signing = SigningKey::from_private_jwk(&kid, private.expose_secret(), alg).unwrap();
        Self { kid, alg, signing }
    }
}

/// A JWT, the audience ValidateToken narrows to, and the refusal it answers (None: valid).
pub type JwtCase = (&'static str, String, &'static str, Option<pb::Reason>);

/// `jwt` valid, bearer and for the caller audience; then tampered, of forbidden algorithms and
/// headers, of an unknown key, and truncated.
pub fn tampered_jwts(jwt: &str, aud_jwt: &str, key: &Key, unknown: &str) -> Vec<JwtCase> {
    let (alg, kid) = (key.alg, &key.kid);
    let base = claims_of(jwt);
    let [h, p, s] = segments(jwt);
    let header = |extra: Value| {
        let mut m = json!({"alg": alg.as_str(), "kid": kid});
        for (k, v) in extra.as_object().unwrap() {
            m[k] = v.clone();
        }
        m
    };
    let mut other_payload = base.clone();
    other_payload.insert("sub".into(), json!(unknown));
    vec![
        ("valid JWT", jwt.to_owned(), "", None),
        ("bearer JWT", format!("Bearer {jwt}"), "", None),
        (
            "JWT for the caller audience",
            aud_jwt.to_owned(),
            CALLER_AUDIENCE,
            None,
        ),
        (
            "tampered payload",
            format!(
                "{h}.{}.{s}",
                b64(Value::Object(other_payload).to_string().as_bytes())
            ),
            "",
            Some(pb::Reason::JwtBadSignature),
        ),
        (
            "tampered signature",
            format!("{h}.{p}.{}", flip(&s, 10)),
            "",
            Some(pb::Reason::JwtBadSignature),
        ),
        (
            "signature of another JWT",
            format!("{h}.{p}.{}", segments(aud_jwt)[2]),
            "",
            Some(pb::Reason::JwtBadSignature),
        ),
        (
            "alg none",
            with_header(jwt, json!({"alg": "none", "kid": kid})),
            "",
            Some(pb::Reason::JwtAlgNotAllowed),
        ),
        (
            "HS256",
            with_header(jwt, json!({"alg": "HS256", "kid": kid})),
            "",
            Some(pb::Reason::JwtAlgNotAllowed),
        ),
        (
            "crit header",
            with_header(jwt, header(json!({"crit": ["exp"]}))),
            "",
            Some(pb::Reason::JwtForbiddenHeader),
        ),
        (
            "jku header",
            with_header(jwt, header(json!({"jku": "https://evil.example/jwks"}))),
            "",
            Some(pb::Reason::JwtForbiddenHeader),
        ),
        (
            "jwk header",
            with_header(
                jwt,
                header(json!({"jwk": {"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}})),
            ),
            "",
            Some(pb::Reason::JwtForbiddenHeader),
        ),
        (
            "x5c header",
            with_header(jwt, header(json!({"x5c": ["MIIB"]}))),
            "",
            Some(pb::Reason::JwtForbiddenHeader),
        ),
        (
            "unknown kid",
            with_header(jwt, json!({"alg": alg.as_str(), "kid": unknown})),
            "",
            Some(pb::Reason::JwtUnknownKey),
        ),
        (
            "truncated",
            format!("{h}.{p}"),
            "",
            Some(pb::Reason::Malformed),
        ),
    ]
}

/// Validly signed JWTs with bad claims: issuer, audience, subject, times, user, size.
pub fn crafted_jwts(jwt: &str, key: &Key, unknown: &str) -> Vec<JwtCase> {
    let base = claims_of(jwt);
    let craft = |edit: &dyn Fn(&mut Map<String, Value>)| {
        let mut claims = base.clone();
        edit(&mut claims);
        sign_compact(&key.signing, &key.kid, &claims).unwrap()
    };
    let now = Utc::now().timestamp();
    vec![
        (
            "bad issuer",
            craft(&|c| {
                c.insert("iss".into(), json!("https://evil.example"));
            }),
            "",
            Some(pb::Reason::JwtBadIssuer),
        ),
        (
            "bad audience",
            craft(&|c| {
                c.insert("aud".into(), json!("https://evil.example"));
            }),
            "",
            Some(pb::Reason::JwtBadAudience),
        ),
        (
            "no subject",
            craft(&|c| {
                c.remove("sub");
            }),
            "",
            Some(pb::Reason::JwtMissingSubject),
        ),
        (
            "expired",
            craft(&|c| {
                c.insert("exp".into(), json!(now - 60));
            }),
            "",
            Some(pb::Reason::JwtExpired),
        ),
        (
            "not yet valid",
            craft(&|c| {
                c.insert("nbf".into(), json!(now + 600));
            }),
            "",
            Some(pb::Reason::JwtNotYetValid),
        ),
        (
            "unknown user (jwt_check_user)",
            craft(&|c| {
                c.insert("sub".into(), json!(unknown));
            }),
            "",
            Some(pb::Reason::UserNotFound),
        ),
        (
            "oversized JWT",
            craft(&|c| {
                c.insert("pad".into(), json!("p".repeat(9000)));
            }),
            "",
            Some(pb::Reason::TooLarge),
        ),
    ]
}
