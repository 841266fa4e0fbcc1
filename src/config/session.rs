//! Cookies, credential limits and the session policy, as Better Auth's options set them.
use std::time::Duration;

use chrono::TimeDelta;

use super::error::{bad, bounded, ConfigError};
use crate::auth::{credential::CredentialRules, session::SessionPolicy};
use crate::cli::SettingsArgs;

/// Better Auth keeps only the origin of its base URL (docs/better-auth-compat.md §5).
pub fn base_origin(s: &SettingsArgs) -> Result<Option<String>, ConfigError> {
    s.base_url
        .as_deref()
        .filter(|u| !u.is_empty())
        .map(origin)
        .transpose()
}

fn origin(u: &str) -> Result<String, ConfigError> {
    let url =
        url::Url::parse(u).map_err(|e| bad("base_url", format!("{u:?} is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("base_url", "must be an http:// or https:// URL"));
    }
    Ok(url.origin().ascii_serialization())
}

pub fn credentials(s: &SettingsArgs, origin: Option<&str>) -> Result<CredentialRules, ConfigError> {
    let secure = secure_cookies(s.secure_cookies.as_deref(), origin)?;
    let prefix = s.cookie_prefix.as_deref().unwrap_or("better-auth");
    Ok(CredentialRules {
        session_cookie: s
            .cookie_name
            .clone()
            .unwrap_or_else(|| cookie(secure, prefix, "session_token")),
        dont_remember_cookie: cookie(secure, prefix, "dont_remember"),
        max_token_bytes: max_token_bytes(s.max_token_bytes)?,
        require_signature: s.require_signature.unwrap_or(false),
    })
}

fn secure_cookies(v: Option<&str>, origin: Option<&str>) -> Result<bool, ConfigError> {
    match v.unwrap_or("auto") {
        "auto" => Ok(origin.is_some_and(|o| o.starts_with("https://"))),
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(bad(
            "secure_cookies",
            format!("{other:?} is not auto, true or false"),
        )),
    }
}

/// Why the session cookie has the name it has, for the start-up log. Better Auth without a
/// base URL prefixes `__Secure-` when NODE_ENV is production, which this service cannot see.
pub fn cookie_reason(s: &SettingsArgs, origin: Option<&str>) -> &'static str {
    if s.cookie_name.is_some() {
        return "set by cookie_name";
    }
    match (s.secure_cookies.as_deref().unwrap_or("auto"), origin) {
        ("true", _) => "secure_cookies is true",
        ("false", _) => "secure_cookies is false",
        (_, Some(o)) if o.starts_with("https://") => "BETTER_AUTH_URL is https, as Better Auth",
        (_, Some(_)) => "BETTER_AUTH_URL is http, as Better Auth",
        (_, None) => {
            "no BETTER_AUTH_URL: as Better Auth outside production; Better Auth with \
             NODE_ENV=production reads __Secure-…: set BETTER_AUTH_URL or secure_cookies"
        }
    }
}

fn cookie(secure: bool, prefix: &str, name: &str) -> String {
    format!("{}{prefix}.{name}", if secure { "__Secure-" } else { "" })
}

fn max_token_bytes(v: Option<usize>) -> Result<usize, ConfigError> {
    let n = v.unwrap_or(8192);
    if !(64..=1 << 20).contains(&n) {
        return Err(bad("max_token_bytes", "must be between 64 and 1048576"));
    }
    Ok(n)
}

pub fn policy(s: &SettingsArgs) -> Result<SessionPolicy, ConfigError> {
    Ok(SessionPolicy {
        expires_in: seconds("session_expires_in", s.session_expires_in, 604_800)?,
        update_age: seconds("session_update_age", s.session_update_age, 86_400)?,
        disable_refresh: s.disable_session_refresh.unwrap_or(false),
        read_only: s.read_only.unwrap_or(false),
        cache_ttl: Duration::from_millis(bounded(
            "session_cache_ms",
            s.session_cache_ms,
            0,
            300_000,
        )?),
        cache_entries: bounded(
            "session_cache_entries",
            s.session_cache_entries,
            10_000,
            10_000_000,
        )?,
    })
}

fn seconds(setting: &'static str, v: Option<i64>, default: i64) -> Result<TimeDelta, ConfigError> {
    let n = v.unwrap_or(default);
    if !(0..=10 * 365 * 86_400).contains(&n) {
        return Err(bad(
            setting,
            "must be a number of seconds between 0 and ten years",
        ));
    }
    Ok(TimeDelta::seconds(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(cookie_name: Option<&str>, secure: Option<&str>, base: Option<&str>) -> &'static str {
        let s = SettingsArgs {
            cookie_name: cookie_name.map(String::from),
            secure_cookies: secure.map(String::from),
            ..Default::default()
        };
        cookie_reason(&s, base)
    }

    #[test]
    fn the_reason_names_what_decided_the_cookie() {
        let https = Some("https://app.example.com");
        let http = Some("http://localhost:3000");
        assert_eq!(
            reason(Some("sid"), Some("true"), https),
            "set by cookie_name"
        );
        assert_eq!(reason(None, Some("true"), None), "secure_cookies is true");
        assert_eq!(
            reason(None, Some("false"), https),
            "secure_cookies is false"
        );
        assert!(reason(None, None, https).starts_with("BETTER_AUTH_URL is https"));
        assert!(reason(None, Some("auto"), http).starts_with("BETTER_AUTH_URL is http,"));
        assert!(reason(None, None, None).contains("NODE_ENV=production"));
    }
}
