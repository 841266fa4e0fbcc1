//! Gateway mode: one decision per proxied request, for Envoy's ext_authz and the HTTP
//! forward-auth endpoint alike. The credential is `Authorization: Bearer …` or the session
//! cookie; the policy for the method and path says what the signed-in user needs; an allowed
//! request may get a JWT for the upstream, minted as IssueToken mints it.
use std::time::Duration;

use super::{
    callers::Caller,
    credential::CredentialKind,
    error::AuthError,
    issue::{IssueRequest, Subject as IssueSubject, TokenService},
    policy::{permits, Access, Policies, Refusal, Subject},
    validate::{Authenticator, Verified},
};
use crate::domain::reason::Reason;
use crate::store::StoreError;

/// What a proxy tells about the request it holds.
#[derive(Debug, Clone, Copy, Default)]
pub struct GatewayRequest<'a> {
    pub method: &'a str,
    /// Path and query, as sent by the client.
    pub uri: &'a str,
    pub authorization: Option<&'a str>,
    pub cookie: Option<&'a str>,
}

/// Who the request is from, for the identity headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: String,
    pub email: String,
    pub name: String,
    /// `None` for a JWT credential.
    pub session_id: Option<String>,
    pub kind: CredentialKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// `principal` is `None` on a public path.
    Allow {
        principal: Option<Principal>,
        upstream_jwt: Option<String>,
    },
    /// 401: no credential, or not a valid one.
    Unauthenticated(Reason),
    /// 403: signed in, but the policy refuses (or the path is ambiguous).
    Forbidden(Refusal),
}

/// `--gateway-jwt-audience`: a JWT for the upstream, this audience and lifetime.
#[derive(Debug, Clone)]
pub struct UpstreamJwt {
    pub audience: String,
    pub lifetime: Duration,
}

/// The header names gateway mode sets for the upstream (and removes from the client's request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityHeaders {
    pub user_id: String,
    pub user_email: String,
    pub user_name: String,
    pub session_id: String,
}

impl IdentityHeaders {
    pub fn all(&self) -> [&str; 4] {
        [
            &self.user_id,
            &self.user_email,
            &self.user_name,
            &self.session_id,
        ]
    }
}

/// A refusal as every transport answers it: HTTP status, reason, `WWW-Authenticate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Denial {
    pub status: u16,
    pub reason: &'static str,
    pub www_authenticate: Option<&'static str>,
}

impl Denial {
    /// `{"reason":"…"}`: reasons are fixed upper-case names, nothing to escape.
    pub fn body(&self) -> String {
        format!("{{\"reason\":\"{}\"}}", self.reason)
    }
}

/// What an allowed request carries upstream: headers to set (overwriting a client's), and the
/// identity headers not set, to remove (so none of the client's own reaches the upstream).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Upstream {
    pub set: Vec<(String, String)>,
    pub remove: Vec<String>,
}

impl Decision {
    pub fn denial(&self) -> Option<Denial> {
        match self {
            Decision::Allow { .. } => None,
            Decision::Unauthenticated(reason) => Some(Denial {
                status: 401,
                reason: reason.as_str(),
                www_authenticate: Some(if *reason == Reason::Empty {
                    "Bearer realm=\"better-auth\""
                } else {
                    "Bearer realm=\"better-auth\", error=\"invalid_token\""
                }),
            }),
            Decision::Forbidden(refusal) => Some(Denial {
                status: 403,
                reason: refusal.as_str(),
                www_authenticate: None,
            }),
        }
    }

    pub fn upstream(&self, names: &IdentityHeaders) -> Upstream {
        let Decision::Allow {
            principal,
            upstream_jwt,
        } = self
        else {
            return Upstream::default();
        };
        let mut set = Vec::new();
        if let Some(p) = principal {
            set.push((names.user_id.clone(), p.user_id.clone()));
            set.push((names.user_email.clone(), p.email.clone()));
            set.push((names.user_name.clone(), p.name.clone()));
            if let Some(id) = &p.session_id {
                set.push((names.session_id.clone(), id.clone()));
            }
        }
        if let Some(jwt) = upstream_jwt {
            set.push(("authorization".into(), format!("Bearer {jwt}")));
        }
        let remove = names
            .all()
            .into_iter()
            .filter(|n| !set.iter().any(|(k, _)| k == n))
            .map(String::from)
            .collect();
        Upstream { set, remove }
    }
}

#[derive(Clone)]
pub struct Gatekeeper {
    auth: Authenticator,
    policies: Policies,
    /// With the issuer it mints with, when upstream JWTs are on.
    upstream: Option<(UpstreamJwt, TokenService)>,
    db_timeout: Duration,
}

impl Gatekeeper {
    pub fn new(auth: Authenticator, policies: Policies, db_timeout: Duration) -> Self {
        Self {
            auth,
            policies,
            upstream: None,
            db_timeout,
        }
    }

    pub fn with_upstream_jwt(mut self, jwt: UpstreamJwt, tokens: TokenService) -> Self {
        self.upstream = Some((jwt, tokens));
        self
    }

