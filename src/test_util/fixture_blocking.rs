//! `Fixture` for synchronous callers (proptest, libFuzzer, criterion), on a runtime of its own.
use std::sync::Arc;

use serde_json::Value;
use tokio::runtime::{Builder, Runtime};

use super::fixture::Fixture;
use super::forge::forge;
use super::keys::{claims_for, settings};
use crate::domain::model::JwkRow;
use crate::token::{
    sign_compact, Alg, SigningKey, TokenError, VerifiedJwt, Verifier, VerifyOptions,
};

pub struct BlockingFixture {
    pub rt: Runtime,
    pub fx: Fixture,
    verifier: Verifier,
    /// Same keys, HS256 with the secret also accepted.
    hs256_verifier: Verifier,
}

impl BlockingFixture {
    /// An EdDSA and an ES256 key, then one key of each alg of `more`.
    pub fn new(more: &[Alg]) -> Self {
        let rt = Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let fx = rt.block_on(Fixture::with_keys(settings(), more));
        let mut hs256 = settings();
        hs256.allow_hs256_shared_secret = true;
        Self {
            verifier: fx.verifier(),
            hs256_verifier: fx.verifier_with(Arc::new(hs256)),
            rt,
            fx,
        }
    }

    /// Key `k` (modulo the number of keys), in `Fixture::pair`'s order.
    pub fn pair(&self, k: usize) -> &(JwkRow, SigningKey) {
        self.fx.pair(k)
    }

    pub fn kids(&self) -> Vec<String> {
        (0..self.fx.key_count())
            .map(|k| self.pair(k).0.id.clone())
            .collect()
    }

    pub fn verify(&self, token: &str) -> Result<VerifiedJwt, TokenError> {
        self.rt
            .block_on(self.verifier.verify(token, VerifyOptions::default()))
    }

    pub fn verify_hs256(&self, token: &str) -> Result<VerifiedJwt, TokenError> {
        self.rt
            .block_on(self.hs256_verifier.verify(token, VerifyOptions::default()))
    }

    /// A genuine token for `sub` (`claims_for`), signed with key `k`.
    pub fn token(&self, k: usize, sub: &str) -> String {
        let (row, key) = self.pair(k);
        let claims = claims_for(sub);
        sign_compact(key, &row.id, claims.as_object().expect("object")).expect("sign")
    }

    /// `b64(header).b64(payload)` signed with key `k`, however wrong header and payload are.
    pub fn forge(&self, k: usize, header: &Value, payload: &Value) -> String {
        forge(header, payload, &self.pair(k).1)
    }
}
