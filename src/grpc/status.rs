//! The one mapping of domain errors to gRPC statuses.
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::auth::{error::AuthError, reason::Reason};
use crate::store::StoreError;

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
    }
}
