//! Signed session values `<token>.<base64 HMAC-SHA256>` (docs/better-auth-compat.md §2.3–2.4), via aws-lc-rs.
use aws_lc_rs::hmac;
use base64::{engine::general_purpose::STANDARD, Engine};

use crate::domain::reason::Reason;

/// `token + "." + base64_std_padded(HMAC-SHA256(secret, token))`, not URL-encoded.
pub fn sign(token: &str, secret: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let tag = hmac::sign(&key, token.as_bytes());
    format!("{token}.{}", STANDARD.encode(tag.as_ref()))
}

/// The cookie value Better Auth sets: `encodeURIComponent(sign(token))`.
pub fn sign_cookie_value(token: &str, secret: &[u8]) -> String {
    encode_uri_component(&sign(token, secret))
}

/// Verifies a decoded signed value and returns its token. Mirrors better-call's
/// `getSignedCookie`: split at the last `.`, the signature must be 44 characters of standard,
/// padded base64 (so base64url and unpadded forms are refused, as Better Auth refuses them).
pub fn verify<'a>(value: &'a str, secret: &[u8]) -> Result<&'a str, Reason> {
    let i = value
        .rfind('.')
        .filter(|&i| i >= 1)
        .ok_or(Reason::Malformed)?;
    let (token, sig) = (&value[..i], &value[i + 1..]);
    if sig.len() != 44 || !sig.ends_with('=') {
        return Err(Reason::Malformed);
    }
    let mac = STANDARD.decode(sig).map_err(|_| Reason::Malformed)?;
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    // Constant-time comparison inside aws-lc-rs.
    hmac::verify(&key, token.as_bytes(), &mac).map_err(|_| Reason::BadSignature)?;
    Ok(token)
}

/// JavaScript's `encodeURIComponent` (keeps `A-Z a-z 0-9 - _ . ! ~ * ' ( )`).
pub fn encode_uri_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3 / 2);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"sample-secret-0123456789abcdefghijklmnopqrstu";

    #[test]
    fn reproduces_better_auth_sample_cookie() {
        assert_eq!(
            sign_cookie_value("lKKAzrmPPJEC7lwsxNcePX2ENtoHirVl", SECRET),
            "lKKAzrmPPJEC7lwsxNcePX2ENtoHirVl.wUV%2FN7WZ4VL8k7mIOLEin1CnmkTUBP6B9PYlOQq%2Bnwg%3D"
        );
    }

    #[test]
    fn verify_round_trip_and_refusals() {
        let signed = sign("tok", SECRET);
        assert_eq!(verify(&signed, SECRET), Ok("tok"));
        assert_eq!(
            verify(&signed, b"another-secret-another-secret-xx"),
            Err(Reason::BadSignature)
        );
        let unpadded = signed.trim_end_matches('=');
        assert_eq!(verify(unpadded, SECRET), Err(Reason::Malformed));
        let url = signed.replace('+', "-").replace('/', "_");
        if url != signed {
            assert_eq!(verify(&url, SECRET), Err(Reason::Malformed));
        }
        assert_eq!(verify(".abc", SECRET), Err(Reason::Malformed));
        assert_eq!(verify("notsigned", SECRET), Err(Reason::Malformed));
    }

    #[test]
    fn tampered_token_fails() {
        let signed = sign("tok", SECRET);
        let tampered = signed.replacen("tok", "tol", 1);
        assert_eq!(verify(&tampered, SECRET), Err(Reason::BadSignature));
    }
}
