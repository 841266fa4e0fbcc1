//! IssueToken: who may get a JWT for whom. The holder of a live session gets one for its own
//! user (like Better Auth's GET /api/auth/token); a user id needs a caller allowed to ask.
use std::{sync::Arc, time::Duration};

use super::{callers::Caller, error::AuthError, fresh_user::is_banned, validate::Authenticator};
use crate::domain::{model::User, reason::Reason};
use crate::store::Store;
use crate::token::{IssueOptions, IssuedJwt, Issuer};

pub enum Subject {
    /// Any session credential form ValidateToken accepts.
    Session(String),
    UserId(String),
}

pub struct IssueRequest<'a> {
    pub caller: &'a Caller,
    pub subject: Subject,
    pub audience: Option<String>,
    pub lifetime: Option<Duration>,
}

#[derive(Clone)]
pub struct TokenService {
    auth: Authenticator,
    store: Arc<dyn Store>,
    issuer: Arc<Issuer>,
    max_lifetime: Duration,
    /// The deployment's own audiences: any caller may ask for these.
    default_audiences: Vec<String>,
}

impl TokenService {
    pub fn new(
        auth: Authenticator,
        store: Arc<dyn Store>,
        issuer: Arc<Issuer>,
        max_lifetime: Duration,
        default_audiences: Vec<String>,
    ) -> Self {
        Self {
            auth,
            store,
            issuer,
            max_lifetime,
            default_audiences,
        }
    }

    pub fn issuer(&self) -> &Arc<Issuer> {
        &self.issuer
    }

    pub async fn issue(&self, req: IssueRequest<'_>) -> Result<IssuedJwt, AuthError> {
        let audience = self.permitted_audience(req.caller, req.audience)?;
        let lifetime = self.permitted_lifetime(req.lifetime)?;
        let user = self.user_of(req.caller, req.subject).await?;
        // Better Auth refuses a banned user a session; a JWT would outlast any later check.
        if is_banned(&user, self.auth.now()) {
            return Err(AuthError::UserBanned);
        }
        let opts = IssueOptions {
            audience,
            lifetime,
            now: None,
        };
        Ok(self.issuer.issue(&user, opts).await?)
    }

    /// The subject's user, read from the database (never a cache).
    async fn user_of(&self, caller: &Caller, subject: Subject) -> Result<User, AuthError> {
        match subject {
            Subject::Session(credential) => Ok(self.auth.session_of(&credential).await?.user),
            Subject::UserId(id) => {
                if !caller.allow_user_id {
                    return Err(AuthError::Denied(format!(
                        "caller {:?} may not ask for a user id (allow_user_id = false)",
                        caller.name
                    )));
                }
                self.store.find_user(&id).await?.ok_or(AuthError::Refused {
                    kind: None,
                    reason: Reason::UserNotFound,
                })
            }
        }
    }

    fn permitted_audience(
        &self,
        caller: &Caller,
        audience: Option<String>,
    ) -> Result<Option<String>, AuthError> {
        match audience.filter(|a| !a.is_empty()) {
            None => Ok(None),
            Some(a) if caller.audiences.contains(&a) || self.default_audiences.contains(&a) => {
                Ok(Some(a))
            }
            Some(a) => Err(AuthError::Denied(format!(
                "caller {:?} may not ask for audience {a:?} (not in its audiences)",
                caller.name
            ))),
        }
    }

    fn permitted_lifetime(
        &self,
        lifetime: Option<Duration>,
    ) -> Result<Option<Duration>, AuthError> {
        match lifetime {
            Some(l) if l.is_zero() || l > self.max_lifetime => Err(AuthError::BadRequest(format!(
                "lifetime_seconds must be between 1 and {} (jwt_max_lifetime)",
                self.max_lifetime.as_secs()
            ))),
            other => Ok(other),
        }
    }
}
