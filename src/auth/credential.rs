//! Recognises the credential a caller has in hand (raw token, signed value, Cookie header,
//! `Bearer …`, JWT) and checks its signature, the way Better Auth's endpoints read them.
use super::{cookie, signature};
use crate::domain::reason::Reason;

/// What the caller presented, once recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    SessionToken,
    SignedSessionToken,
    SessionCookie,
    Jwt,
}

/// A credential whose form (and, for signed values, signature) checked out.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// A session token to look up (the signature, if any, is verified).
    Session {
        token: String,
        kind: CredentialKind,
        /// A valid `dont_remember` cookie came along: never refresh (docs/better-auth-compat.md §3.5).
        dont_remember: bool,
    },
    /// A compact JWT, not yet verified.
    Jwt(String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Session { kind, .. } => {
                write!(f, "Credential::Session({kind:?}, [redacted])")
            }
            Credential::Jwt(_) => f.write_str("Credential::Jwt([redacted])"),
        }
    }
}

impl Credential {
    pub fn kind(&self) -> CredentialKind {
        match self {
            Credential::Session { kind, .. } => *kind,
            Credential::Jwt(_) => CredentialKind::Jwt,
        }
    }
}

/// A refusal, with the kind of credential it was recognised as (if any).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub kind: Option<CredentialKind>,
    pub reason: Reason,
}

impl Refusal {
    fn new(kind: Option<CredentialKind>, reason: Reason) -> Self {
        Self { kind, reason }
    }
}

/// How this deployment names and signs its cookies.
#[derive(Debug, Clone)]
pub struct CredentialRules {
    /// The one session cookie name Better Auth reads (e.g. `__Secure-better-auth.session_token`).
    pub session_cookie: String,
    pub dont_remember_cookie: String,
    pub max_token_bytes: usize,
    /// Like `bearer({ requireSignature: true })`: refuse raw session tokens.
    pub require_signature: bool,
}

pub fn parse(input: &str, rules: &CredentialRules, secret: &[u8]) -> Result<Credential, Refusal> {
    if input.len() > rules.max_token_bytes {
        return Err(Refusal::new(None, Reason::TooLarge));
    }
    let t = input.trim();
    if t.is_empty() {
        return Err(Refusal::new(None, Reason::Empty));
    }
    // "Bearer " with nothing after it arrives here trimmed to the bare scheme.
    if t.eq_ignore_ascii_case("bearer") {
        return Err(Refusal::new(None, Reason::Empty));
    }
    if let Some(rest) = strip_bearer(t) {
        return parse_bearer(rest.trim(), rules, secret);
    }
    if is_cookie_header(t) {
        return parse_cookie_header(t, rules, secret);
    }
    if looks_like_jwt(t) {
        return Ok(Credential::Jwt(t.to_owned()));
    }
    if t.contains('.') || t.contains('%') {
        return signed(t, CredentialKind::SignedSessionToken, secret);
    }
    raw(t, rules)
}

fn strip_bearer(t: &str) -> Option<&str> {
    let scheme = t.get(..7)?;
    scheme.eq_ignore_ascii_case("bearer ").then(|| &t[7..])
}

/// The bearer plugin: a JWT, a signed value (URL-encoded or not), or a raw token.
fn parse_bearer(v: &str, rules: &CredentialRules, secret: &[u8]) -> Result<Credential, Refusal> {
    if v.is_empty() {
        return Err(Refusal::new(None, Reason::Empty));
    }
    if looks_like_jwt(v) {
        return Ok(Credential::Jwt(v.to_owned()));
    }
    if v.contains('.') {
        return signed(v, CredentialKind::SignedSessionToken, secret);
    }
    raw(v, rules)
}

fn parse_cookie_header(
    h: &str,
    rules: &CredentialRules,
    secret: &[u8],
) -> Result<Credential, Refusal> {
    let kind = CredentialKind::SessionCookie;
    let value = cookie::find_cookie(h, &rules.session_cookie)
        .ok_or(Refusal::new(Some(kind), Reason::NoSessionCookie))?;
    let token = signature::verify(&value, secret).map_err(|r| Refusal::new(Some(kind), r))?;
    let dont_remember = cookie::find_cookie(h, &rules.dont_remember_cookie)
        .is_some_and(|v| signature::verify(&v, secret) == Ok("true"));
    Ok(Credential::Session {
        token: token.to_owned(),
        kind,
        dont_remember,
    })
}

/// `token.sig`, URL-decoded first when it holds a `%` (as the bearer plugin does).
fn signed(v: &str, kind: CredentialKind, secret: &[u8]) -> Result<Credential, Refusal> {
    let decoded = if v.contains('%') {
        cookie::decode_uri_component(v).ok_or(Refusal::new(Some(kind), Reason::Malformed))?
    } else {
        v.to_owned()
    };
    let token = signature::verify(&decoded, secret).map_err(|r| Refusal::new(Some(kind), r))?;
    Ok(Credential::Session {
        token: token.to_owned(),
        kind,
        dont_remember: false,
    })
}

fn raw(t: &str, rules: &CredentialRules) -> Result<Credential, Refusal> {
    let kind = CredentialKind::SessionToken;
    if !t.bytes().all(is_token_byte) {
        return Err(Refusal::new(Some(kind), Reason::Malformed));
    }
    if rules.require_signature {
        return Err(Refusal::new(Some(kind), Reason::SignatureRequired));
    }
    Ok(Credential::Session {
        token: t.to_owned(),
        kind,
        dont_remember: false,
    })
}

