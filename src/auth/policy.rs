//! Gateway policies: which requests need what. A policy names a path prefix (whole segments:
//! `/admin` covers `/admin` and `/admin/x`, not `/administrator`) and optionally methods; the
//! longest matching prefix wins, a policy with methods over one without at the same length.
//! No matching policy means "signed in".
use crate::domain::model::User;

/// What a matched request needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// No credential needed; identity headers are still removed from the request.
    Public,
    SignedIn,
    /// A signed-in user whose `emailVerified` is true.
    VerifiedEmail,
    /// A signed-in user with one of these admin-plugin roles (`role` may list several, comma-separated).
    Roles(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub path_prefix: String,
    /// Upper-case methods; empty = any.
    pub methods: Vec<String>,
    pub access: Access,
}

/// Why a signed-in user is refused (403); the wire names are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    EmailNotVerified,
    RoleRequired,
    /// `.`/`..` segments, `//` or percent-encoded `/`, `\` or `.`: a proxy or upstream could
    /// resolve the path to another policy's prefix, so it is refused before any match.
    PathNotNormalized,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::EmailNotVerified => "EMAIL_NOT_VERIFIED",
            Refusal::RoleRequired => "ROLE_REQUIRED",
            Refusal::PathNotNormalized => "PATH_NOT_NORMALIZED",
        }
    }
}

/// The user facts a policy looks at, from a user row or a JWT's claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub email_verified: bool,
    pub roles: Vec<String>,
}

impl Subject {
    pub fn of_user(u: &User) -> Self {
        let role = u.extra.iter().find(|(k, _)| k == "role").map(|(_, v)| v);
        Self {
            email_verified: u.email_verified,
            roles: roles(role.and_then(|v| v.as_str())),
        }
    }

    pub fn of_claims(claims: &serde_json::Map<String, serde_json::Value>) -> Self {
        Self {
            email_verified: claims
                .get("emailVerified")
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
            roles: roles(claims.get("role").and_then(|v| v.as_str())),
        }
    }
}

/// The admin plugin stores several roles as `"admin,support"`.
fn roles(role: Option<&str>) -> Vec<String> {
    role.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(String::from)
        .collect()
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policies {
    list: Vec<Policy>,
}

impl Policies {
    pub fn new(list: Vec<Policy>) -> Self {
        Self { list }
    }

    /// What a request for `uri` (path, maybe with a query) with `method` needs.
    pub fn access(&self, method: &str, uri: &str) -> Result<Access, Refusal> {
        let path = path_of(uri);
        if !is_normalized(path) {
            return Err(Refusal::PathNotNormalized);
        }
        let best = self
            .list
            .iter()
            .filter(|p| covers(&p.path_prefix, path))
            .filter(|p| p.methods.is_empty() || p.methods.iter().any(|m| m == method))
            .max_by_key(|p| (p.path_prefix.len(), !p.methods.is_empty()));
        Ok(best.map_or(Access::SignedIn, |p| p.access.clone()))
    }
}

/// Whether a signed-in subject may pass `access`.
pub fn permits(access: &Access, subject: &Subject) -> Result<(), Refusal> {
    match access {
        Access::Public | Access::SignedIn => Ok(()),
        Access::VerifiedEmail if subject.email_verified => Ok(()),
        Access::VerifiedEmail => Err(Refusal::EmailNotVerified),
        Access::Roles(want) if subject.roles.iter().any(|r| want.contains(r)) => Ok(()),
        Access::Roles(_) => Err(Refusal::RoleRequired),
    }
}

fn path_of(uri: &str) -> &str {
    let end = uri.find(['?', '#']).unwrap_or(uri.len());
    &uri[..end]
}

fn covers(prefix: &str, path: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

fn is_normalized(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let encoded = ["%2f", "%5c", "%2e"].iter().any(|e| lower.contains(e));
    let dots = path.split('/').any(|s| s == "." || s == "..");
    path.starts_with('/') && !encoded && !dots && !path.contains("//") && !path.contains('\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(prefix: &str, methods: &[&str], access: Access) -> Policy {
        Policy {
            path_prefix: prefix.into(),
            methods: methods.iter().map(|m| m.to_string()).collect(),
            access,
        }
    }

    fn sample() -> Policies {
        Policies::new(vec![
            policy("/public", &[], Access::Public),
            policy("/admin", &[], Access::Roles(vec!["admin".into()])),
            policy("/admin/reports", &["GET"], Access::SignedIn),
            policy("/billing/", &[], Access::VerifiedEmail),
        ])
    }

    #[test]
    fn longest_prefix_on_whole_segments_then_methods() {
        let p = sample();
        assert_eq!(p.access("GET", "/public/a?x=1"), Ok(Access::Public));
        assert_eq!(p.access("GET", "/publicity"), Ok(Access::SignedIn));
        assert_eq!(
            p.access("GET", "/admin"),
            Ok(Access::Roles(vec!["admin".into()]))
        );
        assert_eq!(p.access("GET", "/admin/reports/1"), Ok(Access::SignedIn));
        let admin = Access::Roles(vec!["admin".into()]);
        assert_eq!(p.access("POST", "/admin/reports/1"), Ok(admin));
        assert_eq!(p.access("GET", "/billing"), Ok(Access::VerifiedEmail));
        assert_eq!(p.access("GET", "/"), Ok(Access::SignedIn));
        assert_eq!(
            Policies::default().access("GET", "/x"),
            Ok(Access::SignedIn)
        );
    }

    #[test]
    fn paths_a_proxy_could_resolve_elsewhere_are_refused() {
        let p = sample();
        for bad in [
            "/public/../admin",
            "/public/./x",
            "/public%2F..%2Fadmin",
            "//admin",
            "/a\\b",
            "x",
        ] {
            assert_eq!(
                p.access("GET", bad),
                Err(Refusal::PathNotNormalized),
                "{bad}"
            );
        }
    }

    #[test]
    fn roles_and_verified_email() {
        let s = Subject {
            email_verified: false,
            roles: roles(Some("user, support")),
        };
        assert_eq!(permits(&Access::SignedIn, &s), Ok(()));
        assert_eq!(permits(&Access::Roles(vec!["support".into()]), &s), Ok(()));
        let admin = Access::Roles(vec!["admin".into()]);
        assert_eq!(permits(&admin, &s), Err(Refusal::RoleRequired));
        assert_eq!(
            permits(&Access::VerifiedEmail, &s),
            Err(Refusal::EmailNotVerified)
        );
        let claims = serde_json::json!({"emailVerified": true, "role": "admin"});
        let c = Subject::of_claims(claims.as_object().unwrap());
        assert_eq!(permits(&admin, &c), Ok(()));
        assert_eq!(permits(&Access::VerifiedEmail, &c), Ok(()));
    }
}
