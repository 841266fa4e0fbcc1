//! Better Auth's session cookie cache (`session.cookieCache`, docs/better-auth-compat.md §3.6): the
//! `session_data` cookie Better Auth sets beside the session cookie, and answers get-session from
//! without its database. Read here exactly as Better Auth 1.7's get-session reads it: any cookie that
//! fails a check is ignored (the caller falls back to the database), never an error.
mod chunks;
mod compact;
mod dates;
mod decoded;
mod jwe;
mod jwt;
mod payload;

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::clock::SharedClock;
use crate::domain::{model::SessionAndUser, secret::Secrets};
use crate::token::Verifier;

use decoded::Decoded;
pub use payload::Cached;

/// How Better Auth encodes the cookie (`session.cookieCache.strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    Compact,
    Jwt,
    Jwe,
    /// Told by the value's shape: five dot-separated parts are a JWE, three a JWT, else compact.
    Auto,
}

/// What the deployment's Better Auth options decide about the cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieCacheRules {
    pub strategy: Strategy,
    /// `<__Secure-><prefix>.session_data`; chunks are `<name>.0`, `<name>.1`, …
    pub cookie_name: String,
    /// `iss` of the jwt plugin's cookie-cache JWTs: Better Auth's base URL origin, else
    /// `better-auth:session-cache`.
    pub jwt_issuer: String,
}

/// The `version` every Better Auth cookie carries unless `cookieCache.version` is set.
const DEFAULT_VERSION: &str = "1";

#[derive(Clone)]
pub struct CookieCache {
    rules: CookieCacheRules,
    secrets: Arc<Secrets>,
    /// The jwt plugin's keys, for `jwt({ sessionCookieCache: true })`; `None` without JWT settings.
    keys: Option<Arc<Verifier>>,
    clock: SharedClock,
}

impl CookieCache {
    pub fn new(
        rules: CookieCacheRules,
        secrets: Arc<Secrets>,
        keys: Option<Arc<Verifier>>,
        clock: SharedClock,
    ) -> Self {
        Self {
            rules,
            secrets,
            keys,
            clock,
        }
    }

    /// The session the `Cookie` header's cache holds for the session cookie's `token`, when it
    /// passes every rule of Better Auth's get-session; `None` sends the caller to the database.
    pub async fn lookup(&self, header: &str, token: &str) -> Option<SessionAndUser> {
        let value = chunks::read(header, &self.rules.cookie_name)?;
        let now = self.clock.now();
        let Some(decoded) = self.decode(&value, now).await else {
            tracing::debug!("cookie cache undecodable or unverified: reading the database");
            return None;
        };
        let cached = payload::parse(&decoded.payload, now)?;
        match accepted(
            &cached,
            decoded.expires_at_ms,
            token,
            now.timestamp_millis(),
        ) {
            true => Some(cached.found),
            false => {
                tracing::debug!(
                    "cookie cache for another token, version or expired: reading the database"
                );
                None
            }
        }
    }

    async fn decode(&self, value: &str, now: DateTime<Utc>) -> Option<Decoded> {
        let (now_secs, now_ms) = (now.timestamp(), now.timestamp_millis());
        match strategy_of(self.rules.strategy, value) {
            Strategy::Jwe => jwe::decode(value, &self.secrets.all(), now_secs, now_ms),
            Strategy::Jwt if jwt::is_plugin_signed(value) => {
                let keys = self.keys.as_ref()?;
                jwt::decode_plugin(keys, value, &self.rules.jwt_issuer, now_ms).await
            }
            Strategy::Jwt => jwt::decode_secret(value, self.secrets.current(), now_secs, now_ms),
            Strategy::Compact | Strategy::Auto => compact::decode(value, self.secrets.current()),
        }
    }
}

fn strategy_of(configured: Strategy, value: &str) -> Strategy {
    if configured != Strategy::Auto {
        return configured;
    }
    match value.bytes().filter(|&b| b == b'.').count() {
        4 => Strategy::Jwe,
        2 => Strategy::Jwt,
        _ => Strategy::Compact,
    }
}

/// get-session's rules: the cached session's token is the session cookie's, the version is the
/// expected one, and neither the cookie's expiry nor the cached session's has passed (strictly:
/// an expiry equal to now still counts, as Better Auth compares with `<`).
fn accepted(cached: &Cached, expires_at_ms: f64, token: &str, now_ms: i64) -> bool {
    let now = now_ms as f64;
    cached.found.session.token == token
        && cached.version.as_deref().unwrap_or(DEFAULT_VERSION) == DEFAULT_VERSION
        && expires_at_ms >= now
        && cached.found.session.expires_at.timestamp_millis() >= now_ms
}

#[cfg(test)]
mod tests;
