//! `--cookie-cache`: whether, and how, Better Auth's `session_data` cookie is read.
use crate::auth::cookie_cache::{CookieCacheRules, Strategy};
use crate::auth::credential::CredentialRules;
use crate::cli::SettingsArgs;

/// The `iss` of the jwt plugin's cookie-cache JWTs when Better Auth has no base URL.
const NO_BASE_URL_ISSUER: &str = "better-auth:session-cache";

/// `None` when off (the default). The cookie is named like `dont_remember`: Better Auth's
/// `createCookie("session_data")` takes the prefix and `__Secure-`, never the session cookie's
/// own name override (`advanced.cookies.session_token.name`).
pub fn build(
    s: &SettingsArgs,
    credentials: &CredentialRules,
    origin: Option<&str>,
) -> Option<CookieCacheRules> {
    let strategy = strategy(&s.cookie_cache)?;
    let stem = credentials
        .dont_remember_cookie
        .strip_suffix("dont_remember")
        .unwrap_or("better-auth.");
    Some(CookieCacheRules {
        strategy,
        cookie_name: format!("{stem}session_data"),
        jwt_issuer: origin.unwrap_or(NO_BASE_URL_ISSUER).to_owned(),
    })
}

/// Clap has checked the name is one of these.
fn strategy(name: &str) -> Option<Strategy> {
    match name {
        "compact" => Some(Strategy::Compact),
        "jwt" => Some(Strategy::Jwt),
        "jwe" => Some(Strategy::Jwe),
        "auto" => Some(Strategy::Auto),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(dont_remember: &str) -> CredentialRules {
        CredentialRules {
            session_cookie: "sid".into(),
            dont_remember_cookie: dont_remember.into(),
            max_token_bytes: 8192,
            require_signature: false,
        }
    }

    fn with(v: Option<&str>) -> SettingsArgs {
        let flags: Vec<String> = v
            .map(|v| format!("--cookie-cache={v}"))
            .into_iter()
            .collect();
        SettingsArgs::from_flags(flags)
    }

    #[test]
    fn off_by_default_and_named_like_dont_remember() {
        let r = rules("__Secure-app.dont_remember");
        assert_eq!(build(&with(None), &r, None), None);
        assert_eq!(build(&with(Some("off")), &r, None), None);
        let c = build(&with(Some("jwe")), &r, Some("https://a.example")).unwrap();
        assert_eq!(c.strategy, Strategy::Jwe);
        assert_eq!(c.cookie_name, "__Secure-app.session_data");
        assert_eq!(c.jwt_issuer, "https://a.example");
        let c = build(
            &with(Some("auto")),
            &rules("better-auth.dont_remember"),
            None,
        )
        .unwrap();
        assert_eq!(c.cookie_name, "better-auth.session_data");
        assert_eq!(c.jwt_issuer, "better-auth:session-cache");
    }
}
