//! Private keys at rest, byte-compatible with Better Auth's `symmetricEncrypt` (docs/better-auth-compat.md §4.4):
//! `JSON.stringify([ "$ba$<v>$" ] + hex(nonce24 ‖ XChaCha20-Poly1305(SHA-256(secret), nonce, jwk)))`.
//! The secret is hashed, not stretched, because that is what Better Auth does.
use aws_lc_rs::digest::{digest, SHA256};
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use secrecy::SecretString;

use super::error::TokenError;
use crate::domain::secret::Secrets;

const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const ENVELOPE: &str = "$ba$";

/// The private JWK JSON of a `jwks.privateKey` column. `kid` only names the row in errors.
/// Accepts the three stored forms: `"<hex>"`, `"$ba$<v>$<hex>"` and a plaintext JWK
/// (`jwks.disablePrivateKeyEncryption`).
pub fn decrypt_private_key(
    kid: &str,
    stored: &str,
    secrets: &Secrets,
) -> Result<SecretString, TokenError> {
    let stored = stored.trim();
    if stored.starts_with('{') {
        return Ok(SecretString::from(stored.to_owned()));
    }
    let inner: String = serde_json::from_str(stored)
        .map_err(|_| TokenError::bad_key(kid, "privateKey is neither a JSON string nor a JWK"))?;
    let (secret, hex_text) = match split_envelope(&inner) {
        Some((version, hex_text)) => (
            secrets.by_version(version).ok_or_else(|| {
                TokenError::decrypt(
                    kid,
                    format!("encrypted with secret version {version:?}, absent from BETTER_AUTH_SECRETS"),
                )
            })?,
            hex_text,
        ),
        None => (secrets.unversioned(), inner.as_str()),
    };
    let plain = open(kid, secret, hex_text)?;
    String::from_utf8(plain)
        .map(SecretString::from)
        .map_err(|_| TokenError::bad_key(kid, "decrypted privateKey is not UTF-8"))
}

/// The `jwks.privateKey` column Better Auth would store for this private JWK JSON.
pub fn encrypt_private_key(jwk_json: &str, secrets: &Secrets) -> Result<String, TokenError> {
    let mut nonce = [0u8; NONCE_LEN];
    aws_lc_rs::rand::fill(&mut nonce).map_err(|_| TokenError::Internal("RNG failure".into()))?;
    let sealed = cipher(secrets.current())
        .encrypt(XNonce::from_slice(&nonce), jwk_json.as_bytes())
        .map_err(|_| TokenError::Internal("XChaCha20-Poly1305 encryption failed".into()))?;
    let mut hex_text = hex::encode(nonce);
    hex_text.push_str(&hex::encode(sealed));
    let text = match secrets.current_version() {
        Some(v) => format!("{ENVELOPE}{v}${hex_text}"),
        None => hex_text,
    };
    serde_json::to_string(&text).map_err(|e| TokenError::Internal(e.to_string()))
}

/// `$ba$<version>$<hex>` → (version, hex). The version is non-empty and has no `$`.
fn split_envelope(s: &str) -> Option<(&str, &str)> {
    let rest = s.strip_prefix(ENVELOPE)?;
    let (version, hex_text) = rest.split_once('$')?;
    (!version.is_empty()).then_some((version, hex_text))
}

fn open(kid: &str, secret: &[u8], hex_text: &str) -> Result<Vec<u8>, TokenError> {
    let raw =
        hex::decode(hex_text).map_err(|_| TokenError::bad_key(kid, "privateKey is not hex"))?;
    if raw.len() < NONCE_LEN + TAG_LEN {
        return Err(TokenError::bad_key(
            kid,
            "privateKey ciphertext is too short",
        ));
    }
    let (nonce, sealed) = raw.split_at(NONCE_LEN);
    cipher(secret)
        .decrypt(XNonce::from_slice(nonce), sealed)
        .map_err(|_| TokenError::decrypt(kid, "authentication failed: wrong secret"))
}

