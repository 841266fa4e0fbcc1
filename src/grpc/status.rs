//! The one mapping of domain errors to gRPC statuses.
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::auth::error::AuthError;
use crate::domain::reason::Reason;
use crate::store::StoreError;
use crate::token::TokenError;

pub const DOMAIN: &str = "better-auth-grpc";

/// Statuses carry a `google.rpc.ErrorInfo` whose `reason` is machine-readable.
pub fn with_reason(code: Code, message: impl Into<String>, reason: &str) -> Status {
    let details = ErrorDetails::with_error_info(reason, DOMAIN, std::collections::HashMap::new());
    Status::with_error_details(code, message, details)
}

/// A refused credential on an RPC whose answer is a session (GetSession): bad input is
/// INVALID_ARGUMENT, a well-formed credential with no live session is NOT_FOUND.
pub fn refused(reason: Reason) -> Status {
    let code = if reason.is_bad_input() {
        Code::InvalidArgument
    } else {
        Code::NotFound
    };
    with_reason(code, super::convert::describe(reason), reason.as_str())
}

pub fn store(e: &StoreError) -> Status {
    match e {
        StoreError::Unavailable(_) => {
            tracing::warn!(error = %e, "database unavailable");
            with_reason(
                Code::Unavailable,
                "the database is unavailable; retry",
                "DATABASE_UNAVAILABLE",
            )
        }
        _ => {
            tracing::error!(error = %e, "database error");
            with_reason(Code::Internal, e.to_string(), "DATABASE_ERROR")
        }
    }
}

pub fn auth(e: &AuthError) -> Status {
    match e {
        AuthError::Refused { reason, .. } => refused(*reason),
        AuthError::Store(s) => store(s),
        AuthError::BadRequest(m) => with_reason(Code::InvalidArgument, m.clone(), "BAD_REQUEST"),
        AuthError::Denied(m) => with_reason(Code::PermissionDenied, m.clone(), "PERMISSION_DENIED"),
        AuthError::NotConfigured(m) => {
            with_reason(Code::FailedPrecondition, m.clone(), "NOT_CONFIGURED")
        }
        AuthError::Token(t) => token(t),
    }
}

fn token(e: &TokenError) -> Status {
    match e {
        TokenError::KeyDecrypt { .. }
        | TokenError::BadKey { .. }
        | TokenError::UnsupportedAlg(_) => {
            tracing::error!(error = %e, "JWT key unusable");
            with_reason(Code::FailedPrecondition, e.to_string(), "JWT_KEY_UNUSABLE")
        }
        TokenError::Store(s) => store(s),
        TokenError::Refused(r) => refused(*r),
        TokenError::AudienceNotAllowed(_) => {
            with_reason(Code::InvalidArgument, e.to_string(), "BAD_REQUEST")
        }
        TokenError::Internal(_) => {
            tracing::error!(error = %e, "internal token error");
            with_reason(Code::Internal, "internal error", "INTERNAL")
        }
    }
}
