//! The jwt plugin's settings as this service needs them.
use std::time::Duration;

use super::error::{bad, bounded, ConfigError};
use crate::auth::callers::Callers;
use crate::cli::SettingsArgs;
use crate::token::{Alg, Audience, JwtSettings};

/// Used as the issuer when the embedded default runs without BETTER_AUTH_URL: Better Auth's
/// usual development origin.
pub const EMBEDDED_ORIGIN: &str = "http://localhost:3000";

pub struct JwtPart {
    pub settings: Option<JwtSettings>,
    pub check_user: Option<Duration>,
    pub max_lifetime: Duration,
}

/// What the JWT settings depend on besides their own.
pub struct Context<'a> {
    pub origin: Option<&'a str>,
    pub embedded_default: bool,
    pub max_token_bytes: usize,
    pub callers: &'a Callers,
}

pub fn build(s: &SettingsArgs, cx: Context<'_>) -> Result<JwtPart, ConfigError> {
    let alg = alg(s)?;
    let lifetime = secs("jwt_expiration", s.jwt_expiration, 900, 366 * 86_400)?;
    let max_lifetime = secs("jwt_max_lifetime", s.jwt_max_lifetime, 3600, 366 * 86_400)?;
    let leeway = secs("jwt_leeway", s.jwt_leeway, 0, 3600)?;
    if lifetime.is_zero() {
        return Err(bad("jwt_expiration", "must be at least 1 second"));
    }
    let verified_cache_entries = bounded(
        "jwt_verified_cache_entries",
        s.jwt_verified_cache_entries,
        JwtSettings::DEFAULT_VERIFIED_CACHE_ENTRIES,
        10_000_000,
    )?;
    // The staleness of the ban check: an hour at most (and so far below moka's limit, which
    // panics at start-up instead of refusing).
    let user_cache = Duration::from_millis(bounded(
        "jwt_user_cache_ms",
        s.jwt_user_cache_ms,
        5000,
        3_600_000,
    )?);
    let settings = issuer(s, &cx).map(|issuer| {
        let mut j = JwtSettings::for_origin(issuer);
        j.audience = audience(s, cx.origin, &j.issuer);
        j.extra_audiences = callers_audiences(cx.callers);
        j.alg = alg;
        j.lifetime = lifetime;
        j.leeway = leeway;
        j.max_token_bytes = cx.max_token_bytes;
        j.reload_cool_down = Duration::from_millis(s.jwt_reload_cooldown_ms.unwrap_or(5000));
        j.rotation_interval = s.jwt_rotation_interval.map(Duration::from_secs);
        j.encrypt_private_keys = !s.jwt_disable_private_key_encryption.unwrap_or(false);
        j.allow_hs256_shared_secret = s.jwt_hs256_shared_secret.unwrap_or(false);
        j.verified_cache_entries = verified_cache_entries;
        j
    });
    Ok(JwtPart {
        settings,
        check_user: s.jwt_check_user.unwrap_or(false).then_some(user_cache),
        max_lifetime,
    })
}

fn alg(s: &SettingsArgs) -> Result<Alg, ConfigError> {
    let name = s.jwt_alg.as_deref().unwrap_or("EdDSA");
    Alg::parse(name).ok_or_else(|| {
        bad(
            "jwt_alg",
            format!("{name:?} is not EdDSA, ES256, ES512, RS256 or PS256"),
        )
    })
}

fn secs(
    setting: &'static str,
    v: Option<u64>,
    default: u64,
    max: u64,
) -> Result<Duration, ConfigError> {
    bounded(setting, v, default, max).map(Duration::from_secs)
}

/// No issuer is known without BETTER_AUTH_URL (except for the embedded default): no JWTs then.
fn issuer(s: &SettingsArgs, cx: &Context<'_>) -> Option<String> {
    s.jwt_issuer
        .clone()
        .or_else(|| cx.origin.map(String::from))
        .or_else(|| cx.embedded_default.then(|| EMBEDDED_ORIGIN.to_owned()))
}

/// Several audiences make an array, as in Better Auth; none means the origin (else the issuer).
fn audience(s: &SettingsArgs, origin: Option<&str>, issuer: &str) -> Audience {
    match s.jwt_audience.as_slice() {
        [] => Audience::One(origin.unwrap_or(issuer).to_owned()),
        [one] => Audience::One(one.clone()),
        many => Audience::Many(many.to_vec()),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn build_with(s: &SettingsArgs) -> Result<JwtPart, ConfigError> {
        let callers = Callers::new(vec![]);
        let cx = Context {
            origin: Some("https://app.example.com"),
            embedded_default: false,
            max_token_bytes: 8192,
            callers: &callers,
        };
        build(s, cx)
    }

    #[test]
    fn a_huge_user_cache_is_a_config_error_not_a_panic_later() {
        let mut s = SettingsArgs {
            jwt_check_user: Some(true),
            jwt_user_cache_ms: Some(u64::MAX),
            ..Default::default()
        };
        let e = build_with(&s).err().map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("jwt_user_cache_ms: must be at most 3600000")
        );
        s.jwt_user_cache_ms = Some(3_600_000);
        let part = build_with(&s).ok().and_then(|p| p.check_user);
        assert_eq!(part, Some(Duration::from_millis(3_600_000)));
    }
}