    /// `Err` only when the answer cannot be known (database down, signing key unusable):
    /// never an allow.
    pub async fn check(&self, req: GatewayRequest<'_>) -> Result<Decision, AuthError> {
        let access = match self.policies.access(req.method, req.uri) {
            Ok(a) => a,
            Err(refusal) => return Ok(Decision::Forbidden(refusal)),
        };
        if access == Access::Public {
            return Ok(Decision::Allow {
                principal: None,
                upstream_jwt: None,
            });
        }
        let Some(credential) = credential(&req) else {
            return Ok(Decision::Unauthenticated(Reason::Empty));
        };
        let bounded = tokio::time::timeout(self.db_timeout, self.decide(credential, &access));
        bounded.await.unwrap_or_else(|_| {
            Err(AuthError::Store(StoreError::Unavailable(
                "database call timed out".into(),
            )))
        })
    }

    async fn decide(&self, credential: &str, access: &Access) -> Result<Decision, AuthError> {
        let verified = match self.auth.validate(credential, None).await {
            Ok(v) => v,
            Err(AuthError::Refused { reason, .. }) => return Ok(Decision::Unauthenticated(reason)),
            Err(e) => return Err(e),
        };
        let (principal, subject, issue_for) = facts(&verified, credential);
        if let Err(refusal) = permits(access, &subject) {
            return Ok(Decision::Forbidden(refusal));
        }
        let upstream_jwt = match &self.upstream {
            Some((jwt, tokens)) => Some(mint(jwt, tokens, issue_for).await?),
            None => None,
        };
        Ok(Decision::Allow {
            principal: Some(principal),
            upstream_jwt,
        })
    }
}

/// A bearer credential wins over cookies; another scheme (Basic) is not ours and is ignored.
fn credential<'a>(req: &GatewayRequest<'a>) -> Option<&'a str> {
    let bearer = req
        .authorization
        .map(str::trim)
        .filter(|a| a.len() > 7 && a[..7].eq_ignore_ascii_case("bearer "));
    bearer.or(req.cookie.map(str::trim).filter(|c| !c.is_empty()))
}

fn facts(v: &Verified, credential: &str) -> (Principal, Subject, IssueSubject) {
    match v {
        Verified::Session { kind, found } => (
            Principal {
                user_id: found.user.id.clone(),
                email: found.user.email.clone(),
                name: found.user.name.clone(),
                session_id: Some(found.session.id.clone()),
                kind: *kind,
            },
            Subject::of_user(&found.user),
            IssueSubject::Session(credential.to_owned()),
        ),
        Verified::Jwt { jwt, user } => {
            let text = |k: &str| {
                let claim = jwt.claims.get(k).and_then(|v| v.as_str());
                claim.unwrap_or_default().to_owned()
            };
            let principal = Principal {
                user_id: jwt.sub.clone(),
                email: user
                    .as_ref()
                    .map_or_else(|| text("email"), |u| u.email.clone()),
                name: user
                    .as_ref()
                    .map_or_else(|| text("name"), |u| u.name.clone()),
                session_id: None,
                kind: CredentialKind::Jwt,
            };
            let subject = user
                .as_ref()
                .map_or_else(|| Subject::of_claims(&jwt.claims), Subject::of_user);
            (principal, subject, IssueSubject::UserId(jwt.sub.clone()))
        }
    }
}

/// Through IssueToken's own path (ban check, user read from the database, the signing key),
/// as a caller allowed exactly the configured audience. The caller's key hash is all zeros and
/// it is in no caller list: no API key can ever name it.
async fn mint(
    jwt: &UpstreamJwt,
    tokens: &TokenService,
    subject: IssueSubject,
) -> Result<String, AuthError> {
    let caller = Caller::new(
        "gateway".into(),
        &"0".repeat(64),
        true,
        vec![jwt.audience.clone()],
    )
    .map_err(|e| AuthError::BadRequest(e.to_string()))?;
    let issued = tokens
        .issue(IssueRequest {
            caller: &caller,
            subject,
            audience: Some(jwt.audience.clone()),
            lifetime: Some(jwt.lifetime),
        })
        .await?;
    Ok(issued.token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(authorization: Option<&'a str>, cookie: Option<&'a str>) -> GatewayRequest<'a> {
        GatewayRequest {
            method: "GET",
            uri: "/",
            authorization,
            cookie,
        }
    }

    #[test]
    fn bearer_wins_other_schemes_fall_back_to_the_cookie() {
        assert_eq!(
            credential(&req(Some("Bearer abc"), Some("a=b"))),
            Some("Bearer abc")
        );
        assert_eq!(
            credential(&req(Some("bearer abc"), None)),
            Some("bearer abc")
        );
        assert_eq!(
            credential(&req(Some("Basic eDp5"), Some("a=b"))),
            Some("a=b")
        );
        assert_eq!(credential(&req(Some("Bearer "), None)), None);
        assert_eq!(credential(&req(None, Some("  "))), None);
        assert_eq!(credential(&req(None, None)), None);
    }
}
