use super::credential::CredentialKind;
use crate::domain::reason::Reason;
use crate::store::StoreError;
use crate::token::TokenError;

/// Everything the domain can answer besides success.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The credential is not valid; `kind` is what it was recognised as.
    #[error("credential refused: {reason}")]
    Refused {
        kind: Option<CredentialKind>,
        reason: Reason,
    },
    /// The request itself is wrong (a lifetime out of bounds, an audience not allowed).
    #[error("{0}")]
    BadRequest(String),
    /// The caller is known but may not do this.
    #[error("{0}")]
    Denied(String),
    /// A feature this request needs is not configured (e.g. JWTs without BETTER_AUTH_URL).
    #[error("{0}")]
    NotConfigured(String),
    #[error(transparent)]
    Token(TokenError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AuthError {
    pub fn refused(kind: CredentialKind, reason: Reason) -> Self {
        AuthError::Refused {
            kind: Some(kind),
            reason,
        }
    }
}

impl From<super::credential::Refusal> for AuthError {
    fn from(r: super::credential::Refusal) -> Self {
        AuthError::Refused {
            kind: r.kind,
            reason: r.reason,
        }
    }
}

/// A refused JWT keeps its reason; a database error stays a database error.
impl From<TokenError> for AuthError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Refused(reason) => AuthError::refused(CredentialKind::Jwt, reason),
            TokenError::Store(s) => AuthError::Store(s),
            TokenError::AudienceNotAllowed(a) => {
                AuthError::BadRequest(format!("audience {a:?} is not accepted by this service"))
            }
            other => AuthError::Token(other),
        }
    }
}
