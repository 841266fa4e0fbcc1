//! A private key bound to its algorithm, built from the decrypted private JWK.
//!
//! Signing goes through jsonwebtoken (`crypto::sign`) for EdDSA, ES256, RS256 and PS256.
//! jsonwebtoken only takes DER keys, so the JWK is turned into DER by aws-lc-rs itself
//! (which validates the components on the way). jsonwebtoken has no ES512: P-521 keys sign
//! with aws-lc-rs's `ECDSA_P521_SHA512_FIXED_SIGNING` (fixed r‖s, as JOSE requires).
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeyPairComponents, PublicKeyComponents};
use aws_lc_rs::signature::{
    EcdsaKeyPair, EcdsaSigningAlgorithm, Ed25519KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING,
    ECDSA_P521_SHA512_FIXED_SIGNING,
};
use jsonwebtoken::EncodingKey;

use super::alg::Alg;
use super::b64;
use super::error::TokenError;
use super::jwk::{PrivateJwk, PrivateParts, PublicJwk, RsaPrivate};
use super::pkcs::pkcs1_of_pkcs8;

pub struct SigningKey {
    alg: Alg,
    public: PublicJwk,
    inner: Inner,
}

enum Inner {
    Jwt(EncodingKey, jsonwebtoken::Algorithm),
    P521(EcdsaKeyPair),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// From a decrypted `jwks.privateKey` and the row's algorithm; `kid` names the row in errors.
    pub fn from_private_jwk(kid: &str, json: &str, alg: Alg) -> Result<Self, TokenError> {
        PrivateJwk::parse(json)
            .and_then(|jwk| Self::from_jwk(&jwk, alg))
            .map_err(|e| TokenError::bad_key(kid, e))
    }

    pub(crate) fn from_jwk(jwk: &PrivateJwk, alg: Alg) -> Result<Self, String> {
        jwk.public.check_alg(alg)?;
        let inner = match alg {
            Alg::EdDSA => Inner::Jwt(ed25519_der(jwk)?, jsonwebtoken::Algorithm::EdDSA),
            Alg::ES256 => {
                let pair = ec_pair(jwk, &ECDSA_P256_SHA256_FIXED_SIGNING)?;
                let der = pair
                    .to_pkcs8v1()
                    .map_err(|e| format!("PKCS#8 export failed: {e}"))?;
                Inner::Jwt(
                    EncodingKey::from_ec_der(der.as_ref()),
                    jsonwebtoken::Algorithm::ES256,
                )
            }
            Alg::ES512 => Inner::P521(ec_pair(jwk, &ECDSA_P521_SHA512_FIXED_SIGNING)?),
            Alg::RS256 => Inner::Jwt(rsa_der(jwk)?, jsonwebtoken::Algorithm::RS256),
            Alg::PS256 => Inner::Jwt(rsa_der(jwk)?, jsonwebtoken::Algorithm::PS256),
        };
        Ok(Self {
            alg,
            public: jwk.public.clone(),
            inner,
        })
    }

    pub fn alg(&self) -> Alg {
        self.alg
    }

    pub(crate) fn public_jwk(&self) -> &PublicJwk {
        &self.public
    }

    /// The base64url signature segment over `signing_input` (`header.payload`).
    pub fn sign(&self, signing_input: &[u8]) -> Result<String, TokenError> {
        let fail = |e: String| TokenError::Internal(format!("{} signing failed: {e}", self.alg));
        match &self.inner {
            Inner::Jwt(key, alg) => jsonwebtoken::crypto::sign(signing_input, key, *alg)
                .map_err(|e| fail(e.to_string())),
            Inner::P521(pair) => pair
                .sign(&SystemRandom::new(), signing_input)
                .map(|sig| b64::encode(sig.as_ref()))
                .map_err(|e| fail(e.to_string())),
        }
    }
}

fn ed25519_der(jwk: &PrivateJwk) -> Result<EncodingKey, String> {
    let (PublicJwk::Okp { x, .. }, Some(d)) = (&jwk.public, jwk.scalar()) else {
        return Err("EdDSA needs an OKP key with d".into());
    };
    // Checks that x is the public key of d.
    let pair = Ed25519KeyPair::from_seed_and_public_key(d, x)
        .map_err(|e| format!("Ed25519 key rejected: {e}"))?;
    let der = pair
        .to_pkcs8v1()
        .map_err(|e| format!("PKCS#8 export failed: {e}"))?;
    Ok(EncodingKey::from_ed_der(der.as_ref()))
}

fn ec_pair(jwk: &PrivateJwk, alg: &'static EcdsaSigningAlgorithm) -> Result<EcdsaKeyPair, String> {
    let (Some(point), Some(d)) = (jwk.public.ec_point(), jwk.scalar()) else {
        return Err("ECDSA needs an EC key with d".into());
    };
    // Checks that (x, y) is the public key of d.
    EcdsaKeyPair::from_private_key_and_public_key(alg, d, &point)
        .map_err(|e| format!("EC key rejected: {e}"))
}

/// RSA JWK → aws-lc-rs key pair (which runs RSA_check_key) → PKCS#1 DER for jsonwebtoken.
fn rsa_der(jwk: &PrivateJwk) -> Result<EncodingKey, String> {
    let (PublicJwk::Rsa { n, e }, PrivateParts::Rsa(r)) = (&jwk.public, &jwk.private) else {
        return Err("RSA algs need an RSA key".into());
    };
    let RsaPrivate {
        d,
        p,
        q,
        dp,
        dq,
        qi,
    } = r.as_ref();
    let components = KeyPairComponents {
        public_key: PublicKeyComponents {
            n: n.as_slice(),
            e: e.as_slice(),
        },
        d: d.as_slice(),
        p: p.as_slice(),
        q: q.as_slice(),
        dP: dp.as_slice(),
        dQ: dq.as_slice(),
        qInv: qi.as_slice(),
    };
    let pair =
        RsaKeyPair::from_components(&components).map_err(|e| format!("RSA key rejected: {e}"))?;
    let pkcs8 = pair
        .as_der()
        .map_err(|e| format!("PKCS#8 export failed: {e}"))?;
    let pkcs1 = pkcs1_of_pkcs8(pkcs8.as_ref())?;
    Ok(EncodingKey::from_rsa_der(pkcs1))
}
