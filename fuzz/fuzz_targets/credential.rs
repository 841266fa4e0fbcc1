//! libFuzzer target over the session-credential parsers: `credential::parse` (raw tokens,
//! `token.sig`, URL-encoded values, `Bearer …`, Cookie headers), `cookie::find_cookie`,
//! `cookie::decode_uri_component`, `signature::verify`.
//!
//! Panics are crashes, and so is any broken invariant (the same ones tests/prop_parsers
//! checks, with the same rules and secret: `test_util::credential`). fuzz/dict/credential.dict
//! holds values signed with that SECRET, so that the fuzzer reaches the paths behind a valid
//! signature. See docs/FUZZING.md.
#![no_main]

use better_auth_grpc::auth::cookie::{decode_uri_component, find_cookie};
use better_auth_grpc::auth::credential::{parse, Credential, CredentialKind};
use better_auth_grpc::auth::signature::{encode_uri_component, verify};
use better_auth_grpc::domain::reason::Reason;
use better_auth_grpc::test_util::credential::{
    expected_strict, is_token_byte, rules, MAX_TOKEN_BYTES, SECRET, SESSION_COOKIE, SIGNED_TOKENS,
};
use libfuzzer_sys::fuzz_target;

fn check(input: &str) {
    let lax = parse(input, &rules(false), SECRET);
    assert_eq!(
        lax,
        parse(input, &rules(false), SECRET),
        "not deterministic"
    );

    // require_signature changes only the raw-token outcome.
    let strict = parse(input, &rules(true), SECRET);
    assert_eq!(strict, expected_strict(&lax), "require_signature");

    let padded = format!(" \t{input}\r\n");
    if padded.len() <= MAX_TOKEN_BYTES {
        assert_eq!(parse(&padded, &rules(false), SECRET), lax, "padding");
    }

    match &lax {
        Ok(Credential::Session {
            token,
            kind,
            dont_remember,
        }) => {
            assert!(!token.is_empty(), "empty token");
            assert!(!token.chars().any(char::is_control), "control character");
            assert!(token.bytes().all(is_token_byte), "token bytes");
            assert!(!dont_remember || *kind == CredentialKind::SessionCookie);
            if *kind != CredentialKind::SessionToken {
                assert!(SIGNED_TOKENS.contains(&token.as_str()), "forged signature");
            }
        }
        Ok(Credential::Jwt(jwt)) => {
            assert!(jwt.starts_with("eyJ"));
            assert_eq!(jwt.bytes().filter(|&b| b == b'.').count(), 2);
            assert!(input.trim().ends_with(jwt.as_str()));
        }
        Err(r) => {
            assert!(
                matches!(
                    r.reason,
                    Reason::Empty
                        | Reason::TooLarge
                        | Reason::Malformed
                        | Reason::NoSessionCookie
                        | Reason::BadSignature
                ),
                "reason {:?}",
                r.reason
            );
            assert_eq!(r.reason == Reason::TooLarge, input.len() > MAX_TOKEN_BYTES);
        }
    }

    // The helpers on their own.
    assert_eq!(
        decode_uri_component(&encode_uri_component(input)).as_deref(),
        Some(input),
        "encode/decode round trip"
    );
    if let Some(d) = decode_uri_component(input) {
        assert!(d.len() <= input.len());
    }
    let _ = find_cookie(input, SESSION_COOKIE);
    if let Ok(token) = verify(input, SECRET) {
        assert!(SIGNED_TOKENS.contains(&token), "forged signature");
    }
}

fuzz_target!(|data: &[u8]| {
    // Exact text when it is UTF-8 (the gRPC string field always is), else the lossy decoding.
    match std::str::from_utf8(data) {
        Ok(s) => check(s),
        Err(_) => check(&String::from_utf8_lossy(data)),
    }
});
