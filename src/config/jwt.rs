//! The jwt plugin's settings as this service needs them.
use std::time::Duration;

use super::error::{bad, ConfigError};
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
    let settings = issuer(s, &cx).map(|issuer| {
        let mut j = JwtSettings::for_origin(issuer);
        j.audience = audience(s, cx.origin, &j.issuer);
        j.extra_audiences = callers_audiences(cx.callers);
        j.alg = alg;
        j.lifetime = Duration::from_secs(s.jwt_expiration);
        j.leeway = Duration::from_secs(s.jwt_leeway);
        j.max_token_bytes = cx.max_token_bytes;
        j.reload_cool_down = Duration::from_millis(s.jwt_reload_cooldown_ms);
        j.rotation_interval = s.jwt_rotation_interval.map(Duration::from_secs);
        j.encrypt_private_keys = !s.jwt_disable_private_key_encryption;
        j.allow_hs256_shared_secret = s.jwt_hs256_shared_secret;
        j.verified_cache_entries = s.jwt_verified_cache_entries;
        j
    });
    let user_cache = Duration::from_millis(s.jwt_user_cache_ms);
    Ok(JwtPart {
        settings,
        check_user: s.jwt_check_user.then_some(user_cache),
        max_lifetime: Duration::from_secs(s.jwt_max_lifetime),
    })
}

/// Clap has checked the name is one of the five.
fn alg(s: &SettingsArgs) -> Result<Alg, ConfigError> {
    Alg::parse(&s.jwt_alg).ok_or_else(|| bad("jwt_alg", format!("{:?} is not an alg", s.jwt_alg)))
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

    /// Clap refuses the value that would make moka panic at start-up.
    #[test]
    fn a_huge_user_cache_is_a_config_error_not_a_panic_later() {
        let e = SettingsArgs::try_from_flags(["--jwt-user-cache-ms", &u64::MAX.to_string()]);
        let e = e.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            e.contains("--jwt-user-cache-ms") && e.contains("is not in 0..=3600000"),
            "{e}"
        );
        let s = SettingsArgs::from_flags(["--jwt-check-user", "--jwt-user-cache-ms", "3600000"]);
        let part = build_with(&s).ok().and_then(|p| p.check_user);
        assert_eq!(part, Some(Duration::from_millis(3_600_000)));
    }
}
