//! What the jwt plugin was configured with, as this service needs to know it. The lead's
//! config layer fills this from flags/env; defaults are Better Auth's (docs/better-auth-compat.md §4.2–4.8).
use std::time::Duration;

use serde_json::Value;

use super::alg::Alg;

/// The `aud` Better Auth puts into tokens: a string unless `jwt.audience` is an array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub fn values(&self) -> &[String] {
        match self {
            Audience::One(a) => std::slice::from_ref(a),
            Audience::Many(list) => list,
        }
    }

    pub fn contains(&self, aud: &str) -> bool {
        self.values().iter().any(|a| a == aud)
    }

    pub(crate) fn to_json(&self) -> Value {
        match self {
            Audience::One(a) => Value::String(a.clone()),
            Audience::Many(list) => Value::Array(list.iter().cloned().map(Value::String).collect()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct JwtSettings {
    /// `iss` of issued tokens and the only `iss` accepted: `jwt.issuer ?? origin(BETTER_AUTH_URL)`.
    pub issuer: String,
    /// `aud` of issued tokens; verification accepts a token whose `aud` contains any of these.
    pub audience: Audience,
    /// Audiences a request may narrow to besides `audience` (e.g. the ones IssueToken callers
    /// are allowed to ask for); never put into a token unless asked for.
    pub extra_audiences: Vec<String>,
    /// `jwks.keyPairConfig.alg`: the alg of new keys, and of rows whose `alg` is NULL.
    pub alg: Alg,
    /// `jwt.expirationTime` (Better Auth default 15 minutes).
    pub lifetime: Duration,
    /// Clock skew allowed on `exp`/`nbf`. Better Auth allows none.
    pub leeway: Duration,
    /// Tokens longer than this are refused before any parsing.
    pub max_token_bytes: usize,
    /// Minimum time between reloads of the jwks table caused by unknown `kid`s.
    pub reload_cool_down: Duration,
    /// `jwks.rotationInterval`: new keys get `expiresAt = createdAt + this`.
    pub rotation_interval: Option<Duration>,
    /// `!jwks.disablePrivateKeyEncryption`: how new private keys are stored.
    pub encrypt_private_keys: bool,
    /// Accept HS256 tokens signed with the current secret (no `kid`). Off: Better Auth never
    /// issues HMAC tokens, and accepting them opens the classic alg-confusion door.
    pub allow_hs256_shared_secret: bool,
    /// `jwks.keyPairConfig.modulusLength` for new RSA keys (jose default 2048).
    pub rsa_modulus_bits: usize,
    /// How many verified tokens are remembered (by hash) so a repeated token skips the
    /// signature check; 0 turns the cache off.
    pub verified_cache_entries: u64,
}

impl JwtSettings {
    /// Whether a request may narrow the audience to `aud`.
    pub fn may_narrow_to(&self, aud: &str) -> bool {
        self.audience.contains(aud) || self.extra_audiences.iter().any(|a| a == aud)
    }

    pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;
    pub const DEFAULT_VERIFIED_CACHE_ENTRIES: u64 = 10_000;

    /// Better Auth's defaults for a deployment whose base URL has this origin
    /// (`https://host[:port]`, no path, no trailing slash).
    pub fn for_origin(origin: impl Into<String>) -> Self {
        let origin = origin.into();
        Self {
            issuer: origin.clone(),
            audience: Audience::One(origin),
            extra_audiences: Vec::new(),
            alg: Alg::EdDSA,
            lifetime: Duration::from_secs(15 * 60),
            leeway: Duration::ZERO,
            max_token_bytes: Self::DEFAULT_MAX_TOKEN_BYTES,
            reload_cool_down: Duration::from_secs(5),
            rotation_interval: None,
            encrypt_private_keys: true,
            allow_hs256_shared_secret: false,
            rsa_modulus_bits: 2048,
            verified_cache_entries: Self::DEFAULT_VERIFIED_CACHE_ENTRIES,
        }
    }
}
