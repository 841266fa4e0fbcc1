//! Why a credential was refused: the domain's mirror of the proto `Reason` enum.

/// One value per refusal a caller may want to act on. `as_str` is the stable wire name,
/// used in `google.rpc.ErrorInfo.reason` and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    Malformed,
    BadSignature,
    SessionNotFound,
    SessionExpired,
    UserNotFound,
    Empty,
    TooLarge,
    NoSessionCookie,
    SignatureRequired,
    JwtExpired,
    JwtNotYetValid,
    JwtBadSignature,
    JwtUnknownKey,
    JwtAlgNotAllowed,
    JwtForbiddenHeader,
    JwtBadIssuer,
    JwtBadAudience,
    JwtMissingSubject,
    JwtMalformed,
    UserBanned,
    Unsupported,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Malformed => "MALFORMED",
            Reason::BadSignature => "BAD_SIGNATURE",
            Reason::SessionNotFound => "SESSION_NOT_FOUND",
            Reason::SessionExpired => "SESSION_EXPIRED",
            Reason::UserNotFound => "USER_NOT_FOUND",
            Reason::Empty => "EMPTY",
            Reason::TooLarge => "TOO_LARGE",
            Reason::NoSessionCookie => "NO_SESSION_COOKIE",
            Reason::SignatureRequired => "SIGNATURE_REQUIRED",
            Reason::JwtExpired => "JWT_EXPIRED",
            Reason::JwtNotYetValid => "JWT_NOT_YET_VALID",
            Reason::JwtBadSignature => "JWT_BAD_SIGNATURE",
            Reason::JwtUnknownKey => "JWT_UNKNOWN_KEY",
            Reason::JwtAlgNotAllowed => "JWT_ALG_NOT_ALLOWED",
            Reason::JwtForbiddenHeader => "JWT_FORBIDDEN_HEADER",
            Reason::JwtBadIssuer => "JWT_BAD_ISSUER",
            Reason::JwtBadAudience => "JWT_BAD_AUDIENCE",
            Reason::JwtMissingSubject => "JWT_MISSING_SUBJECT",
            Reason::JwtMalformed => "JWT_MALFORMED",
            Reason::UserBanned => "USER_BANNED",
            Reason::Unsupported => "UNSUPPORTED",
        }
    }

    /// Input that is wrong in itself (as opposed to a well-formed credential with no live session).
    pub fn is_bad_input(self) -> bool {
        matches!(
            self,
            Reason::Malformed
                | Reason::Empty
                | Reason::TooLarge
                | Reason::NoSessionCookie
                | Reason::SignatureRequired
                | Reason::JwtMalformed
                | Reason::Unsupported
        )
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
