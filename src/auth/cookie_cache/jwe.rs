//! The `jwe` strategy: Better Auth's `symmetricEncodeJWT`, a compact JWE with `alg: dir`,
//! `enc: A256CBC-HS512` (RFC 7518 §5.2.5), the 64-byte key HKDF-SHA256(secret, salt
//! `better-auth-session`, info `BetterAuth.js Generated Encryption Key`) and `kid` the RFC 7638
//! thumbprint of that key. `symmetricDecodeJWT` picks the secret whose key has the header's `kid`
//! among every secret (`BETTER_AUTH_SECRETS` entries, then the legacy secret), or tries them all
//! in order when there is no `kid`; jose then checks the claims with 15 s of clock tolerance.
use aws_lc_rs::cipher::{DecryptionContext, PaddedBlockDecryptingKey, UnboundCipherKey, AES_256};
use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::iv::FixedLength;
use aws_lc_rs::{digest, hkdf, hmac};
use serde_json::{Map, Value};

use super::{decoded::Decoded, jwt::claims_expiry};
use crate::token::b64_decode;

const SALT: &[u8] = b"better-auth-session";
const INFO: &[u8] = b"BetterAuth.js Generated Encryption Key";
/// jwtDecrypt's `clockTolerance` in `symmetricDecodeJWT`.
const TOLERANCE_SECS: i64 = 15;

struct Parts<'t> {
    /// The ASCII of the protected header segment: A256CBC-HS512's additional authenticated data.
    aad: &'t [u8],
    kid: Option<Value>,
    iv: [u8; 16],
    ciphertext: Vec<u8>,
    tag: Vec<u8>,
}

pub(super) fn decode(
    token: &str,
    secrets: &[&[u8]],
    now_secs: i64,
    now_ms: i64,
) -> Option<Decoded> {
    let parts = split(token)?;
    let plaintext = match &parts.kid {
        Some(kid) => {
            let key = secrets
                .iter()
                .map(|s| derive(s))
                .find(|k| Some(thumbprint(k)) == kid.as_str().map(str::to_owned))?;
            decrypt(&key, &parts)?
        }
        None => secrets.iter().find_map(|s| decrypt(&derive(s), &parts))?,
    };
    let claims: Map<String, Value> = serde_json::from_slice(&plaintext).ok()?;
    let expires_at_ms = claims_expiry(&claims, now_secs, TOLERANCE_SECS, now_ms)?;
    Some(Decoded {
        payload: claims,
        expires_at_ms,
    })
}

/// Five segments, header `alg: dir` and `enc: A256CBC-HS512` (jose would also take A256GCM,
/// but not with a 64-byte key), no `zip`/`crit`, an empty encrypted key, a 16-byte IV, a
/// 32-byte tag.
fn split(token: &str) -> Option<Parts<'_>> {
    let mut it = token.split('.');
    let (h, k, iv, c, t) = (it.next()?, it.next()?, it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || !k.is_empty() {
        return None;
    }
    let header: Map<String, Value> = serde_json::from_slice(&b64_decode(h)?).ok()?;
    let str_of = |name: &str| header.get(name).and_then(Value::as_str);
    if str_of("alg") != Some("dir") || str_of("enc") != Some("A256CBC-HS512") {
        return None;
    }
    if header.contains_key("zip") || header.contains_key("crit") {
        return None;
    }
    let tag = b64_decode(t).filter(|t| t.len() == 32)?;
    Some(Parts {
        aad: h.as_bytes(),
        kid: header.get("kid").cloned(),
        iv: b64_decode(iv)?.try_into().ok()?,
        ciphertext: b64_decode(c)?,
        tag,
    })
}

/// HKDF-SHA256 to the 64 bytes A256CBC-HS512 takes (MAC key, then AES key).
fn derive(secret: &[u8]) -> [u8; 64] {
    struct Len64;
    impl hkdf::KeyType for Len64 {
        fn len(&self) -> usize {
            64
        }
    }
    let mut key = [0u8; 64];
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, SALT).extract(secret);
    // Cannot fail: 64 bytes is far below HKDF-SHA256's 255 * 32 limit. A zero key would only
    // fail every tag check.
    if let Ok(okm) = prk.expand(&[INFO], Len64) {
        let _ = okm.fill(&mut key);
    }
    key
}

