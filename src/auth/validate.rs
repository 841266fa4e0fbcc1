//! The two questions callers ask: "is this credential valid?" (read-only) and
//! "what is this session?" (get-session, with its side effects).
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{
    cookie_cache::CookieCache,
    credential::{self, Credential, CredentialKind, CredentialRules},
    error::AuthError,
    fresh_user::UserCheck,
    session::{SessionError, SessionService},
};
use crate::clock::SharedClock;
use crate::domain::{
    model::{SessionAndUser, User},
    reason::Reason,
    secret::Secrets,
};
use crate::token::{VerifiedJwt, Verifier, VerifyOptions};

/// A credential that checked out.
#[derive(Debug, Clone)]
pub enum Verified {
    Session {
        kind: CredentialKind,
        found: SessionAndUser,
    },
    Jwt {
        jwt: VerifiedJwt,
        /// The user row, when `--jwt-check-user` looked it up.
        user: Option<User>,
    },
}

/// JWT verification, when the deployment's issuer is known.
#[derive(Clone)]
pub struct JwtCheck {
    pub verifier: Arc<Verifier>,
    pub users: Option<UserCheck>,
}

#[derive(Clone)]
pub struct Authenticator {
    rules: CredentialRules,
    secrets: Arc<Secrets>,
    sessions: SessionService,
    jwt: Option<JwtCheck>,
    clock: SharedClock,
    /// `--cookie-cache`: Better Auth's session_data cookie, read before the database.
    cookie_cache: Option<CookieCache>,
}

impl Authenticator {
    pub fn new(
        rules: CredentialRules,
        secrets: Arc<Secrets>,
        sessions: SessionService,
        jwt: Option<JwtCheck>,
        clock: SharedClock,
    ) -> Self {
        Self {
            rules,
            secrets,
            sessions,
            jwt,
            clock,
            cookie_cache: None,
        }
    }

    pub fn with_cookie_cache(mut self, cache: Option<CookieCache>) -> Self {
        self.cookie_cache = cache;
        self
    }

    pub fn parse(&self, input: &str) -> Result<Credential, AuthError> {
        Ok(credential::parse(
            input,
            &self.rules,
            self.secrets.current(),
        )?)
    }

    /// ValidateToken: never writes.
    pub async fn validate(
        &self,
        input: &str,
        audience: Option<&str>,
    ) -> Result<Verified, AuthError> {
        match self.parse(input)? {
            Credential::Session { token, kind, .. } => {
                let found = match self.cached_session(input, &token, kind).await {
                    Some(found) => found,
                    None => self.validate_session(&token, kind).await?,
                };
                Ok(Verified::Session { kind, found })
            }
            Credential::Jwt(jwt) => self.validate_jwt(&jwt, audience).await,
        }
    }

    /// A live session for a session credential, read from the database (never the session
    /// cache: a JWT minted from it outlives a sign-out); JWTs are refused (they are not sessions).
    pub async fn session_of(&self, input: &str) -> Result<SessionAndUser, AuthError> {
        match self.parse(input)? {
            Credential::Session { token, kind, .. } => self
                .sessions
                .find_live(&token)
                .await
                .map_err(|e| lift(kind, e)),
            Credential::Jwt(_) => Err(AuthError::refused(CredentialKind::Jwt, Reason::Unsupported)),
        }
    }

    /// The injected clock's now (ban ends are judged against it).
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// A `Cookie` header's valid session_data cookie answers as Better Auth's get-session
    /// answers from it: without the database. The session cookie's signature was checked first.
    async fn cached_session(
        &self,
        input: &str,
        token: &str,
        kind: CredentialKind,
    ) -> Option<SessionAndUser> {
        match (&self.cookie_cache, kind) {
            (Some(cache), CredentialKind::SessionCookie) => cache.lookup(input.trim(), token).await,
            _ => None,
        }
    }

    async fn validate_session(
        &self,
        token: &str,
        kind: CredentialKind,
    ) -> Result<SessionAndUser, AuthError> {
        self.sessions
            .validate(token)
            .await
            .map_err(|e| lift(kind, e))
    }

    async fn validate_jwt(
        &self,
        token: &str,
        audience: Option<&str>,
    ) -> Result<Verified, AuthError> {
        let Some(check) = &self.jwt else {
            return Err(AuthError::refused(CredentialKind::Jwt, Reason::Unsupported));
        };
        let jwt = check
            .verifier
            .verify(token, VerifyOptions { audience })
            .await?;
        let user = match &check.users {
            Some(users) => Some(users.check(&jwt.sub, self.clock.now()).await?),
            None => None,
        };
        Ok(Verified::Jwt { jwt, user })
    }

    /// GetSession: what Better Auth's get-session answers, with refresh and expiry deletion.
    pub async fn get_session(
        &self,
        input: &str,
        disable_refresh: bool,
    ) -> Result<SessionAndUser, AuthError> {
        match self.parse(input)? {
            Credential::Session {
                token,
                kind,
                dont_remember,
            } => {
                // A cache hit is answered as it is: Better Auth neither refreshes nor writes then.
                if let Some(found) = self.cached_session(input, &token, kind).await {
                    return Ok(found);
                }
                self.sessions
                    .get_session(&token, disable_refresh || dont_remember)
                    .await
                    .map_err(|e| lift(kind, e))
            }
            // Better Auth's get-session reads cookies only; a JWT is not a session credential.
            Credential::Jwt(_) => Err(AuthError::refused(CredentialKind::Jwt, Reason::Unsupported)),
        }
    }
}

fn lift(kind: CredentialKind, e: SessionError) -> AuthError {
    match e {
        SessionError::NoSession(reason) => AuthError::refused(kind, reason),
        SessionError::Store(e) => AuthError::Store(e),
    }
}
