//! Verifying a Better Auth JWT (docs/better-auth-compat.md §4.8, §7.3), strictly and in a fixed order: size,
//! shape, header (forbidden members, algorithm, key), and only then the signature, then
//! the claims. Every refusal is a `TokenError::Refused(reason)`; nothing here panics.
use std::sync::Arc;

use serde_json::{Map, Value};

use super::alg::Alg;
use super::b64;
use super::claims::{self, ClaimRules};
use super::error::TokenError;
use super::keyset::KeySet;
use super::settings::JwtSettings;
use super::verified_cache::VerifiedCache;
use super::verified_jwt::VerifiedJwt;
use super::verifying_key::{verify_hs256, VerifyingKey};
use crate::clock::SharedClock;
use crate::domain::reason::Reason;
use crate::domain::secret::Secrets;

/// Header members that point at key material or extensions we will not honour.
const FORBIDDEN_HEADERS: [&str; 5] = ["crit", "jku", "x5u", "jwk", "x5c"];
/// Better Auth kids are 32 alphanumerics; anything absurd is unknown without a DB reload.
const MAX_KID_LEN: usize = 128;

#[derive(Debug, Clone, Copy, Default)]
pub struct VerifyOptions<'a> {
    /// Narrow the accepted audience to this one; it must itself be a configured audience.
    pub audience: Option<&'a str>,
}

pub struct Verifier {
    keys: Arc<KeySet>,
    settings: Arc<JwtSettings>,
    secrets: Arc<Secrets>,
    clock: SharedClock,
    /// `None` when `JwtSettings::verified_cache_entries` is 0.
    pub(super) cache: Option<VerifiedCache>,
}

/// The three segments, each already decoded from canonical base64url.
struct Parts<'t> {
    signing_input: &'t str,
    header: Vec<u8>,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

enum Key {
    Asymmetric { kid: String, key: Arc<VerifyingKey> },
    SharedSecret,
}

impl Verifier {
    pub fn new(
        keys: Arc<KeySet>,
        settings: Arc<JwtSettings>,
        secrets: Arc<Secrets>,
        clock: SharedClock,
    ) -> Self {
        let cache = VerifiedCache::new(settings.verified_cache_entries);
        Self {
            keys,
            settings,
            secrets,
            clock,
            cache,
        }
    }

    /// Verifies `token`, answering from the cache of verified tokens when it holds this one.
    pub async fn verify(
        &self,
        token: &str,
        opts: VerifyOptions<'_>,
    ) -> Result<VerifiedJwt, TokenError> {
        let Some(cache) = self
            .cache
            .as_ref()
            .filter(|_| token.len() <= self.settings.max_token_bytes)
        else {
            return self.verify_fully(token, opts).await;
        };
        let key = VerifiedCache::key(token, opts.audience);
        // Read before verifying: a key-set change during the check leaves a stale tag, so a miss.
        let epoch = self.keys.epoch();
        let (now, leeway) = (self.clock.now().timestamp(), self.leeway_secs());
        if let Some(hit) = cache.get(&key, epoch, now, leeway) {
            return Ok(hit);
        }
        let jwt = self.verify_fully(token, opts).await?;
        cache.insert(key, &jwt, epoch);
        Ok(jwt)
    }

    fn leeway_secs(&self) -> i64 {
        i64::try_from(self.settings.leeway.as_secs()).unwrap_or(i64::MAX / 2)
    }

    async fn verify_fully(
        &self,
        token: &str,
        opts: VerifyOptions<'_>,
    ) -> Result<VerifiedJwt, TokenError> {
        let audiences = self.audiences(opts)?;
        let parts = split(token, self.settings.max_token_bytes)?;
        let header = json_object(&parts.header)?;
        refuse_forbidden_headers(&header)?;
        let key = self.key_for(&header).await?;
        if !self.signature_ok(&key, &parts)? {
            return Err(Reason::JwtBadSignature.into());
        }
        let claims = json_object(&parts.payload)?;
        let rules = ClaimRules {
            now: self.clock.now().timestamp(),
            leeway: self.leeway_secs(),
            issuer: &self.settings.issuer,
            audiences: &audiences,
        };
        let (sub, exp) = claims::check(&claims, &rules)?;
        let (kid, alg) = match key {
            Key::Asymmetric { kid, key } => (Some(kid), key.alg().as_str()),
            Key::SharedSecret => (None, "HS256"),
        };
        Ok(VerifiedJwt {
            claims,
            sub,
            exp,
            kid,
            alg,
        })
    }

