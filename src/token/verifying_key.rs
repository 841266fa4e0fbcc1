//! A public key bound to the one algorithm its jwks row says it is for.
//!
//! Verification goes through jsonwebtoken for every algorithm it implements. jsonwebtoken has
//! no ES512, so P-521 keys use aws-lc-rs's `ECDSA_P521_SHA512_FIXED` directly (the same
//! library jsonwebtoken's `aws_lc_rs` backend calls for ES256, with the JOSE r‖s encoding).
use aws_lc_rs::signature::{
    ParsedPublicKey, RsaPublicKeyComponents, ECDSA_P256_SHA256_FIXED, ECDSA_P521_SHA512_FIXED,
    ED25519, RSA_PKCS1_2048_8192_SHA256,
};
use jsonwebtoken::DecodingKey;

use super::alg::{alg_of_row, Alg};
use super::error::TokenError;
use super::jwk::PublicJwk;
use crate::domain::model::JwkRow;

pub struct VerifyingKey {
    alg: Alg,
    inner: Inner,
}

enum Inner {
    Jwt(DecodingKey, jsonwebtoken::Algorithm),
    P521(ParsedPublicKey),
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl VerifyingKey {
    /// From a `jwks` row: its `publicKey` for its alg (NULL → `configured`). The key is
    /// fully parsed and checked here, so a bad row fails at load time, not at the first token.
    pub fn from_row(row: &JwkRow, configured: Alg) -> Result<Self, TokenError> {
        let alg = alg_of_row(row, configured)?;
        Self::from_public_jwk(&row.public_key, alg).map_err(|e| TokenError::bad_key(&row.id, e))
    }

    pub(crate) fn from_public_jwk(json: &str, alg: Alg) -> Result<Self, String> {
        Self::from_jwk(&PublicJwk::parse(json)?, alg)
    }

    pub(crate) fn from_jwk(jwk: &PublicJwk, alg: Alg) -> Result<Self, String> {
        jwk.check_alg(alg)?;
        validate(jwk, alg)?;
        let inner = match (alg.jsonwebtoken(), jwk) {
            (None, _) => Inner::P521(parse_p521(jwk)?),
            (Some(a), PublicJwk::Okp { x, .. }) => Inner::Jwt(DecodingKey::from_ed_der(x), a),
            (Some(a), PublicJwk::Ec { .. }) => Inner::Jwt(
                DecodingKey::from_ec_der(&jwk.ec_point().unwrap_or_default()),
                a,
            ),
            (Some(a), PublicJwk::Rsa { n, e }) => {
                Inner::Jwt(DecodingKey::from_rsa_raw_components(n, e), a)
            }
        };
        Ok(Self { alg, inner })
    }

    pub fn alg(&self) -> Alg {
        self.alg
    }

    /// Checks `signature` (the decoded third segment) over `signing_input` (`header.payload`).
    pub fn verify(&self, signing_input: &[u8], signature: &[u8]) -> Result<bool, TokenError> {
        match &self.inner {
            Inner::P521(key) => Ok(key.verify_sig(signing_input, signature).is_ok()),
            Inner::Jwt(key, alg) => verify_with_jsonwebtoken(key, *alg, signing_input, signature),
        }
    }
}

/// HS256 with a shared secret (opt-in mode): also through jsonwebtoken.
pub(crate) fn verify_hs256(
    secret: &[u8],
    signing_input: &[u8],
    signature: &[u8],
) -> Result<bool, TokenError> {
    let key = DecodingKey::from_secret(secret);
    verify_with_jsonwebtoken(
        &key,
        jsonwebtoken::Algorithm::HS256,
        signing_input,
        signature,
    )
}

fn verify_with_jsonwebtoken(
    key: &DecodingKey,
    alg: jsonwebtoken::Algorithm,
    signing_input: &[u8],
    signature: &[u8],
) -> Result<bool, TokenError> {
    // jsonwebtoken wants the signature segment; our caller already decoded it strictly.
    let segment = super::b64::encode(signature);
    jsonwebtoken::crypto::verify(&segment, signing_input, key, alg)
        .map_err(|e| TokenError::Internal(format!("verifier setup failed: {e}")))
}

/// Parses the key once with aws-lc-rs so malformed points, wrong lengths and RSA moduli
/// outside 2048–8192 bits are rejected when the row is loaded.
fn validate(jwk: &PublicJwk, alg: Alg) -> Result<(), String> {
    let parsed = match (jwk, alg) {
        (PublicJwk::Okp { x, .. }, _) => ParsedPublicKey::new(&ED25519, x).map(drop),
        (PublicJwk::Ec { .. }, Alg::ES512) => return parse_p521(jwk).map(drop),
        (PublicJwk::Ec { .. }, _) => {
            ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, jwk.ec_point().unwrap_or_default())
                .map(drop)
        }
        (PublicJwk::Rsa { n, e }, _) => RsaPublicKeyComponents { n, e }
            .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
            .map(drop),
    };
    parsed.map_err(|e| format!("public key rejected: {e}"))
}

fn parse_p521(jwk: &PublicJwk) -> Result<ParsedPublicKey, String> {
    let point = jwk.ec_point().ok_or("ES512 needs an EC key")?;
    ParsedPublicKey::new(&ECDSA_P521_SHA512_FIXED, point)
        .map_err(|e| format!("public key rejected: {e}"))
}
