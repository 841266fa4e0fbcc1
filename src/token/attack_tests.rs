//! The attack matrix: every way a token can be wrong, each refused with its exact reason,
//! none panicking.
use serde_json::{json, Value};

use super::{b64, JwtSettings, TokenError, VerifyOptions};
use crate::domain::reason::Reason;
use crate::test_util::{forge, forge_hs256, Fixture, NOW, ORIGIN, SECRET};

async fn refusal(f: &Fixture, token: &str) -> Reason {
    refusal_with(f, token, VerifyOptions::default()).await
}

async fn refusal_with(f: &Fixture, token: &str, opts: VerifyOptions<'_>) -> Reason {
    match f.verifier().verify(token, opts).await {
        Err(TokenError::Refused(r)) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn with_claim(f: &Fixture, key: &str, v: Value) -> Value {
    let mut c = f.claims();
    c[key] = v;
    c
}

fn without_claim(f: &Fixture, key: &str) -> Value {
    let mut c = f.claims();
    c.as_object_mut().map(|m| m.remove(key));
    c
}

#[tokio::test]
async fn a_genuine_token_verifies() {
    let f = Fixture::new().await;
    let token = forge(&f.eddsa_header(), &f.claims(), &f.eddsa.1);
    let v = f
        .verifier()
        .verify(&token, VerifyOptions::default())
        .await
        .unwrap();
    assert_eq!(v.sub, "u1");
    assert_eq!(v.exp, NOW + 900);
    assert_eq!(v.kid.as_deref(), Some(f.eddsa.0.id.as_str()));
    assert_eq!(v.alg, "EdDSA");
    assert_eq!(Value::Object(v.claims), f.claims());

    let es = forge(
        &json!({"alg": "ES256", "kid": f.es256.0.id}),
        &f.claims(),
        &f.es256.1,
    );
    assert_eq!(
        f.verifier()
            .verify(&es, VerifyOptions::default())
            .await
            .unwrap()
            .alg,
        "ES256"
    );
}

#[tokio::test]
async fn alg_none_is_refused() {
    let f = Fixture::new().await;
    for alg in ["none", "None", "NONE"] {
        let h = b64::encode(json!({"alg": alg, "kid": f.eddsa.0.id}).to_string());
        let p = b64::encode(f.claims().to_string());
        assert_eq!(
            refusal(&f, &format!("{h}.{p}.")).await,
            Reason::JwtAlgNotAllowed,
            "{alg}"
        );
    }
}

#[tokio::test]
async fn hs256_with_the_public_key_as_secret_is_refused() {
    let f = Fixture::new().await;
    let header = json!({"alg": "HS256", "kid": f.eddsa.0.id});
    for secret in [f.eddsa.0.public_key.as_bytes(), SECRET.as_bytes()] {
        let token = forge_hs256(&header, &f.claims(), secret);
        assert_eq!(refusal(&f, &token).await, Reason::JwtAlgNotAllowed);
    }
    for alg in ["HS384", "HS512", "RS384", "ES384", "PS512", "eddsa"] {
        let token = forge_hs256(
            &json!({"alg": alg, "kid": f.eddsa.0.id}),
            &f.claims(),
            SECRET.as_bytes(),
        );
        assert_eq!(refusal(&f, &token).await, Reason::JwtAlgNotAllowed, "{alg}");
    }
}

#[tokio::test]
async fn shared_secret_mode_accepts_only_hs256_with_the_current_secret() {
    let f = Fixture::with_settings(JwtSettings {
        allow_hs256_shared_secret: true,
        ..crate::test_util::settings()
    })
    .await;
    let header = json!({"alg": "HS256"});
    let forged = forge_hs256(
        &json!({"alg": "HS256", "kid": f.eddsa.0.id}),
        &f.claims(),
        f.eddsa.0.public_key.as_bytes(),
    );
    assert_eq!(refusal(&f, &forged).await, Reason::JwtBadSignature);
    let hs384 = forge_hs256(&json!({"alg": "HS384"}), &f.claims(), SECRET.as_bytes());
    assert_eq!(refusal(&f, &hs384).await, Reason::JwtAlgNotAllowed);

    let good = forge_hs256(&header, &f.claims(), SECRET.as_bytes());
    let v = f
        .verifier()
        .verify(&good, VerifyOptions::default())
        .await
        .unwrap();
    assert_eq!((v.kid, v.alg), (None, "HS256"));
}

#[tokio::test]
async fn the_header_cannot_change_the_keys_algorithm() {
    let f = Fixture::new().await;
    // ES256 header and ES256 signature, but the kid is the Ed25519 key's.
    let token = forge(
        &json!({"alg": "ES256", "kid": f.eddsa.0.id}),
        &f.claims(),
        &f.es256.1,
    );
    assert_eq!(refusal(&f, &token).await, Reason::JwtAlgNotAllowed);
    let token = forge(
        &json!({"alg": "EdDSA", "kid": f.es256.0.id}),
        &f.claims(),
        &f.eddsa.1,
    );
    assert_eq!(refusal(&f, &token).await, Reason::JwtAlgNotAllowed);
    let token = forge(
        &json!({"alg": "RS256", "kid": f.eddsa.0.id}),
        &f.claims(),
        &f.eddsa.1,
    );
    assert_eq!(refusal(&f, &token).await, Reason::JwtAlgNotAllowed);
}

#[tokio::test]
async fn unknown_missing_and_injected_kids_are_refused() {
    let f = Fixture::new().await;
    let long = "k".repeat(500);
    for kid in [
        "nope",
        "' OR 1=1 --",
        "x\"; DROP TABLE jwks; --",
        "../../../etc/passwd",
        "%2e%2e%2f",
        "a\u{0}b",
        "",
        long.as_str(),
    ] {
        let token = forge(
            &json!({"alg": "EdDSA", "kid": kid}),
            &f.claims(),
            &f.eddsa.1,
        );
        assert_eq!(refusal(&f, &token).await, Reason::JwtUnknownKey, "{kid:?}");
    }
    let token = forge(&json!({"alg": "EdDSA"}), &f.claims(), &f.eddsa.1);
    assert_eq!(refusal(&f, &token).await, Reason::JwtUnknownKey);
    let token = forge(&json!({"alg": "EdDSA", "kid": 7}), &f.claims(), &f.eddsa.1);
    assert_eq!(refusal(&f, &token).await, Reason::JwtMalformed);
}

#[tokio::test]
async fn key_bearing_and_critical_headers_are_refused() {
    let f = Fixture::new().await;
    let jwk = serde_json::from_str::<Value>(&f.eddsa.0.public_key).unwrap();
    for (name, v) in [
        ("crit", json!(["exp"])),
        ("jku", json!("https://evil.example/jwks")),
        ("x5u", json!("https://evil.example/cert")),
        ("jwk", jwk),
        ("x5c", json!(["MIIB"])),
    ] {
        let mut h = f.eddsa_header();
        h[name] = v;
        let token = forge(&h, &f.claims(), &f.eddsa.1);
        assert_eq!(
            refusal(&f, &token).await,
            Reason::JwtForbiddenHeader,
            "{name}"
        );
    }
}

#[tokio::test]
async fn expiry_is_exclusive_of_now() {
    let f = Fixture::new().await;
    let at = |exp: i64| {
        forge(
            &f.eddsa_header(),
            &with_claim(&f, "exp", json!(exp)),
            &f.eddsa.1,
        )
    };
    assert_eq!(refusal(&f, &at(NOW)).await, Reason::JwtExpired);
    assert_eq!(refusal(&f, &at(NOW - 1)).await, Reason::JwtExpired);
    assert!(f
        .verifier()
        .verify(&at(NOW + 1), VerifyOptions::default())
        .await
        .is_ok());
    let nbf = forge(
        &f.eddsa_header(),
        &with_claim(&f, "nbf", json!(NOW + 1)),
        &f.eddsa.1,
    );
    assert_eq!(refusal(&f, &nbf).await, Reason::JwtNotYetValid);
    // The clock moving past exp turns a good token bad.
    let good = at(NOW + 1);
    f.clock.advance(chrono::TimeDelta::seconds(1));
    assert_eq!(refusal(&f, &good).await, Reason::JwtExpired);
}

#[tokio::test]
async fn issuer_audience_and_subject_are_enforced() {
    let f = Fixture::new().await;
    let t = |claims: Value| forge(&f.eddsa_header(), &claims, &f.eddsa.1);
    assert_eq!(
        refusal(&f, &t(with_claim(&f, "iss", json!("http://evil")))).await,
        Reason::JwtBadIssuer
    );
    assert_eq!(
        refusal(&f, &t(with_claim(&f, "iss", json!(format!("{ORIGIN}/"))))).await,
        Reason::JwtBadIssuer
    );
    assert_eq!(
        refusal(&f, &t(without_claim(&f, "iss"))).await,
        Reason::JwtBadIssuer
    );
    assert_eq!(
        refusal(&f, &t(with_claim(&f, "aud", json!("http://evil")))).await,
        Reason::JwtBadAudience
    );
    assert_eq!(
        refusal(&f, &t(without_claim(&f, "aud"))).await,
        Reason::JwtBadAudience
    );
    assert_eq!(
        refusal(&f, &t(without_claim(&f, "sub"))).await,
        Reason::JwtMissingSubject
    );
    assert_eq!(
        refusal(&f, &t(with_claim(&f, "sub", json!("")))).await,
        Reason::JwtMissingSubject
    );
    assert_eq!(
        refusal(&f, &t(with_claim(&f, "sub", json!(null)))).await,
        Reason::JwtMissingSubject
    );

    let array_aud = t(with_claim(&f, "aud", json!(["http://other", ORIGIN])));
    assert!(f
        .verifier()
        .verify(&array_aud, VerifyOptions::default())
        .await
        .is_ok());
    let narrowed = VerifyOptions {
        audience: Some(ORIGIN),
    };
    assert!(f.verifier().verify(&array_aud, narrowed).await.is_ok());
    let not_configured = VerifyOptions {
        audience: Some("http://other"),
    };
    let err = f
        .verifier()
        .verify(&array_aud, not_configured)
        .await
        .unwrap_err();
    assert!(matches!(err, TokenError::AudienceNotAllowed(_)), "{err:?}");
}

#[tokio::test]
async fn narrowing_to_one_of_several_audiences() {
    let mut s = crate::test_util::settings();
    s.audience = super::Audience::Many(vec!["api-a".into(), "api-b".into()]);
    let f = Fixture::with_settings(s).await;
    let token = forge(
        &f.eddsa_header(),
        &with_claim(&f, "aud", json!("api-a")),
        &f.eddsa.1,
    );
    assert!(f
        .verifier()
        .verify(&token, VerifyOptions::default())
        .await
        .is_ok());
    assert!(f
        .verifier()
        .verify(
            &token,
            VerifyOptions {
                audience: Some("api-a")
            }
        )
        .await
        .is_ok());
    assert_eq!(
        refusal_with(
            &f,
            &token,
            VerifyOptions {
                audience: Some("api-b")
            }
        )
        .await,
        Reason::JwtBadAudience
    );
}

#[tokio::test]
async fn truncated_and_malformed_tokens_are_refused() {
    let f = Fixture::new().await;
    let token = forge(&f.eddsa_header(), &f.claims(), &f.eddsa.1);
    let (input, sig) = token.rsplit_once('.').unwrap();
    assert_eq!(sig.len(), 86);
    assert_eq!(
        refusal(&f, input).await,
        Reason::JwtMalformed,
        "two segments"
    );
    assert_eq!(
        refusal(&f, &token[..token.len() - 1]).await,
        Reason::JwtMalformed,
        "85 chars is no base64url length"
    );
    assert_eq!(
        refusal(&f, &token[..token.len() - 2]).await,
        Reason::JwtBadSignature,
        "63-byte signature"
    );
    assert_eq!(
        refusal(&f, &format!("{input}.")).await,
        Reason::JwtBadSignature,
        "empty signature"
    );
    assert_eq!(
        refusal(&f, &format!("{token}.")).await,
        Reason::JwtMalformed,
        "four segments"
    );
    assert_eq!(
        refusal(&f, &format!("{token}=")).await,
        Reason::JwtMalformed,
        "padding"
    );
    assert_eq!(
        refusal(&f, &format!(" {token}")).await,
        Reason::JwtMalformed,
        "whitespace"
    );
    assert_eq!(refusal(&f, "").await, Reason::JwtMalformed);
    assert_eq!(refusal(&f, "..").await, Reason::JwtMalformed);

    // Every prefix of a real token is refused without a panic.
    for end in 0..token.len() {
        let r = refusal(&f, &token[..end]).await;
        assert!(
            matches!(r, Reason::JwtMalformed | Reason::JwtBadSignature),
            "{end}: {r:?}"
        );
    }
}

#[tokio::test]
async fn non_canonical_segments_are_malformed() {
    let f = Fixture::new().await;
    let token = forge(&f.eddsa_header(), &f.claims(), &f.eddsa.1);
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    // The Ed25519 signature is 64 bytes = 86 chars whose last char carries 4 unused bits:
    // setting one gives another spelling of the same bytes, which must not be accepted.
    let last = parts[2].pop().unwrap();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let idx = alphabet.find(last).unwrap();
    assert_eq!(idx & 0xf, 0);
    parts[2].push(alphabet.as_bytes()[idx | 1] as char);
    assert_eq!(refusal(&f, &parts.join(".")).await, Reason::JwtMalformed);
    let std_alphabet = token.replace('-', "+").replace('_', "/");
    if std_alphabet != token {
        assert_eq!(refusal(&f, &std_alphabet).await, Reason::JwtMalformed);
    }
    for (h, p) in [("e30", "e30"), ("bm90IGpzb24", "e30"), ("W10", "e30")] {
        assert_eq!(
            refusal(&f, &format!("{h}.{p}.")).await,
            Reason::JwtMalformed,
            "{h}"
        );
    }
}

#[tokio::test]
async fn oversized_tokens_are_refused_before_parsing() {
    let f = Fixture::new().await;
    assert_eq!(
        refusal(&f, &"a".repeat(8 * 1024 + 1)).await,
        Reason::TooLarge
    );
    let big = with_claim(&f, "pad", json!("x".repeat(8 * 1024)));
    let token = forge(&f.eddsa_header(), &big, &f.eddsa.1);
    assert_eq!(refusal(&f, &token).await, Reason::TooLarge);
}

#[tokio::test]
async fn tampering_breaks_the_signature() {
    let f = Fixture::new().await;
    let token = forge(&f.eddsa_header(), &f.claims(), &f.eddsa.1);
    let parts: Vec<&str> = token.split('.').collect();
    let evil_payload = b64::encode(with_claim(&f, "sub", json!("admin")).to_string());
    assert_eq!(
        refusal(&f, &format!("{}.{evil_payload}.{}", parts[0], parts[2])).await,
        Reason::JwtBadSignature
    );
    let evil_exp = b64::encode(with_claim(&f, "exp", json!(NOW + 99_999)).to_string());
    assert_eq!(
        refusal(&f, &format!("{}.{evil_exp}.{}", parts[0], parts[2])).await,
        Reason::JwtBadSignature
    );
    let mut h = f.eddsa_header();
    h["typ"] = json!("JWT");
    let evil_header = b64::encode(h.to_string());
    assert_eq!(
        refusal(&f, &format!("{evil_header}.{}.{}", parts[1], parts[2])).await,
        Reason::JwtBadSignature
    );
    // A payload that is not an object, correctly signed, is malformed (checked after the signature).
    let arr = forge(&f.eddsa_header(), &json!([1, 2]), &f.eddsa.1);
    assert_eq!(refusal(&f, &arr).await, Reason::JwtMalformed);
}

#[tokio::test]
async fn junk_never_panics() {
    let f = Fixture::new().await;
    let junk = [
        "a.b.c",
        "....",
        "\u{0}.\u{0}.\u{0}",
        "é.é.é",
        "eyJ.eyJ.eyJ",
        "e30.e30.e30",
        "bnVsbA.bnVsbA.",
        "MQ.MQ.",
    ];
    for j in junk {
        assert!(
            matches!(
                f.verifier().verify(j, VerifyOptions::default()).await,
                Err(TokenError::Refused(_))
            ),
            "{j}"
        );
    }
}
