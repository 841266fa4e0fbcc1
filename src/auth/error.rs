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
    /// IssueToken for a user the admin plugin bans (either subject): no JWT for them.
    #[error("the user is banned (admin plugin): no JWT is issued")]
    UserBanned,
    /// IssueToken with no live jwks key where `--read-only` forbids creating one.
    #[error(transparent)]
    KeyMissing(TokenError),
    /// IssueToken where no issuer is configured or the jwks table is missing.
    #[error(
        "JWT issuing is off: set BETTER_AUTH_URL (or --jwt-issuer) and enable Better Auth's \
         jwt plugin (jwks table)"
    )]
    NotConfigured,
    /// IssueToken with neither `session_token` nor `user_id`.
    #[error("set session_token or user_id")]
    SubjectMissing,
    /// IssueToken with neither an API key nor a client certificate.
    #[error(
        "IssueToken needs an x-api-key metadata entry (or a client certificate under mutual TLS)"
    )]
    CallerMissing,
    /// An API key no configured caller has.
    #[error("unknown API key")]
    ApiKeyUnknown,
    /// A verified client certificate that names no configured caller.
    #[error("the client certificate names no configured caller")]
    CertificateUnknown,
    /// A jwks key this service cannot use (undecryptable, malformed, unsupported algorithm).
    #[error(transparent)]
    KeyUnusable(TokenError),
    /// A token primitive failed where it cannot in practice: a bug or a broken host.
    #[error(transparent)]
    TokenInternal(TokenError),
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
            TokenError::KeyDecrypt { .. }
            | TokenError::BadKey { .. }
            | TokenError::UnsupportedAlg(_) => AuthError::KeyUnusable(e),
            TokenError::NoLiveKey => AuthError::KeyMissing(e),
            TokenError::Internal(_) => AuthError::TokenInternal(e),
        }
    }
}
