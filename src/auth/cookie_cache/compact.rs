//! The `compact` strategy (Better Auth's default): base64url (no padding) of the UTF-8 JSON
//! `{"session": <payload>, "expiresAt": <ms>, "signature": <sig>}`, where `sig` is base64url
//! (no padding) of HMAC-SHA256(secret, `JSON.stringify({...payload, expiresAt})`). Better Auth
//! checks the signature over its own re-serialisation of the parsed payload (dates revived), so
//! that is what is rebuilt here, with the same reviver and `JSON.stringify` rules.
use aws_lc_rs::hmac;
use base64::alphabet::{Alphabet, STANDARD, URL_SAFE};
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use serde_json::{Map, Value};

use super::{dates, decoded::Decoded};
use crate::token::js_stringify;

pub(super) fn decode(value: &str, secret: &[u8]) -> Option<Decoded> {
    let bytes = js_base64_decode(value)?;
    // `TextDecoder` replaces bad UTF-8; such bytes never verify anyway.
    let text = String::from_utf8_lossy(&bytes);
    let outer: Map<String, Value> = serde_json::from_str(&text).ok()?;
    let session = match dates::normalize(outer.get("session")?) {
        Value::Object(m) => m,
        _ => return None,
    };
    let expires_at = outer.get("expiresAt")?;
    let expires_at_ms = expires_at.as_f64()?;
    let signature = js_base64_decode(outer.get("signature")?.as_str()?)?;
    let mut signed = session.clone();
    // `{...session, expiresAt}`: a key already there keeps its place and takes the new value,
    // as in a JS object literal and in serde_json's ordered insert.
    signed.insert("expiresAt".into(), expires_at.clone());
    let input = js_stringify(&Value::Object(signed)).ok()?;
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    hmac::verify(&key, input.as_bytes(), &signature).ok()?;
    Some(Decoded {
        payload: session,
        expires_at_ms,
    })
}

/// `@better-auth/utils` base64 decoding: the URL-safe alphabet when the text has `-` or `_`,
/// else the standard one; reading stops at the first `=`; leftover bits are dropped.
fn js_base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.split('=').next().unwrap_or_default();
    let url = s.contains('-') || s.contains('_');
    lenient(if url { &URL_SAFE } else { &STANDARD })
        .decode(s)
        .ok()
}

fn lenient(alphabet: &Alphabet) -> GeneralPurpose {
    GeneralPurpose::new(
        alphabet,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::RequireNone),
    )
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    /// What Better Auth's `setCookieCache` writes for `payload` (a test-side encoder).
    pub fn encode(payload: &Value, expires_at_ms: i64, secret: &[u8]) -> String {
        let mut signed = payload.as_object().unwrap().clone();
        signed.insert("expiresAt".into(), expires_at_ms.into());
        let input = js_stringify(&Value::Object(signed)).unwrap();
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), input.as_bytes());
        let outer = serde_json::json!({
            "session": payload,
            "expiresAt": expires_at_ms,
            "signature": URL_SAFE_NO_PAD.encode(tag.as_ref()),
        });
        URL_SAFE_NO_PAD.encode(js_stringify(&outer).unwrap())
    }

    // Better Auth's own compact values are read in ../tests.rs (better_auth_vectors.json).
    const SECRET: &[u8] = b"better-auth-grpc-test-secret-0123456789abcdef";

    #[test]
    fn round_trips_and_refuses_other_secrets_and_edits() {
        let payload = serde_json::json!({"session": {"token": "t", "expiresAt": "2030-01-01T00:00:00.000Z"},
            "user": {"id": "u", "name": "Zoë"}, "updatedAt": 1, "version": "1"});
        let v = encode(&payload, 1_900_000_000_000, SECRET);
        let d = decode(&v, SECRET).unwrap();
        assert_eq!(Value::Object(d.payload), payload);
        assert_eq!(d.expires_at_ms, 1_900_000_000_000.0);
        assert!(decode(&v, b"another-secret-another-secret-another").is_none());
        let other = encode(&payload, 1_900_000_000_001, SECRET);
        assert_ne!(v, other);
        // A signature moved onto another expiry fails.
        let mut outer: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&v).unwrap()).unwrap();
        outer["expiresAt"] = 1_900_000_000_001_i64.into();
        let moved = URL_SAFE_NO_PAD.encode(outer.to_string());
        assert!(decode(&moved, SECRET).is_none());
        assert!(decode("!!!", SECRET).is_none());
        assert!(decode("", SECRET).is_none());
    }

    #[test]
    fn dates_are_signed_as_better_auth_rewrites_them() {
        // Better Auth revives "…:00Z" to a Date and signs "…:00.000Z": a value whose JSON holds the
        // short form verifies against the long form's signature.
        let long = serde_json::json!({"session": {"expiresAt": "2030-01-01T00:00:00.000Z"}, "updatedAt": 1});
        let v = encode(&long, 5, SECRET);
        let mut outer: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&v).unwrap()).unwrap();
        outer["session"]["session"]["expiresAt"] = "2030-01-01T00:00:00Z".into();
        let short = URL_SAFE_NO_PAD.encode(js_stringify(&outer).unwrap());
        assert!(decode(&short, SECRET).is_some());
    }

    #[test]
    fn base64_is_read_like_better_auth_reads_it() {
        assert_eq!(js_base64_decode("QQ"), Some(b"A".to_vec()));
        assert_eq!(js_base64_decode("QQ=="), Some(b"A".to_vec()));
        assert_eq!(js_base64_decode("QR"), Some(b"A".to_vec()));
        assert_eq!(js_base64_decode("-w"), Some(vec![0xfb]));
        assert_eq!(js_base64_decode("+w"), Some(vec![0xfb]));
        assert_eq!(js_base64_decode("Q!"), None);
    }
}
