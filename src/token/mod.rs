//! JWTs of Better Auth's jwt plugin (docs/better-auth-compat.md §4, §7.3, §7.4): private keys at rest, key
//! generation, verification and issuing. Pure domain: no tonic, no sqlx; the database is
//! reached only through `crate::store::Store`.
//!
//! Wiring: one `JwkRows` over the store, one `KeySet` over it, a `Verifier` on the key set
//! and an `Issuer` told about the key set (so the keys it creates verify at once).
mod alg;
mod at_rest;
mod b64;
mod claims;
mod encode;
mod error;
mod generate;
mod issue;
mod jwk;
mod keyset;
mod pkcs;
mod rows;
mod select;
mod settings;
mod signing_key;
mod verified_cache;
mod verified_jwt;
mod verify;
mod verifying_key;

#[cfg(test)]
mod attack_tests;

pub use alg::{alg_of_row, Alg};
pub use at_rest::{decrypt_private_key, encrypt_private_key};
pub use b64::{decode as b64_decode, encode as b64_encode};
pub use encode::{better_auth_claims, js_stringify, sign_compact};
pub use error::TokenError;
pub use generate::{new_jwk_row, new_key_id};
pub use issue::{IssueOptions, IssuedJwt, Issuer};
pub use keyset::KeySet;
pub use rows::JwkRows;
pub use select::{is_live, select_signing_row};
pub use settings::{Audience, JwtSettings};
pub use signing_key::SigningKey;
pub use verified_jwt::VerifiedJwt;
pub use verify::{Verifier, VerifyOptions};
pub use verifying_key::VerifyingKey;
