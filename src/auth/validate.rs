//! The two questions callers ask: "is this credential valid?" (read-only) and
//! "what is this session?" (get-session, with its side effects).
use std::sync::Arc;

use super::{
    credential::{self, Credential, CredentialKind, CredentialRules},
    error::AuthError,
    model::SessionAndUser,
    reason::Reason,
    secret::Secrets,
    session::{SessionError, SessionService},
};

/// A credential that checked out.
#[derive(Debug, Clone)]
pub enum Verified {
    Session {
        kind: CredentialKind,
        found: SessionAndUser,
    },
}

#[derive(Clone)]
pub struct Authenticator {
    rules: CredentialRules,
    secrets: Arc<Secrets>,
    sessions: SessionService,
}

impl Authenticator {
    pub fn new(rules: CredentialRules, secrets: Arc<Secrets>, sessions: SessionService) -> Self {
        Self {
            rules,
            secrets,
            sessions,
        }
    }

    pub fn parse(&self, input: &str) -> Result<Credential, AuthError> {
        Ok(credential::parse(
            input,
            &self.rules,
            self.secrets.current(),
        )?)
    }

    /// ValidateToken: never writes.
    pub async fn validate(&self, input: &str) -> Result<Verified, AuthError> {
        match self.parse(input)? {
            Credential::Session { token, kind, .. } => {
                let found = self
                    .sessions
                    .validate(&token)
                    .await
                    .map_err(|e| lift(kind, e))?;
                Ok(Verified::Session { kind, found })
            }
            Credential::Jwt(_) => Err(AuthError::refused(CredentialKind::Jwt, Reason::Unsupported)),
        }
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
            } => self
                .sessions
                .get_session(&token, disable_refresh || dont_remember)
                .await
                .map_err(|e| lift(kind, e)),
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
