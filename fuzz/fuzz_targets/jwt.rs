//! libFuzzer target over the JWT verifier (`token::Verifier::verify`): size cap, strict
//! base64url segments, header checks, key lookup, signature, claims.
//!
//! The first input byte chooses a mode:
//! * `0..=127`: the rest is the token as it arrives. Nothing can verify (the keys are made at
//!   start-up and never leave this process), so any success is a crash.
//! * `128..=191`: the rest is `header 0xFF payload` (or only a payload, then the header is the
//!   genuine `{"alg","kid"}`), and this target signs it: EdDSA, ES256 or HS256 with the
//!   shared secret (by the second byte). In a header, `KID` is replaced by the key's id. This
//!   reaches the header and claims checks behind a valid signature; a success must satisfy
//!   every claim rule.
//! * `192..=255`: a genuine token, changed at the positions the rest gives (pairs of
//!   position, xor byte). A changed token that verifies is a crash.
//!
//! See docs/FUZZING.md.
#![no_main]

use std::sync::OnceLock;

use better_auth_grpc::domain::reason::Reason;
use better_auth_grpc::test_util::{
    forge_bytes, forge_hs256_bytes, BlockingFixture, NOW, ORIGIN, SECRET,
};
use better_auth_grpc::token::{TokenError, VerifiedJwt};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

/// The shared fixture's EdDSA and ES256 keys (made at start-up, never leaving this process)
/// with its verifiers, and a genuine token of each key.
struct Fixture {
    jwt: BlockingFixture,
    genuine: Vec<String>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let jwt = BlockingFixture::new(&[]);
        let genuine = (0..2).map(|k| jwt.token(k, "u1")).collect();
        Fixture { jwt, genuine }
    })
}

impl Fixture {
    fn verify(&self, hs256: bool, token: &str) -> Result<VerifiedJwt, TokenError> {
        if hs256 {
            self.jwt.verify_hs256(token)
        } else {
            self.jwt.verify(token)
        }
    }
}

/// Only refusals can come from a token; anything else (internal, store) is a bug here.
fn refusal(r: &Result<VerifiedJwt, TokenError>) -> Option<Reason> {
    match r {
        Ok(_) => None,
        Err(TokenError::Refused(reason)) => Some(*reason),
        Err(e) => panic!("not a refusal: {e}"),
    }
}

/// A verified token satisfies every claim rule.
fn assert_claims_hold(v: &VerifiedJwt) {
    assert!(!v.sub.is_empty());
    assert_eq!(
        v.claims.get("sub").and_then(Value::as_str),
        Some(v.sub.as_str())
    );
    let exp = v.claims.get("exp").and_then(Value::as_f64).expect("exp");
    assert!(exp > NOW as f64, "expired token verified");
    if let Some(nbf) = v.claims.get("nbf") {
        assert!(nbf.as_f64().expect("numeric nbf") <= NOW as f64);
    }
    if let Some(iat) = v.claims.get("iat") {
        assert!(iat.as_f64().is_some());
    }
    assert_eq!(v.claims.get("iss").and_then(Value::as_str), Some(ORIGIN));
    let aud_ok = match v.claims.get("aud") {
        Some(Value::String(a)) => a == ORIGIN,
        Some(Value::Array(list)) => list.iter().any(|a| *a == ORIGIN),
        _ => false,
    };
    assert!(aud_ok, "audience");
}

fn signed(fx: &Fixture, which: u8, rest: &[u8]) {
    let (header, payload): (Vec<u8>, &[u8]) = match rest.iter().position(|&b| b == 0xFF) {
        Some(i) => (rest[..i].to_vec(), &rest[i + 1..]),
        None => (Vec::new(), rest),
    };
    let hs256 = which % 3 == 2;
    let (kid, alg) = if hs256 {
        (String::new(), "HS256")
    } else {
        let (row, key) = fx.jwt.pair(usize::from(which % 3));
        (row.id.clone(), key.alg().as_str())
    };
    let header = if header.is_empty() {
        json!({"alg": alg, "kid": kid}).to_string().into_bytes()
    } else {
        String::from_utf8_lossy(&header)
            .replace("KID", &kid)
            .into_bytes()
    };
    let token = if hs256 {
        forge_hs256_bytes(&header, payload, SECRET.as_bytes())
    } else {
        forge_bytes(&header, payload, &fx.jwt.pair(usize::from(which % 3)).1)
    };
    let r = fx.verify(hs256, &token);
    refusal(&r);
    if let Ok(v) = &r {
        assert_claims_hold(v);
    }
    // Without HS256 enabled, an HS256 token never verifies.
    if hs256 {
        assert!(
            fx.verify(false, &token).is_err(),
            "HS256 accepted while disabled"
        );
    }
}

fn mutated(fx: &Fixture, which: u8, rest: &[u8]) {
    let genuine = &fx.genuine[usize::from(which) % fx.genuine.len()];
    let mut bytes = genuine.as_bytes().to_vec();
    for pair in rest.chunks_exact(2) {
        let i = usize::from(pair[0]) * bytes.len() / 256;
        bytes[i] ^= pair[1];
    }
    let token = String::from_utf8_lossy(&bytes);
    let r = fx.verify(false, &token);
    refusal(&r);
    if *token != **genuine {
        assert!(r.is_err(), "changed token verified: {token}");
    } else {
        assert!(r.is_ok(), "genuine token refused: {r:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let fx = fixture();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode {
        0..=127 => {
            let token = String::from_utf8_lossy(rest);
            for hs256 in [false, true] {
                let r = fx.verify(hs256, &token);
                assert!(r.is_err(), "an unsigned input verified: {token}");
                refusal(&r);
            }
        }
        128..=191 => {
            let Some((&which, rest)) = rest.split_first() else {
                return;
            };
            signed(fx, which, rest);
        }
        _ => {
            let Some((&which, rest)) = rest.split_first() else {
                return;
            };
            mutated(fx, which, rest);
        }
    }
});