/// RFC 7638: base64url(SHA-256(`{"k":"<key>","kty":"oct"}`)).
fn thumbprint(key: &[u8; 64]) -> String {
    let jwk = format!(r#"{{"k":"{}","kty":"oct"}}"#, crate::token::b64_encode(key));
    crate::token::b64_encode(digest::digest(&digest::SHA256, jwk.as_bytes()))
}

/// RFC 7518 §5.2.2.2: the tag (first 32 bytes of HMAC-SHA512 over AAD ‖ IV ‖ ciphertext ‖
/// AAD length in bits, 64-bit big-endian) first, then AES-256-CBC with PKCS#7 padding.
fn decrypt(key: &[u8; 64], p: &Parts<'_>) -> Option<Vec<u8>> {
    let (mac_key, enc_key) = key.split_at(32);
    let mut mac = hmac::Context::with_key(&hmac::Key::new(hmac::HMAC_SHA512, mac_key));
    mac.update(p.aad);
    mac.update(&p.iv);
    mac.update(&p.ciphertext);
    mac.update(&(p.aad.len() as u64 * 8).to_be_bytes());
    let full = mac.sign();
    verify_slices_are_equal(&full.as_ref()[..32], &p.tag).ok()?;
    let cipher =
        PaddedBlockDecryptingKey::cbc_pkcs7(UnboundCipherKey::new(&AES_256, enc_key).ok()?).ok()?;
    let mut buf = p.ciphertext.clone();
    let plain = cipher
        .decrypt(&mut buf, DecryptionContext::Iv128(FixedLength::from(p.iv)))
        .ok()?;
    Some(plain.to_vec())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use aws_lc_rs::cipher::{EncryptionContext, PaddedBlockEncryptingKey};

    /// A test-side `symmetricEncodeJWT` (fixed IV), for edits the real vectors cannot show.
    pub fn encode(claims: &Value, secret: &[u8], with_kid: bool) -> String {
        let key = derive(secret);
        let mut header = serde_json::json!({"alg": "dir", "enc": "A256CBC-HS512"});
        if with_kid {
            header["kid"] = thumbprint(&key).into();
        }
        let h = crate::token::b64_encode(header.to_string());
        let iv = [7u8; 16];
        let enc = PaddedBlockEncryptingKey::cbc_pkcs7(
            UnboundCipherKey::new(&AES_256, &key[32..]).unwrap(),
        )
        .unwrap();
        let mut ct = claims.to_string().into_bytes();
        enc.less_safe_encrypt(&mut ct, EncryptionContext::Iv128(FixedLength::from(iv)))
            .unwrap();
        let mut mac = hmac::Context::with_key(&hmac::Key::new(hmac::HMAC_SHA512, &key[..32]));
        for part in [
            h.as_bytes(),
            &iv[..],
            &ct[..],
            &(h.len() as u64 * 8).to_be_bytes(),
        ] {
            mac.update(part);
        }
        let tag = mac.sign();
        let b = |bytes: &[u8]| crate::token::b64_encode(bytes);
        format!("{h}..{}.{}.{}", b(&iv), b(&ct), b(&tag.as_ref()[..32]))
    }

    const A: &[u8] = b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &[u8] = b"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn every_secret_is_tried_with_and_without_kid() {
        let claims = serde_json::json!({"session": {}, "exp": 2_000});
        for with_kid in [true, false] {
            let v = encode(&claims, B, with_kid);
            let d = decode(&v, &[A, B], 1_000, 1_000_000).unwrap();
            assert_eq!(d.expires_at_ms, 2_000_000.0);
            assert!(decode(&v, &[A], 1_000, 1_000_000).is_none());
        }
    }

    #[test]
    fn expiry_has_fifteen_seconds_of_tolerance() {
        let v = encode(&serde_json::json!({"exp": 2_000}), A, true);
        assert!(decode(&v, &[A], 2_014, 2_014_000).is_some());
        assert!(decode(&v, &[A], 2_015, 2_015_000).is_none());
        let nbf = encode(&serde_json::json!({"nbf": 2_016}), A, true);
        assert!(decode(&nbf, &[A], 2_000, 2_000_000).is_none());
        assert!(decode(&nbf, &[A], 2_001, 2_001_000).is_some());
    }

    #[test]
    fn any_edit_fails_the_tag() {
        let v = encode(&serde_json::json!({"exp": 2_000}), A, true);
        let segments: Vec<&str> = v.split('.').collect();
        for i in [0, 2, 3, 4] {
            let mut edited: Vec<String> = segments.iter().map(|s| s.to_string()).collect();
            let s = &mut edited[i];
            let flipped = if s.starts_with('A') { 'B' } else { 'A' };
            s.replace_range(0..1, &flipped.to_string());
            assert!(
                decode(&edited.join("."), &[A], 1_000, 1_000_000).is_none(),
                "segment {i}"
            );
        }
        assert!(decode(&v.replacen("..", ".AAAA.", 1), &[A], 1_000, 1_000_000).is_none());
    }
}
