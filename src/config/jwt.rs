//! The jwt plugin's settings as this service needs them, and the IssueToken callers.
use std::time::Duration;

use serde::Deserialize;

use super::{bad, bounded, ConfigError, FileConfig};
use crate::auth::callers::{Caller, Callers};
use crate::cli::SettingsArgs;
use crate::token::{Alg, Audience, JwtSettings};

/// Used as the issuer when the embedded default runs without BETTER_AUTH_URL: Better Auth's
/// usual development origin.
pub const EMBEDDED_ORIGIN: &str = "http://localhost:3000";

/// One `[[callers]]` table of the TOML file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallerEntry {
    name: String,
    key_sha256: Option<String>,
    /// Under mutual TLS: a DNS/URI SAN or the CN of the caller's client certificate.
    client_cert_name: Option<String>,
    #[serde(default)]
    allow_user_id: bool,
    #[serde(default)]
    audiences: Vec<String>,
}

/// The file's JWT keys, taken out before the rest of the file is consumed.
#[derive(Debug, Default)]
pub struct FileJwt {
    alg: Option<String>,
    issuer: Option<String>,
    audience: Vec<String>,
    expiration: Option<u64>,
    max_lifetime: Option<u64>,
    leeway: Option<u64>,
    rotation_interval: Option<u64>,
    disable_encryption: Option<bool>,
    hs256: Option<bool>,
    verified_cache_entries: Option<u64>,
    reload_cooldown_ms: Option<u64>,
    check_user: Option<bool>,
    user_cache_ms: Option<u64>,
    callers: Vec<CallerEntry>,
}

pub fn take(f: &mut FileConfig) -> FileJwt {
    FileJwt {
        alg: f.jwt_alg.take(),
        issuer: f.jwt_issuer.take(),
        audience: std::mem::take(&mut f.jwt_audience),
        expiration: f.jwt_expiration.take(),
        max_lifetime: f.jwt_max_lifetime.take(),
        leeway: f.jwt_leeway.take(),
        rotation_interval: f.jwt_rotation_interval.take(),
        disable_encryption: f.jwt_disable_private_key_encryption.take(),
        hs256: f.jwt_hs256_shared_secret.take(),
        verified_cache_entries: f.jwt_verified_cache_entries.take(),
        reload_cooldown_ms: f.jwt_reload_cooldown_ms.take(),
        check_user: f.jwt_check_user.take(),
        user_cache_ms: f.jwt_user_cache_ms.take(),
        callers: std::mem::take(&mut f.callers),
    }
}

pub struct JwtPart {
    pub settings: Option<JwtSettings>,
    pub check_user: Option<Duration>,
    pub max_lifetime: Duration,
    pub callers: Callers,
}

pub fn build(
    a: &SettingsArgs,
    f: FileJwt,
    origin: Option<&str>,
    embedded_default: bool,
    max_token_bytes: usize,
) -> Result<JwtPart, ConfigError> {
    let callers = callers(f.callers)?;
    let alg_name = a
        .jwt_alg
        .clone()
        .or(f.alg)
        .unwrap_or_else(|| "EdDSA".into());
    let alg = Alg::parse(&alg_name).ok_or_else(|| {
        bad(
            "jwt_alg",
            format!("{alg_name:?} is not EdDSA, ES256, ES512, RS256 or PS256"),
        )
    })?;
    let secs = |setting: &'static str, v: Option<u64>, default: u64, max: u64| {
        bounded(setting, v, default, max).map(Duration::from_secs)
    };
    let lifetime = secs(
        "jwt_expiration",
        a.jwt_expiration.or(f.expiration),
        900,
        366 * 86_400,
    )?;
    let max_lifetime = secs(
        "jwt_max_lifetime",
        a.jwt_max_lifetime.or(f.max_lifetime),
        3600,
        366 * 86_400,
    )?;
    let leeway = secs("jwt_leeway", a.jwt_leeway.or(f.leeway), 0, 3600)?;
    if lifetime.is_zero() {
        return Err(bad("jwt_expiration", "must be at least 1 second"));
    }
    let rotation = a
        .jwt_rotation_interval
        .or(f.rotation_interval)
        .map(Duration::from_secs);
    let cooldown = Duration::from_millis(
        a.jwt_reload_cooldown_ms
            .or(f.reload_cooldown_ms)
            .unwrap_or(5000),
    );
    let verified_cache_entries = bounded(
        "jwt_verified_cache_entries",
        a.jwt_verified_cache_entries.or(f.verified_cache_entries),
        JwtSettings::DEFAULT_VERIFIED_CACHE_ENTRIES,
        10_000_000,
    )?;
    let check_user = a.jwt_check_user.or(f.check_user).unwrap_or(false);
    let cache = Duration::from_millis(a.jwt_user_cache_ms.or(f.user_cache_ms).unwrap_or(5000));
    let issuer = a
        .jwt_issuer
        .clone()
        .or(f.issuer)
        .or_else(|| origin.map(String::from));
    let issuer = issuer.or_else(|| embedded_default.then(|| EMBEDDED_ORIGIN.to_owned()));
    let settings = issuer.map(|issuer| {
        let audiences = if a.jwt_audience.is_empty() {
            f.audience
        } else {
            a.jwt_audience.clone()
        };
        let default_aud = origin.map_or_else(|| issuer.clone(), String::from);
        let mut s = JwtSettings::for_origin(issuer);
        s.audience = match audiences.len() {
            0 => Audience::One(default_aud),
            1 => Audience::One(audiences[0].clone()),
            _ => Audience::Many(audiences),
        };
        s.extra_audiences = callers_audiences(&callers);
        s.alg = alg;
        s.lifetime = lifetime;
        s.leeway = leeway;
        s.max_token_bytes = max_token_bytes;
        s.reload_cool_down = cooldown;
        s.rotation_interval = rotation;
        s.encrypt_private_keys = !a
            .jwt_disable_private_key_encryption
            .or(f.disable_encryption)
            .unwrap_or(false);
        s.allow_hs256_shared_secret = a.jwt_hs256_shared_secret.or(f.hs256).unwrap_or(false);
        s.verified_cache_entries = verified_cache_entries;
        s
    });
    Ok(JwtPart {
        settings,
        check_user: check_user.then_some(cache),
        max_lifetime,
        callers,
    })
}

fn callers(entries: Vec<CallerEntry>) -> Result<Callers, ConfigError> {
    let list = entries
        .into_iter()
        .map(|e| {
            Caller::with_credentials(
                e.name,
                e.key_sha256.as_deref(),
                e.client_cert_name,
                e.allow_user_id,
                e.audiences,
            )
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad("callers", e.to_string()))?;
    Ok(Callers::new(list))
}

fn callers_audiences(callers: &Callers) -> Vec<String> {
    let mut all: Vec<String> = callers
        .iter()
        .flat_map(|c| c.audiences.iter().cloned())
        .collect();
    all.sort();
    all.dedup();
    all
}
