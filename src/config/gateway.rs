//! Gateway mode: the file's `[[policies]]`, the identity header names, the optional upstream
//! JWT and the HTTP forward-auth listener.
use std::{net::SocketAddr, time::Duration};

use super::error::{bad, ConfigError};
use super::policy_entry::PolicyEntry;
use crate::auth::gateway::{IdentityHeaders, UpstreamJwt};
use crate::auth::policy::{Access, Policies, Policy};
use crate::cli::SettingsArgs;

#[derive(Debug, Clone)]
pub struct GatewayConfig {
    pub policies: Policies,
    pub headers: IdentityHeaders,
    pub upstream_jwt: Option<UpstreamJwt>,
    pub http_auth_addr: Option<SocketAddr>,
}

/// What the upstream JWT is checked against: IssueToken's own bounds.
pub struct JwtBounds<'a> {
    pub max_lifetime: Duration,
    /// The deployment's accepted audiences; `None` when JWTs are off (no issuer).
    pub audiences: Option<&'a [String]>,
}

pub fn build(s: &SettingsArgs, jwt: JwtBounds<'_>) -> Result<GatewayConfig, ConfigError> {
    let policies = s
        .file
        .policies
        .iter()
        .map(policy)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(GatewayConfig {
        policies: Policies::new(policies),
        headers: headers(&s.gateway_header_prefix)?,
        upstream_jwt: upstream_jwt(s, &jwt)?,
        http_auth_addr: s.http_auth_addr,
    })
}

fn policy(e: &PolicyEntry) -> Result<Policy, ConfigError> {
    let name = &e.path_prefix;
    if !name.starts_with('/') {
        return Err(bad(
            "policies",
            format!("path_prefix {name:?} must start with /"),
        ));
    }
    let access = match (e.access.as_str(), e.roles.is_empty()) {
        ("public", true) => Access::Public,
        ("signed-in", true) => Access::SignedIn,
        ("verified-email", true) => Access::VerifiedEmail,
        ("role", false) => Access::Roles(e.roles.clone()),
        ("role", true) => {
            return Err(bad(
                "policies",
                format!("{name}: access \"role\" needs roles"),
            ))
        }
        (_, false) => {
            return Err(bad(
                "policies",
                format!("{name}: roles only go with access \"role\""),
            ))
        }
        (other, true) => {
            return Err(bad(
                "policies",
                format!(
                    "{name}: access {other:?} is not public, signed-in, verified-email or role"
                ),
            ))
        }
    };
    Ok(Policy {
        path_prefix: e.path_prefix.clone(),
        methods: e.methods.iter().map(|m| m.to_ascii_uppercase()).collect(),
        access,
    })
}

fn headers(prefix: &str) -> Result<IdentityHeaders, ConfigError> {
    let valid = prefix
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid {
        return Err(bad(
            "gateway_header_prefix",
            "letters, digits, - and _ only (an HTTP header name's start)",
        ));
    }
    let p = prefix.to_ascii_lowercase();
    Ok(IdentityHeaders {
        user_id: format!("{p}user-id"),
        user_email: format!("{p}user-email"),
        user_name: format!("{p}user-name"),
        session_id: format!("{p}session-id"),
    })
}

fn upstream_jwt(s: &SettingsArgs, jwt: &JwtBounds) -> Result<Option<UpstreamJwt>, ConfigError> {
    let Some(audience) = s.gateway_jwt_audience.clone().filter(|a| !a.is_empty()) else {
        return Ok(None);
    };
    match jwt.audiences {
        None => {
            return Err(bad(
                "gateway_jwt_audience",
                "JWT issuing is off: set BETTER_AUTH_URL (or --jwt-issuer)",
            ))
        }
        Some(known) if !known.contains(&audience) => {
            return Err(bad(
                "gateway_jwt_audience",
                format!("{audience:?} is not one of jwt_audience {known:?}: add it there"),
            ))
        }
        Some(_) => {}
    }
    let (lifetime, max) = (
        Duration::from_secs(s.gateway_jwt_lifetime),
        jwt.max_lifetime,
    );
    if lifetime > max {
        return Err(bad(
            "gateway_jwt_lifetime",
            format!(
                "{} is above jwt_max_lifetime ({})",
                lifetime.as_secs(),
                max.as_secs()
            ),
        ));
    }
    Ok(Some(UpstreamJwt { audience, lifetime }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(access: &str, roles: &[&str]) -> PolicyEntry {
        PolicyEntry {
            path_prefix: "/a".into(),
            methods: vec!["get".into()],
            access: access.into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
        }
    }

    #[test]
    fn policies_are_checked_by_name() {
        let p = policy(&entry("role", &["admin"])).unwrap();
        assert_eq!(p.access, Access::Roles(vec!["admin".into()]));
        assert_eq!(p.methods, ["GET"]);
        assert_eq!(
            policy(&entry("public", &[])).unwrap().access,
            Access::Public
        );
        for bad in [
            entry("role", &[]),
            entry("public", &["x"]),
            entry("open", &[]),
        ] {
            assert!(policy(&bad).is_err(), "{bad:?}");
        }
        let mut relative = entry("public", &[]);
        relative.path_prefix = "a".into();
        assert!(policy(&relative).is_err());
    }

    #[test]
    fn header_names_and_the_upstream_jwt() {
        let h = headers("X-Auth-").unwrap();
        assert_eq!(
            h.all(),
            [
                "x-auth-user-id",
                "x-auth-user-email",
                "x-auth-user-name",
                "x-auth-session-id"
            ]
        );
        assert!(headers("x:").is_err());
        let s =
            SettingsArgs::from_flags(["--gateway-jwt-audience=api", "--gateway-jwt-lifetime=120"]);
        let known = ["https://a.example".to_owned(), "api".to_owned()];
        let bounds = |secs, audiences| JwtBounds {
            max_lifetime: Duration::from_secs(secs),
            audiences,
        };
        let j = upstream_jwt(&s, &bounds(3600, Some(&known)))
            .unwrap()
            .unwrap();
        assert_eq!((j.audience.as_str(), j.lifetime.as_secs()), ("api", 120));
        assert!(upstream_jwt(&s, &bounds(60, Some(&known))).is_err());
        assert!(upstream_jwt(&s, &bounds(3600, Some(&known[..1]))).is_err());
        assert!(upstream_jwt(&s, &bounds(3600, None)).is_err());
        let off = upstream_jwt(&SettingsArgs::default(), &bounds(0, None));
        assert!(off.unwrap().is_none());
    }
}
