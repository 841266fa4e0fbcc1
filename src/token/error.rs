//! The token layer's one error type. A refusal of the caller's JWT is `Refused(reason)`;
//! everything else is a problem of this service, its keys or its database.
use crate::domain::reason::Reason;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The JWT is not acceptable; the reason is safe to hand back to the caller.
    #[error("JWT refused: {0}")]
    Refused(Reason),
    /// A request asked for an audience outside the configured list.
    #[error("audience {0:?} is not one of the configured JWT audiences")]
    AudienceNotAllowed(String),
    /// A jwks row's private key cannot be decrypted with the configured secret(s). Better Auth
    /// fails the same way (and creates no replacement key): the secrets do not match the app's.
    #[error(
        "jwks key {kid}: private key cannot be decrypted ({detail}); \
         BETTER_AUTH_SECRET / BETTER_AUTH_SECRETS must be the ones Better Auth uses"
    )]
    KeyDecrypt { kid: String, detail: String },
    /// A jwks row holds key material this service cannot use.
    #[error("jwks key {kid}: {detail}")]
    BadKey { kid: String, detail: String },
    /// An algorithm name outside EdDSA, ES256, ES512, RS256, PS256.
    #[error("unsupported JWT algorithm {0:?} (supported: EdDSA, ES256, ES512, RS256, PS256)")]
    UnsupportedAlg(String),
    /// No live key to sign with, and this service is read-only: it writes no jwks row.
    #[error(
        "no live jwks key to sign with, and --read-only forbids creating one: Better Auth \
         creates it on its next /token call, or issue from a service that is not read-only"
    )]
    NoLiveKey,
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A primitive failed where it cannot fail in practice (RNG, encoding); a bug or a broken host.
    #[error("internal token error: {0}")]
    Internal(String),
}

impl TokenError {
    /// The refusal reason, when the error is about the caller's token.
    pub fn reason(&self) -> Option<Reason> {
        match self {
            TokenError::Refused(r) => Some(*r),
            _ => None,
        }
    }

    pub(crate) fn bad_key(kid: &str, detail: impl Into<String>) -> Self {
        TokenError::BadKey {
            kid: kid.to_owned(),
            detail: detail.into(),
        }
    }

    pub(crate) fn decrypt(kid: &str, detail: impl Into<String>) -> Self {
        TokenError::KeyDecrypt {
            kid: kid.to_owned(),
            detail: detail.into(),
        }
    }
}

impl From<Reason> for TokenError {
    fn from(r: Reason) -> Self {
        TokenError::Refused(r)
    }
}
