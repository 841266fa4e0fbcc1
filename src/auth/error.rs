use super::{credential::CredentialKind, reason::Reason};
use crate::store::StoreError;

/// Everything the domain can answer besides success.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The credential is not valid; `kind` is what it was recognised as.
    #[error("credential refused: {reason}")]
    Refused {
        kind: Option<CredentialKind>,
        reason: Reason,
    },
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
