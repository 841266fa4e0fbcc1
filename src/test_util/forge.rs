//! Tokens made by hand: any header and payload, however wrong, signed for real.
use aws_lc_rs::hmac;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;

use crate::token::SigningKey;

/// Unpadded base64url, the canonical JWS form.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `b64(header).b64(payload).sign(key)` for any header and payload, however wrong.
pub fn forge(header: &Value, payload: &Value, key: &SigningKey) -> String {
    forge_bytes(header.to_string(), payload.to_string(), key)
}

/// `forge` over raw bytes, which need not even be JSON.
pub fn forge_bytes(
    header: impl AsRef<[u8]>,
    payload: impl AsRef<[u8]>,
    key: &SigningKey,
) -> String {
    let input = signing_input(header.as_ref(), payload.as_ref());
    let sig = key.sign(input.as_bytes()).expect("signing");
    format!("{input}.{sig}")
}

/// HS256 over `header.payload` with an arbitrary HMAC key.
pub fn forge_hs256(header: &Value, payload: &Value, hmac_key: &[u8]) -> String {
    forge_hs256_bytes(header.to_string(), payload.to_string(), hmac_key)
}

/// `forge_hs256` over raw bytes.
pub fn forge_hs256_bytes(
    header: impl AsRef<[u8]>,
    payload: impl AsRef<[u8]>,
    hmac_key: &[u8],
) -> String {
    let input = signing_input(header.as_ref(), payload.as_ref());
    let tag = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, hmac_key),
        input.as_bytes(),
    );
    format!("{input}.{}", b64(tag.as_ref()))
}

fn signing_input(header: &[u8], payload: &[u8]) -> String {
    format!("{}.{}", b64(header), b64(payload))
}