    fn audiences(&self, opts: VerifyOptions<'_>) -> Result<Vec<String>, TokenError> {
        match opts.audience {
            None => Ok(self.settings.audience.values().to_vec()),
            Some(a) if self.settings.may_narrow_to(a) => Ok(vec![a.to_owned()]),
            Some(a) => Err(TokenError::AudienceNotAllowed(a.to_owned())),
        }
    }

    /// The header's algorithm must be allowed, and for asymmetric algorithms equal the alg
    /// the stored key is for: the header never chooses how a key is used.
    async fn key_for(&self, header: &Map<String, Value>) -> Result<Key, TokenError> {
        let alg = match header.get("alg") {
            Some(Value::String(a)) => a.as_str(),
            _ => return Err(Reason::JwtMalformed.into()),
        };
        if alg == "HS256" && self.settings.allow_hs256_shared_secret {
            return Ok(Key::SharedSecret);
        }
        let alg = Alg::parse(alg).ok_or(Reason::JwtAlgNotAllowed)?;
        let kid = match header.get("kid") {
            None => return Err(Reason::JwtUnknownKey.into()),
            Some(Value::String(k)) => k,
            Some(_) => return Err(Reason::JwtMalformed.into()),
        };
        if !plausible_kid(kid) {
            return Err(Reason::JwtUnknownKey.into());
        }
        let key = self.keys.get(kid).await?.ok_or(Reason::JwtUnknownKey)?;
        if key.alg() != alg {
            return Err(Reason::JwtAlgNotAllowed.into());
        }
        Ok(Key::Asymmetric {
            kid: kid.clone(),
            key,
        })
    }

    fn signature_ok(&self, key: &Key, parts: &Parts<'_>) -> Result<bool, TokenError> {
        let input = parts.signing_input.as_bytes();
        match key {
            Key::Asymmetric { key, .. } => key.verify(input, &parts.signature),
            Key::SharedSecret => verify_hs256(self.secrets.current(), input, &parts.signature),
        }
    }
}

/// Size cap first (cheap, before any work), then exactly three canonical base64url segments.
fn split(token: &str, max_bytes: usize) -> Result<Parts<'_>, Reason> {
    if token.len() > max_bytes {
        return Err(Reason::TooLarge);
    }
    let mut segments = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Err(Reason::JwtMalformed);
    };
    let decode = |seg: &str| b64::decode(seg).ok_or(Reason::JwtMalformed);
    Ok(Parts {
        signing_input: &token[..h.len() + 1 + p.len()],
        header: decode(h)?,
        payload: decode(p)?,
        signature: decode(s)?,
    })
}

fn json_object(bytes: &[u8]) -> Result<Map<String, Value>, Reason> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(Reason::JwtMalformed),
    }
}

fn refuse_forbidden_headers(header: &Map<String, Value>) -> Result<(), Reason> {
    let forbidden = FORBIDDEN_HEADERS.iter().any(|h| header.contains_key(*h));
    match forbidden || !plain_jwt_type(header.get("typ")) {
        true => Err(Reason::JwtForbiddenHeader),
        false => Ok(()),
    }
}

/// The jwt plugin sets no `typ`; other plugins signing with its keys mark their tokens
/// (oauth-provider: `at+jwt`, `logout+jwt`), which must not pass for a session's JWT
/// (RFC 8725 §3.11). Media types compare case-insensitively, `application/` optional.
fn plain_jwt_type(typ: Option<&Value>) -> bool {
    match typ {
        None => true,
        Some(Value::String(t)) => {
            let t = t.to_ascii_lowercase();
            t == "jwt" || t == "application/jwt"
        }
        Some(_) => false,
    }
}

fn plausible_kid(kid: &str) -> bool {
    !kid.is_empty() && kid.len() <= MAX_KID_LEN && !kid.chars().any(char::is_control)
}

mod session_cache;

#[cfg(test)]
mod cache_tests;
#[cfg(test)]
mod foreign_tests;