/// Better Auth's ids are `[A-Za-z0-9]`; apps with custom ids may use UUIDs or similar.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-_~+/=:".contains(&b)
}

/// A Cookie header has `;` or starts with `name=` where `name` cannot be the token part of a
/// signed value (signed values always carry a `.` before their `=` padding).
fn is_cookie_header(t: &str) -> bool {
    if t.contains(';') {
        return true;
    }
    let Some((name, _)) = t.split_once('=') else {
        return false;
    };
    let name = name.trim();
    !name.is_empty()
        && (!name.contains('.')
            || [".session_token", ".session_data", ".dont_remember"]
                .iter()
                .any(|s| name.ends_with(s)))
}

fn looks_like_jwt(t: &str) -> bool {
    t.starts_with("eyJ")
        && t.bytes().filter(|&b| b == b'.').count() == 2
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"sample-secret-0123456789abcdefghijklmnopqrstu";

    fn rules() -> CredentialRules {
        CredentialRules {
            session_cookie: "better-auth.session_token".into(),
            dont_remember_cookie: "better-auth.dont_remember".into(),
            max_token_bytes: 8192,
            require_signature: false,
        }
    }

    fn session(input: &str) -> Result<(String, CredentialKind, bool), Refusal> {
        match parse(input, &rules(), SECRET)? {
            Credential::Session {
                token,
                kind,
                dont_remember,
            } => Ok((token, kind, dont_remember)),
            Credential::Jwt(_) => panic!("unexpected JWT"),
        }
    }

    fn reason(input: &str) -> Reason {
        parse(input, &rules(), SECRET).unwrap_err().reason
    }

    #[test]
    fn every_form_yields_the_token() {
        let signed = signature::sign("tok123", SECRET);
        let encoded = signature::encode_uri_component(&signed);
        let k = |s: &str| session(s).unwrap().1;
        assert_eq!(session("tok123").unwrap().0, "tok123");
        assert_eq!(k("tok123"), CredentialKind::SessionToken);
        assert_eq!(session(&signed).unwrap().0, "tok123");
        assert_eq!(k(&encoded), CredentialKind::SignedSessionToken);
        assert_eq!(
            k(&format!("Bearer {signed}")),
            CredentialKind::SignedSessionToken
        );
        assert_eq!(
            k(&format!("bEaReR   {encoded}  ")),
            CredentialKind::SignedSessionToken
        );
        assert_eq!(k("Bearer tok123"), CredentialKind::SessionToken);
        let header = format!("theme=dark; better-auth.session_token={encoded}; x=1");
        assert_eq!(
            session(&header).unwrap(),
            ("tok123".into(), CredentialKind::SessionCookie, false)
        );
        assert_eq!(
            k(&format!("better-auth.session_token={encoded}")),
            CredentialKind::SessionCookie
        );
    }

    #[test]
    fn dont_remember_cookie_is_honoured_only_when_signed() {
        let tok = signature::sign_cookie_value("tok123", SECRET);
        let dr = signature::sign_cookie_value("true", SECRET);
        let h = format!("better-auth.session_token={tok}; better-auth.dont_remember={dr}");
        assert!(session(&h).unwrap().2);
        let forged = format!("better-auth.session_token={tok}; better-auth.dont_remember=true");
        assert!(!session(&forged).unwrap().2);
    }

    #[test]
    fn refusals_have_their_reasons() {
        let signed = signature::sign("tok123", SECRET);
        assert_eq!(reason(""), Reason::Empty);
        assert_eq!(reason("   "), Reason::Empty);
        assert_eq!(reason("Bearer "), Reason::Empty);
        assert_eq!(reason(&"a".repeat(8193)), Reason::TooLarge);
        assert_eq!(reason("theme=dark"), Reason::NoSessionCookie);
        assert_eq!(
            reason("__Secure-better-auth.session_token=x"),
            Reason::NoSessionCookie
        );
        assert_eq!(
            reason(&signed.replacen("tok123", "tok124", 1)),
            Reason::BadSignature
        );
        assert_eq!(reason(&signed[..signed.len() - 1]), Reason::Malformed);
        assert_eq!(
            reason(&signed.replace('/', "_").replace('+', "-").replace('=', "")),
            Reason::Malformed
        );
        assert_eq!(reason("tok\u{0}123"), Reason::Malformed);
        assert_eq!(reason("tök"), Reason::Malformed);
        assert_eq!(reason("abc%zz.def"), Reason::Malformed);
    }

    #[test]
    fn jwts_are_recognised_in_both_forms() {
        let jwt = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln";
        assert_eq!(
            parse(jwt, &rules(), SECRET).unwrap(),
            Credential::Jwt(jwt.into())
        );
        let b = format!("Bearer {jwt}");
        assert_eq!(
            parse(&b, &rules(), SECRET).unwrap(),
            Credential::Jwt(jwt.into())
        );
    }

    #[test]
    fn signature_required_refuses_raw_tokens() {
        let mut r = rules();
        r.require_signature = true;
        assert_eq!(
            parse("tok123", &r, SECRET).unwrap_err().reason,
            Reason::SignatureRequired
        );
        let signed = signature::sign("tok123", SECRET);
        assert!(parse(&signed, &r, SECRET).is_ok());
    }

    #[test]
    fn non_ascii_input_never_panics() {
        for s in [
            "béarer x",
            "Bearér x",
            "ééééééééé",
            "€.€",
            "=€",
            "€=;",
            "Bearer\u{1F600}",
        ] {
            let _ = parse(s, &rules(), SECRET);
        }
    }
}
