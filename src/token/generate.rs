//! New key pairs and the `jwks` row Better Auth would insert for them (docs/better-auth-compat.md §4.2, §4.3).
use aws_lc_rs::encoding::{AsBigEndian, AsDer};
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{
    EcdsaKeyPair, EcdsaSigningAlgorithm, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING,
    ECDSA_P521_SHA512_FIXED_SIGNING,
};
use chrono::{DateTime, TimeDelta, Utc};
use rand::distr::{Alphanumeric, SampleString};
use secrecy::zeroize::Zeroizing;

use super::alg::Alg;
use super::at_rest::encrypt_private_key;
use super::error::TokenError;
use super::jwk::{PrivateJwk, PrivateParts, PublicJwk, RsaPrivate};
use super::pkcs::pkcs1_of_pkcs8;
use super::settings::JwtSettings;
use super::signing_key::SigningKey;
use crate::domain::model::JwkRow;
use crate::domain::secret::Secrets;
use crate::domain::time::millis;

/// A 32-character `[A-Za-z0-9]` id from a CSPRNG, like Better Auth's `generateId()`.
pub fn new_key_id() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 32)
}

/// A fresh key pair for `alg`, as jose's `generateKeyPair` + `exportJWK` would produce it.
pub(crate) fn generate_jwk(alg: Alg, rsa_bits: usize) -> Result<PrivateJwk, TokenError> {
    let fail = |what: &str| TokenError::Internal(format!("{alg} key generation failed: {what}"));
    match alg {
        Alg::EdDSA => {
            let pair = Ed25519KeyPair::generate().map_err(|_| fail("Ed25519"))?;
            let seed = pair.seed().map_err(|_| fail("seed"))?;
            let d = seed.as_be_bytes().map_err(|_| fail("seed"))?;
            Ok(PrivateJwk {
                public: PublicJwk::Okp {
                    crv: "Ed25519".into(),
                    x: pair.public_key().as_ref().to_vec(),
                },
                private: PrivateParts::Scalar(Zeroizing::new(d.as_ref().to_vec())),
            })
        }
        Alg::ES256 => {
            ec_jwk(&ECDSA_P256_SHA256_FIXED_SIGNING, "P-256").ok_or_else(|| fail("P-256"))
        }
        Alg::ES512 => {
            ec_jwk(&ECDSA_P521_SHA512_FIXED_SIGNING, "P-521").ok_or_else(|| fail("P-521"))
        }
        Alg::RS256 | Alg::PS256 => rsa_jwk(rsa_bits),
    }
}

fn ec_jwk(alg: &'static EcdsaSigningAlgorithm, crv: &str) -> Option<PrivateJwk> {
    let pair = EcdsaKeyPair::generate(alg).ok()?;
    let d = pair.private_key().as_be_bytes().ok()?;
    // SEC1 uncompressed point: 04 ‖ x ‖ y, coordinates of equal length.
    let point = pair.public_key().as_ref();
    let (x, y) = point.get(1..)?.split_at((point.len() - 1) / 2);
    Some(PrivateJwk {
        public: PublicJwk::Ec {
            crv: crv.into(),
            x: x.to_vec(),
            y: y.to_vec(),
        },
        private: PrivateParts::Scalar(Zeroizing::new(d.as_ref().to_vec())),
    })
}

/// aws-lc-rs does not hand out RSA private components, so they are read back from its own
/// PKCS#8 export with the RustCrypto `pkcs8`/`pkcs1` DER decoders.
fn rsa_jwk(bits: usize) -> Result<PrivateJwk, TokenError> {
    let size = match bits {
        2048 => KeySize::Rsa2048,
        3072 => KeySize::Rsa3072,
        4096 => KeySize::Rsa4096,
        8192 => KeySize::Rsa8192,
        other => {
            return Err(TokenError::Internal(format!(
                "unsupported RSA modulus length {other}"
            )))
        }
    };
    let fail = |what: String| TokenError::Internal(format!("RSA key generation failed: {what}"));
    let pair = RsaKeyPair::generate(size).map_err(|e| fail(e.to_string()))?;
    let pkcs8 = pair.as_der().map_err(|e| fail(e.to_string()))?;
    let pkcs1 = pkcs1_of_pkcs8(pkcs8.as_ref()).map_err(fail)?;
    let key = pkcs1::RsaPrivateKey::try_from(pkcs1).map_err(|e| fail(e.to_string()))?;
    let secret = |u: pkcs1::UintRef<'_>| Zeroizing::new(u.as_bytes().to_vec());
    Ok(PrivateJwk {
        public: PublicJwk::Rsa {
            n: key.modulus.as_bytes().to_vec(),
            e: key.public_exponent.as_bytes().to_vec(),
        },
        private: PrivateParts::Rsa(Box::new(RsaPrivate {
            d: secret(key.private_exponent),
            p: secret(key.prime1),
            q: secret(key.prime2),
            dp: secret(key.exponent1),
            dq: secret(key.exponent2),
            qi: secret(key.coefficient),
        })),
    })
}

