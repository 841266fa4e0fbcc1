//! The one mapping of domain errors to gRPC statuses.
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::auth::error::AuthError;
use crate::domain::reason::Reason;
use crate::store::StoreError;

pub const DOMAIN: &str = "better-auth-grpc";

/// Statuses carry a `google.rpc.ErrorInfo` whose `reason` is machine-readable.
pub fn with_reason(code: Code, message: impl Into<String>, reason: &str) -> Status {
    let details = ErrorDetails::with_error_info(reason, DOMAIN, std::collections::HashMap::new());
    Status::with_error_details(code, message, details)
}

/// A refused credential on an RPC whose answer is a session (GetSession): bad input is
/// INVALID_ARGUMENT, a well-formed credential with no live session is NOT_FOUND.
fn refused(reason: Reason) -> Status {
    let code = if reason.is_bad_input() {
        Code::InvalidArgument
    } else {
        Code::NotFound
    };
    with_reason(code, super::convert::describe(reason), reason.as_str())
}

/// The caller gets a fixed message and a reason; the database's own text, which can echo a
/// request's value (`invalid input syntax for type uuid: "…"`), goes only to the log.
fn store(e: &StoreError) -> Status {
    let (message, reason) = match e {
        StoreError::Unavailable(_) => {
            tracing::warn!(error = %e, "database unavailable");
            return with_reason(
                Code::Unavailable,
                "the database is unavailable; retry",
                "DATABASE_UNAVAILABLE",
            );
        }
        StoreError::Schema(_) => ("the database schema is not usable", "DATABASE_SCHEMA"),
        StoreError::BadData { .. } => ("a database value cannot be read", "DATABASE_BAD_DATA"),
        StoreError::Other(_) => ("database error", "DATABASE_ERROR"),
    };
    tracing::error!(error = %e, reason, "database error");
    with_reason(Code::Internal, message, reason)
}

/// The message is the error's own text (`Display`), except where noted.
pub fn auth(e: &AuthError) -> Status {
    let (code, reason) = match e {
        AuthError::Refused { reason, .. } => return refused(*reason),
        AuthError::Store(s) => return store(s),
        AuthError::TokenInternal(t) => {
            tracing::error!(error = %t, "internal token error");
            return with_reason(Code::Internal, "internal error", "INTERNAL");
        }
        AuthError::KeyUnusable(t) => {
            tracing::error!(error = %t, "JWT key unusable");
            (Code::FailedPrecondition, "JWT_KEY_UNUSABLE")
        }
        AuthError::KeyMissing(_) => (Code::FailedPrecondition, "JWT_KEY_MISSING"),
        AuthError::UserBanned => (Code::PermissionDenied, Reason::UserBanned.as_str()),
        AuthError::BadRequest(_) => (Code::InvalidArgument, "BAD_REQUEST"),
        AuthError::Denied(_) => (Code::PermissionDenied, "PERMISSION_DENIED"),
        AuthError::NotConfigured => (Code::FailedPrecondition, "NOT_CONFIGURED"),
        AuthError::SubjectMissing => (Code::InvalidArgument, "SUBJECT_MISSING"),
        AuthError::CallerMissing => (Code::Unauthenticated, "API_KEY_MISSING"),
        AuthError::ApiKeyUnknown => (Code::Unauthenticated, "API_KEY_UNKNOWN"),
        AuthError::CertificateUnknown => (Code::PermissionDenied, "CERTIFICATE_UNKNOWN"),
    };
    with_reason(code, e.to_string(), reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::TokenError;
    use tonic_types::StatusExt;

    fn parts(e: AuthError) -> (Code, String, String) {
        let s = auth(&e);
        let reason = s.get_error_details().error_info().unwrap().reason.clone();
        (s.code(), s.message().to_owned(), reason)
    }

    fn expect(e: AuthError, code: Code, message: &str, reason: &str) {
        assert_eq!(parts(e), (code, message.to_owned(), reason.to_owned()));
    }

    #[test]
    fn caller_and_request_errors_keep_their_statuses() {
        expect(
            AuthError::ApiKeyUnknown,
            Code::Unauthenticated,
            "unknown API key",
            "API_KEY_UNKNOWN",
        );
        expect(
            AuthError::CertificateUnknown,
            Code::PermissionDenied,
            "the client certificate names no configured caller",
            "CERTIFICATE_UNKNOWN",
        );
        expect(
            AuthError::CallerMissing,
            Code::Unauthenticated,
            "IssueToken needs an x-api-key metadata entry (or a client certificate under mutual TLS)",
            "API_KEY_MISSING",
        );
        expect(
            AuthError::SubjectMissing,
            Code::InvalidArgument,
            "set session_token or user_id",
            "SUBJECT_MISSING",
        );
        expect(
            AuthError::NotConfigured,
            Code::FailedPrecondition,
            "JWT issuing is off: set BETTER_AUTH_URL (or --jwt-issuer) and enable Better Auth's jwt plugin (jwks table)",
            "NOT_CONFIGURED",
        );
    }

    #[test]
    fn ban_and_missing_key_refusals_are_typed() {
        expect(
            AuthError::UserBanned,
            Code::PermissionDenied,
            "the user is banned (admin plugin): no JWT is issued",
            "USER_BANNED",
        );
        let t = TokenError::NoLiveKey;
        let text = t.to_string();
        expect(t.into(), Code::FailedPrecondition, &text, "JWT_KEY_MISSING");
    }

    #[test]
    fn database_errors_keep_their_text_in_the_log() {
        let echo = "invalid input syntax for type uuid: \"not-a-uuid' OR 1=1\"";
        let e = AuthError::Store(StoreError::Other(echo.into()));
        expect(e, Code::Internal, "database error", "DATABASE_ERROR");
        let e = StoreError::BadData {
            table: "session".into(),
            column: "expiresAt".into(),
            detail: echo.into(),
        };
        let (code, message, reason) = parts(AuthError::Store(e));
        assert_eq!(
            (code, reason.as_str()),
            (Code::Internal, "DATABASE_BAD_DATA")
        );
        assert!(!message.contains("not-a-uuid"), "{message}");
        let e = AuthError::Store(StoreError::Unavailable(echo.into()));
        let (code, message, _) = parts(e);
        assert_eq!(code, Code::Unavailable);
        assert!(!message.contains("not-a-uuid"), "{message}");
    }

    #[test]
    fn token_errors_keep_their_statuses() {
        let t = TokenError::UnsupportedAlg("HS512".into());
        let text = t.to_string();
        expect(
            t.into(),
            Code::FailedPrecondition,
            &text,
            "JWT_KEY_UNUSABLE",
        );
        let e = AuthError::from(TokenError::Internal("rng".into()));
        expect(e, Code::Internal, "internal error", "INTERNAL");
        let e = AuthError::from(TokenError::AudienceNotAllowed("x".into()));
        let (code, _, reason) = parts(e);
        assert_eq!(
            (code, reason.as_str()),
            (Code::InvalidArgument, "BAD_REQUEST")
        );
    }
}