fn cipher(secret: &[u8]) -> XChaCha20Poly1305 {
    let key = digest(&SHA256, secret);
    XChaCha20Poly1305::new(Key::from_slice(key.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const JWK: &str = r#"{"crv":"Ed25519","d":"x","x":"y","kty":"OKP"}"#;

    #[test]
    fn plain_secret_round_trip_and_form() {
        let s = Secrets::from_secret(A).unwrap();
        let stored = encrypt_private_key(JWK, &s).unwrap();
        assert!(stored.starts_with('"') && stored.ends_with('"'));
        let hex_len = 2 * (NONCE_LEN + JWK.len() + TAG_LEN);
        assert_eq!(stored.len(), hex_len + 2);
        assert!(stored[1..stored.len() - 1]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(
            decrypt_private_key("k", &stored, &s)
                .unwrap()
                .expose_secret(),
            JWK
        );
    }

    #[test]
    fn nonces_are_fresh() {
        let s = Secrets::from_secret(A).unwrap();
        assert_ne!(
            encrypt_private_key(JWK, &s).unwrap(),
            encrypt_private_key(JWK, &s).unwrap()
        );
    }

    #[test]
    fn versioned_secrets_use_envelopes() {
        let v = Secrets::resolve(Some(&format!("2:{B},1:{A}")), Some(A), None).unwrap();
        let stored = encrypt_private_key(JWK, &v).unwrap();
        assert!(stored.starts_with("\"$ba$2$"), "{stored}");
        assert_eq!(
            decrypt_private_key("k", &stored, &v)
                .unwrap()
                .expose_secret(),
            JWK
        );

        // A row written before rotation (`1:A` current) still opens after `2:B,1:A`.
        let old = Secrets::resolve(Some(&format!("1:{A}")), None, None).unwrap();
        let stored_v1 = encrypt_private_key(JWK, &old).unwrap();
        assert!(stored_v1.starts_with("\"$ba$1$"));
        assert_eq!(
            decrypt_private_key("k", &stored_v1, &v)
                .unwrap()
                .expose_secret(),
            JWK
        );

        // Unversioned rows use the legacy BETTER_AUTH_SECRET.
        let legacy = encrypt_private_key(JWK, &Secrets::from_secret(A).unwrap()).unwrap();
        assert_eq!(
            decrypt_private_key("k", &legacy, &v)
                .unwrap()
                .expose_secret(),
            JWK
        );
    }

    #[test]
    fn unknown_version_names_key_and_version() {
        let v = Secrets::resolve(Some(&format!("3:{B}")), None, None).unwrap();
        let stored = encrypt_private_key(
            JWK,
            &Secrets::resolve(Some(&format!("2:{A}")), None, None).unwrap(),
        )
        .unwrap();
        let err = decrypt_private_key("kid123", &stored, &v).unwrap_err();
        assert!(matches!(err, TokenError::KeyDecrypt { ref kid, .. } if kid == "kid123"));
        assert!(err.to_string().contains("\"2\""), "{err}");
    }

    #[test]
    fn wrong_secret_names_the_key() {
        let stored = encrypt_private_key(JWK, &Secrets::from_secret(A).unwrap()).unwrap();
        let err =
            decrypt_private_key("kid123", &stored, &Secrets::from_secret(B).unwrap()).unwrap_err();
        assert!(matches!(err, TokenError::KeyDecrypt { ref kid, .. } if kid == "kid123"));
        assert!(err.to_string().contains("kid123"));
    }

    #[test]
    fn plaintext_jwk_is_passed_through() {
        let s = Secrets::from_secret(A).unwrap();
        assert_eq!(
            decrypt_private_key("k", JWK, &s).unwrap().expose_secret(),
            JWK
        );
    }

    #[test]
    fn garbage_is_a_bad_key_not_a_panic() {
        let s = Secrets::from_secret(A).unwrap();
        for stored in ["", "\"", "\"zz\"", "\"00\"", "[1]", "\"$ba$$00\"", "12"] {
            let err = decrypt_private_key("k", stored, &s).unwrap_err();
            assert!(
                matches!(
                    err,
                    TokenError::BadKey { .. } | TokenError::KeyDecrypt { .. }
                ),
                "{stored}: {err}"
            );
        }
    }
}
