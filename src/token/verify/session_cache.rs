//! The jwt plugin's cookie-cache JWTs (`jwt({ sessionCookieCache: true })`,
//! docs/better-auth-compat.md §3.6): signed with the same `jwks` keys as session JWTs but checked
//! as Better Auth's `verifyCookieCacheJWT` does, apart from them: header `typ` must be
//! `better-auth.session-cache+jwt`, the stored key's algorithm, `aud` `better-auth:session-cache`,
//! `iss` Better Auth's base URL origin, 15 s clock tolerance. Session JWTs refuse that `typ`, so
//! neither kind passes for the other.
use serde_json::{Map, Value};

use super::{json_object, plausible_kid, split, Verifier, FORBIDDEN_HEADERS};
use crate::domain::reason::Reason;
use crate::token::alg::Alg;
use crate::token::claims::{self, ClaimRules};
use crate::token::error::TokenError;

const TYP: &str = "better-auth.session-cache+jwt";
const AUDIENCE: &str = "better-auth:session-cache";
/// `getSessionCookieJwtVerifyOptions`' `clockTolerance`.
const TOLERANCE_SECS: i64 = 15;
/// Better Auth chunks the cookie into at most 100 cookies of about 4 KB.
const MAX_BYTES: usize = 100 * 4096;

impl Verifier {
    /// The claims of a cookie-cache JWT whose signature, header and claims check out.
    pub async fn verify_session_cache_jwt(
        &self,
        token: &str,
        issuer: &str,
    ) -> Result<Map<String, Value>, TokenError> {
        let parts = split(token, MAX_BYTES)?;
        let header = json_object(&parts.header)?;
        if header.get("typ").and_then(Value::as_str) != Some(TYP)
            || FORBIDDEN_HEADERS.iter().any(|h| header.contains_key(*h))
        {
            return Err(Reason::JwtForbiddenHeader.into());
        }
        let kid = header
            .get("kid")
            .and_then(Value::as_str)
            .filter(|k| plausible_kid(k))
            .ok_or(Reason::JwtUnknownKey)?;
        let key = self.keys.get(kid).await?.ok_or(Reason::JwtUnknownKey)?;
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .and_then(Alg::parse);
        if alg != Some(key.alg()) {
            return Err(Reason::JwtAlgNotAllowed.into());
        }
        if !key.verify(parts.signing_input.as_bytes(), &parts.signature)? {
            return Err(Reason::JwtBadSignature.into());
        }
        let claims = json_object(&parts.payload)?;
        let rules = ClaimRules {
            now: self.clock.now().timestamp(),
            leeway: TOLERANCE_SECS,
            issuer,
            audiences: &[AUDIENCE.to_owned()],
        };
        claims::check(&claims, &rules)?;
        Ok(claims)
    }
}
