//! Cookies, credential limits and the session policy, as Better Auth's options set them.
use std::time::Duration;

use chrono::TimeDelta;

use super::database::DbKind;
use super::defaults::FEED_SESSION_CACHE;
use super::error::{bad, ConfigError};
use crate::auth::{credential::CredentialRules, session::SessionPolicy};
use crate::cli::{CacheMs, SettingsArgs};

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
    let secure = secure_cookies(&s.secure_cookies, origin);
    let prefix = s.cookie_prefix.as_str();
    Ok(CredentialRules {
        session_cookie: s
            .cookie_name
            .clone()
            .unwrap_or_else(|| cookie(secure, prefix, "session_token")),
        dont_remember_cookie: cookie(secure, prefix, "dont_remember"),
        max_token_bytes: s.max_token_bytes,
        require_signature: s.require_signature,
    })
}

/// Clap has checked the value is `auto`, `true` or `false`.
fn secure_cookies(v: &str, origin: Option<&str>) -> bool {
    match v {
        "true" => true,
        "false" => false,
        _ => origin.is_some_and(|o| o.starts_with("https://")),
    }
}

/// Why the session cookie has the name it has, for the start-up log. Better Auth without a
/// base URL prefixes `__Secure-` when NODE_ENV is production, which this service cannot see.
pub fn cookie_reason(s: &SettingsArgs, origin: Option<&str>) -> &'static str {
    if s.cookie_name.is_some() {
        return "set by cookie_name";
    }
    match (s.secure_cookies.as_str(), origin) {
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

/// `kind`: `--session-cache-ms auto` caches on PostgreSQL only, where a lookup is a network round
/// trip (and Neon compute); a SQLite lookup is in-process, so there a sign-out stays refused at
/// the next call unless a number turns the cache on (its staleness then bounded by the feed).
pub fn policy(s: &SettingsArgs, kind: DbKind) -> SessionPolicy {
    SessionPolicy {
        expires_in: TimeDelta::seconds(s.session_expires_in),
        update_age: TimeDelta::seconds(s.session_update_age),
        disable_refresh: s.disable_session_refresh,
        read_only: s.read_only,
        cache_ttl: match s.session_cache_ms {
            CacheMs::Auto if kind == DbKind::Sqlite => Duration::ZERO,
            CacheMs::Auto => FEED_SESSION_CACHE,
            CacheMs::Ms(ms) => Duration::from_millis(ms),
        },
        cache_entries: s.session_cache_entries,
        cache_stale_ok: s.session_cache_ms != CacheMs::Auto,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(cookie_name: Option<&str>, secure: Option<&str>, base: Option<&str>) -> &'static str {
        let s = SettingsArgs {
            cookie_name: cookie_name.map(String::from),
            secure_cookies: secure.unwrap_or("auto").into(),
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