/// A new key and the row Better Auth would insert for it: `id` 32 alphanumerics, public JWK
/// JSON, private JWK stored encrypted (or plain when encryption is disabled), `createdAt` now
/// at millisecond precision, `expiresAt` when rotating, `alg`, and `crv` (NULL for RSA).
pub fn new_jwk_row(
    settings: &JwtSettings,
    secrets: &Secrets,
    now: DateTime<Utc>,
) -> Result<(JwkRow, SigningKey), TokenError> {
    let alg = settings.alg;
    let jwk = generate_jwk(alg, settings.rsa_modulus_bits)?;
    let id = new_key_id();
    let signing = SigningKey::from_jwk(&jwk, alg).map_err(|e| TokenError::bad_key(&id, e))?;
    let private_json = jwk.to_json();
    let private_key = if settings.encrypt_private_keys {
        encrypt_private_key(&private_json, secrets)?
    } else {
        private_json.to_string()
    };
    let created_at = millis(now);
    let expires_at = match settings.rotation_interval {
        Some(d) => Some(
            TimeDelta::from_std(d)
                .ok()
                .and_then(|d| created_at.checked_add_signed(d))
                .ok_or_else(|| {
                    TokenError::Internal(format!("rotation interval {d:?} out of range"))
                })?,
        ),
        None => None,
    };
    let row = JwkRow {
        id,
        public_key: jwk.public.to_json(),
        private_key,
        created_at,
        expires_at,
        alg: Some(alg.as_str().to_owned()),
        crv: alg.curve().map(str::to_owned),
    };
    Ok((row, signing))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::at_rest::decrypt_private_key;
    use crate::token::verifying_key::VerifyingKey;
    use secrecy::ExposeSecret;

    // Any valid secret: these tests only round-trip keys through it.
    const SECRET: &str = "test-secret-0123456789abcdefghijklmnop";

    #[test]
    fn ids_look_like_better_auths() {
        let a = new_key_id();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(a, new_key_id());
    }

    #[test]
    fn every_alg_generates_a_working_row() {
        let secrets = Secrets::from_secret(SECRET).unwrap();
        let now = DateTime::from_timestamp_micros(1_795_520_080_883_456).unwrap();
        for alg in Alg::ALL {
            let mut settings = JwtSettings::for_origin("http://localhost:3000");
            settings.alg = alg;
            settings.rotation_interval = Some(std::time::Duration::from_secs(3600));
            let (row, signing) = new_jwk_row(&settings, &secrets, now).unwrap();
            assert_eq!(row.alg.as_deref(), Some(alg.as_str()));
            assert_eq!(row.crv.as_deref(), alg.curve());
            assert_eq!(row.created_at.timestamp_subsec_micros(), 883_000);
            assert_eq!(row.expires_at, Some(row.created_at + TimeDelta::hours(1)));
            assert_key_order(alg, &row.public_key, false);

            let private = decrypt_private_key(&row.id, &row.private_key, &secrets).unwrap();
            assert_key_order(alg, private.expose_secret(), true);

            // The stored halves belong together: sign with the stored private key, verify
            // with the stored public key.
            let stored =
                SigningKey::from_private_jwk(&row.id, private.expose_secret(), alg).unwrap();
            let verifying = VerifyingKey::from_row(&row, Alg::EdDSA).unwrap();
            for key in [&signing, &stored] {
                let sig = key.sign(b"a.b").unwrap();
                let sig = crate::token::b64::decode(&sig).unwrap();
                // JOSE sizes: raw r‖s for ECDSA (not DER), modulus length for RSA.
                let expected_len = match alg {
                    Alg::EdDSA | Alg::ES256 => 64,
                    Alg::ES512 => 132,
                    Alg::RS256 | Alg::PS256 => 256,
                };
                assert_eq!(sig.len(), expected_len, "{alg}");
                assert!(verifying.verify(b"a.b", &sig).unwrap(), "{alg}");
                assert!(!verifying.verify(b"a.c", &sig).unwrap(), "{alg}");
            }
        }
    }

    #[test]
    fn encryption_can_be_disabled() {
        let secrets = Secrets::from_secret(SECRET).unwrap();
        let mut settings = JwtSettings::for_origin("http://localhost:3000");
        settings.encrypt_private_keys = false;
        let (row, _) = new_jwk_row(&settings, &secrets, Utc::now()).unwrap();
        assert!(row.private_key.starts_with(r#"{"crv":"Ed25519","d":""#));
        assert_eq!(row.expires_at, None);
    }

    fn assert_key_order(alg: Alg, json: &str, private: bool) {
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let expected: &[&str] = match (alg, private) {
            (Alg::EdDSA, false) => &["crv", "x", "kty"],
            (Alg::EdDSA, true) => &["crv", "d", "x", "kty"],
            (Alg::ES256 | Alg::ES512, false) => &["kty", "x", "y", "crv"],
            (Alg::ES256 | Alg::ES512, true) => &["kty", "x", "y", "crv", "d"],
            (Alg::RS256 | Alg::PS256, false) => &["kty", "n", "e"],
            (Alg::RS256 | Alg::PS256, true) => &["kty", "n", "e", "d", "p", "q", "dp", "dq", "qi"],
        };
        assert_eq!(keys, expected, "{alg} {json}");
    }
}
