//! The rules and invariants the credential-parser tests (tests/prop_parsers) and the fuzz
//! target (fuzz/fuzz_targets/credential.rs) hold `credential::parse` to.
use crate::auth::credential::{Credential, CredentialKind, CredentialRules, Refusal};
use crate::domain::reason::Reason;

/// The HMAC secret of the signed values; fuzz/dict/credential.dict holds values signed with it.
pub const SECRET: &[u8] = b"fuzz-secret-0123456789abcdefghijklmnopqrstuvwxyz";
/// Tokens signed with `SECRET` that the generated inputs may carry: the only tokens a signed
/// value or a cookie can yield, since nothing else can be signed without the secret.
pub const SIGNED_TOKENS: [&str; 3] = ["tok123", "true", "JjFfTgCaINnjVYjc9VVNVpJ2Q4ONLJ1x"];
pub const SESSION_COOKIE: &str = "better-auth.session_token";
pub const DONT_REMEMBER_COOKIE: &str = "better-auth.dont_remember";
pub const MAX_TOKEN_BYTES: usize = 8192;

pub fn rules(require_signature: bool) -> CredentialRules {
    CredentialRules {
        session_cookie: SESSION_COOKIE.into(),
        dont_remember_cookie: DONT_REMEMBER_COOKIE.into(),
        max_token_bytes: MAX_TOKEN_BYTES,
        require_signature,
    }
}

/// What an accepted session token may consist of.
pub fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-_~+/=:".contains(&b)
}

/// The result under `require_signature` given the one without (`lax`): it changes exactly
/// one outcome, a raw token becomes SIGNATURE_REQUIRED.
pub fn expected_strict(lax: &Result<Credential, Refusal>) -> Result<Credential, Refusal> {
    match lax {
        Ok(Credential::Session {
            kind: CredentialKind::SessionToken,
            ..
        }) => Err(Refusal {
            kind: Some(CredentialKind::SessionToken),
            reason: Reason::SignatureRequired,
        }),
        other => other.clone(),
    }
}
