//! What a verified JWT yields: made by the verifier, kept by the cache of verified tokens.
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedJwt {
    /// The whole payload, in token order.
    pub claims: Map<String, Value>,
    pub sub: String,
    /// `exp`, whole seconds since the epoch.
    pub exp: i64,
    /// `None` only for HS256 shared-secret tokens.
    pub kid: Option<String>,
    pub alg: &'static str,
}
