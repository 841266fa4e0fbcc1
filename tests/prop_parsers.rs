//! Property tests of the credential parsers: `credential::parse`, the cookie and signature
//! helpers, and the JWT verifier (base64url segments, header, claims). Every property can
//! fail; none needs a database.
//!
//! Bounded by default (proptest's `PROPTEST_CASES`, 256 cases per property); for a long run:
//! `PROPTEST_CASES=1000000 cargo test --release --test prop_parsers -- --nocapture`.
//! Each property prints how many cases it ran. `PROPTEST_RNG_SEED=<u64>` replays a run.
//! See docs/FUZZING.md.
use std::cell::Cell;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use better_auth_grpc::auth::cookie::{decode_uri_component, find_cookie};
use better_auth_grpc::auth::credential::{
    parse, Credential, CredentialKind, CredentialRules, Refusal,
};
use better_auth_grpc::auth::signature::{encode_uri_component, sign, verify};
use better_auth_grpc::clock::FixedClock;
use better_auth_grpc::domain::model::JwkRow;
use better_auth_grpc::domain::reason::Reason;
use better_auth_grpc::domain::secret::Secrets;
use better_auth_grpc::token::{
    new_jwk_row, sign_compact, Alg, JwtSettings, KeySet, SigningKey, TokenError, VerifiedJwt,
    Verifier, VerifyOptions,
};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::test_runner::{Config, TestCaseResult, TestRunner};
use serde_json::{json, Map, Value};

// ---------------------------------------------------------------------------------------------
// Running properties

/// proptest's defaults (so `PROPTEST_CASES`, `PROPTEST_RNG_SEED`… apply; 256 cases unless
/// told otherwise), without regression files: a failure prints its minimal input instead.
fn config() -> Config {
    Config {
        failure_persistence: None,
        ..Config::default()
    }
}

/// Runs `test` over `strategy` and reports how many cases ran and how long they took.
fn check<S>(name: &str, strategy: S, test: impl Fn(S::Value) -> TestCaseResult)
where
    S: Strategy,
    S::Value: Debug,
{
    let config = config();
    let required = config.cases;
    let ran = Cell::new(0u64);
    let start = Instant::now();
    let result = TestRunner::new(config).run(&strategy, |v| {
        ran.set(ran.get() + 1);
        test(v)
    });
    eprintln!(
        "prop_parsers::{name}: {} cases run ({required} required) in {:.2?}",
        ran.get(),
        start.elapsed()
    );
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
}

// ---------------------------------------------------------------------------------------------
// Session credentials

const SECRET: &[u8] = b"prop-secret-0123456789abcdefghijklmnopqrstuvwxyz";
const SESSION_COOKIE: &str = "better-auth.session_token";
const DONT_REMEMBER_COOKIE: &str = "better-auth.dont_remember";
const MAX_TOKEN_BYTES: usize = 8192;
/// Tokens signed with `SECRET` that the generated inputs may carry: the only tokens a signed
/// value or a cookie can yield, since nothing else can be signed without the secret.
const SIGNED_TOKENS: [&str; 3] = ["tok123", "true", "JjFfTgCaINnjVYjc9VVNVpJ2Q4ONLJ1x"];

fn rules(require_signature: bool) -> CredentialRules {
    CredentialRules {
        session_cookie: SESSION_COOKIE.into(),
        dont_remember_cookie: DONT_REMEMBER_COOKIE.into(),
        max_token_bytes: MAX_TOKEN_BYTES,
        require_signature,
    }
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-_~+/=:".contains(&b)
}

fn is_b64url_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// The scheme of a `Bearer …` value, any case, and what follows it.
fn strip_bearer(t: &str) -> Option<&str> {
    let scheme = t.get(..7)?;
    scheme.eq_ignore_ascii_case("bearer ").then(|| &t[7..])
}

/// Pieces that steer `parse` into each of its branches and edge cases.
fn pieces() -> Vec<String> {
    let mut p: Vec<String> = [
        "a",
        "Z",
        "0",
        "-",
        "_",
        "~",
        "+",
        "/",
        ":",
        "=",
        "==",
        ";",
        ".",
        "..",
        ",",
        " ",
        "\t",
        "\n",
        "\r",
        "\0",
        "\u{7f}",
        "\u{85}",
        "\u{a0}",
        "\u{3000}",
        "\u{200b}",
        "\u{feff}",
        "%",
        "%2",
        "%2F",
        "%2f",
        "%3D",
        "%2B",
        "%25",
        "%3B",
        "%00",
        "%E0",
        "%A4",
        "%FF",
        "%C3%A9",
        "%F0%9F%98%80",
        "%zz",
        "\"",
        "é",
        "€",
        "😀",
        "Bearer ",
        "bearer",
        "BEARER  ",
        "bEaReR\t",
        "eyJ",
        "eyJhbGciOiJFZERTQSJ9",
        "eyJzdWIiOiJ4In0",
        "e30",
        "c2ln",
        "better-auth.session_token=",
        "__Secure-better-auth.session_token=",
        "better-auth.dont_remember=",
        "better-auth.session_data=",
        ".session_token",
        "session_token",
        "theme=dark",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for t in SIGNED_TOKENS {
        let signed = sign(t, SECRET);
        let encoded = encode_uri_component(&signed);
        p.push(format!("\"{encoded}\""));
        p.push(signed[t.len() + 1..].to_owned()); // the signature alone
        p.push(signed);
        p.push(encoded);
    }
    p
}

/// Arbitrary text, weighted towards the shapes the parser distinguishes.
fn arbitrary_input() -> impl Strategy<Value = String> {
    let pieces = pieces();
    let short: Vec<String> = pieces.iter().filter(|p| p.len() <= 3).cloned().collect();
    let signed: Vec<String> = pieces.iter().filter(|p| p.len() > 40).cloned().collect();
    prop_oneof![
        // Any characters at all: control characters, surrogate-free unicode, everything.
        2 => vec(any::<char>(), 0..160).prop_map(String::from_iter),
        // A sequence of meaningful pieces.
        2 => vec(select(pieces.clone()), 0..48).prop_map(|v| v.concat()),
        // Pieces mixed with random characters and short random runs.
        2 => vec(
            prop_oneof![
                select(pieces.clone()).boxed(),
                any::<char>().prop_map(String::from).boxed(),
                "[a-zA-Z0-9%.;=\" ]{0,8}".boxed(),
            ],
            0..32
        )
        .prop_map(|v| v.concat()),
        // Very long runs (`;;;;`, `a=;a=;…`, `%%%%`, `....`), sometimes past the size limit.
        1 => vec((select(short), 1..3000usize), 1..4)
            .prop_map(|runs| runs.iter().map(|(p, n)| p.repeat(*n)).collect::<String>()),
        // Cookie headers: the names the parser looks for (and near misses), piece values.
        2 => vec(
            (
                select(vec![
                    SESSION_COOKIE,
                    SESSION_COOKIE,
                    DONT_REMEMBER_COOKIE,
                    "__Secure-better-auth.session_token",
                    " better-auth.session_token ",
                    "theme",
                    "",
                ]),
                prop_oneof![select(signed.clone()), select(pieces)],
                select(vec!["; ", ";", " ;", ";;", "\t;"]),
            ),
            1..6
        )
        .prop_map(|parts| parts
            .iter()
            .map(|(name, value, sep)| format!("{name}={value}{sep}"))
            .collect::<String>()),
        // JWT-shaped text, sometimes after `Bearer `.
        1 => (
            select(vec!["", "Bearer ", "bearer  "]),
            "eyJ[A-Za-z0-9_-]{0,40}",
            "[A-Za-z0-9_-]{0,40}",
            "[A-Za-z0-9_-]{0,40}|[A-Za-z0-9_=.-]{0,40}",
        )
            .prop_map(|(scheme, h, p, sig)| format!("{scheme}{h}.{p}.{sig}")),
        // A signed value alone, perhaps after `Bearer `, perhaps with a character changed.
        1 => (
            select(vec!["", "Bearer ", "BEARER   ", " "]),
            select(signed),
            prop::option::weighted(0.5, (any::<Index>(), any::<char>())),
        )
            .prop_map(|(scheme, value, change)| {
                let mut chars: Vec<char> = value.chars().collect();
                if let Some((i, c)) = change {
                    let i = i.index(chars.len());
                    chars[i] = c;
                }
                format!("{scheme}{}", chars.into_iter().collect::<String>())
            }),
    ]
}

fn parse_lax(input: &str) -> Result<Credential, Refusal> {
    parse(input, &rules(false), SECRET)
}

/// Every invariant a single `parse` result must satisfy, whatever the input.
fn parse_is_consistent(input: &str) -> TestCaseResult {
    let lax = parse_lax(input);
    prop_assert_eq!(&lax, &parse_lax(input), "parse is not deterministic");

    // `requireSignature` changes exactly one outcome: a raw token becomes SIGNATURE_REQUIRED.
    let strict = parse(input, &rules(true), SECRET);
    let expected_strict = match &lax {
        Ok(Credential::Session {
            kind: CredentialKind::SessionToken,
            ..
        }) => Err(Refusal {
            kind: Some(CredentialKind::SessionToken),
            reason: Reason::SignatureRequired,
        }),
        other => other.clone(),
    };
    prop_assert_eq!(&strict, &expected_strict, "require_signature differs");

    // Surrounding whitespace never matters (within the size limit).
    let padded = format!(" \t{input}\r\n ");
    if padded.len() <= MAX_TOKEN_BYTES {
        prop_assert_eq!(&parse_lax(&padded), &lax, "padding changed the result");
    }

    let trimmed = input.trim();
    if input.len() > MAX_TOKEN_BYTES {
        prop_assert_eq!(
            lax,
            Err(Refusal {
                kind: None,
                reason: Reason::TooLarge
            })
        );
        return Ok(());
    }
    if trimmed.is_empty() {
        prop_assert_eq!(
            lax,
            Err(Refusal {
                kind: None,
                reason: Reason::Empty
            })
        );
        return Ok(());
    }
    match lax {
        Ok(Credential::Session {
            token,
            kind,
            dont_remember,
        }) => {
            prop_assert!(!token.is_empty(), "empty session token");
            prop_assert!(
                !token.chars().any(char::is_control),
                "control character in token {:?}",
                token
            );
            // Without the secret nothing but raw-token-shaped text (or a token we signed)
            // comes out.
            prop_assert!(
                token.bytes().all(is_token_byte),
                "token {:?} has bytes outside [A-Za-z0-9-_~+/=:]",
                token
            );
            prop_assert!(!dont_remember || kind == CredentialKind::SessionCookie);
            match kind {
                CredentialKind::SessionToken => {
                    let bare = strip_bearer(trimmed).map_or(trimmed, str::trim);
                    prop_assert_eq!(bare, token.as_str(), "raw token is not the input");
                }
                CredentialKind::SignedSessionToken => {
                    prop_assert!(
                        SIGNED_TOKENS.contains(&token.as_str()),
                        "forged signed token {:?}",
                        token
                    );
                }
                CredentialKind::SessionCookie => {
                    prop_assert!(SIGNED_TOKENS.contains(&token.as_str()));
                    prop_assert!(input.contains(SESSION_COOKIE));
                }
                CredentialKind::Jwt => prop_assert!(false, "a session of kind Jwt"),
            }
        }
        Ok(Credential::Jwt(jwt)) => {
            prop_assert!(jwt.starts_with("eyJ"));
            prop_assert_eq!(jwt.bytes().filter(|&b| b == b'.').count(), 2);
            prop_assert!(jwt.bytes().all(|b| is_b64url_byte(b) || b == b'.'));
            prop_assert!(trimmed.ends_with(&jwt), "JWT is not the tail of the input");
        }
        Err(Refusal { kind, reason }) => {
            prop_assert!(
                matches!(
                    reason,
                    Reason::Empty
                        | Reason::Malformed
                        | Reason::NoSessionCookie
                        | Reason::BadSignature
                ),
                "unexpected reason {:?}",
                reason
            );
            if reason == Reason::Empty {
                // Only a bare `Bearer` scheme is empty once trimmed.
                prop_assert_eq!(kind, None);
                prop_assert!(
                    strip_bearer(trimmed).is_some() || trimmed.eq_ignore_ascii_case("bearer")
                );
            }
            if reason == Reason::NoSessionCookie {
                prop_assert_eq!(kind, Some(CredentialKind::SessionCookie));
                prop_assert!(find_cookie(trimmed, SESSION_COOKIE).is_none());
            }
            if reason == Reason::BadSignature {
                prop_assert!(matches!(
                    kind,
                    Some(CredentialKind::SignedSessionToken | CredentialKind::SessionCookie)
                ));
            }
        }
    }
    Ok(())
}

/// A label for the outcome of `parse`, to show what the generated inputs reached.
fn outcome(r: &Result<Credential, Refusal>) -> String {
    match r {
        Ok(c) => format!("ok {:?}", c.kind()),
        Err(r) => format!("{}", r.reason),
    }
}

#[test]
fn parse_never_panics_and_is_consistent() {
    let seen = std::cell::RefCell::new(std::collections::BTreeMap::<String, u64>::new());
    check(
        "parse_never_panics_and_is_consistent",
        arbitrary_input(),
        |input| {
            *seen
                .borrow_mut()
                .entry(outcome(&parse_lax(&input)))
                .or_default() += 1;
            parse_is_consistent(&input)
        },
    );
    eprintln!(
        "prop_parsers::parse_never_panics_and_is_consistent outcomes: {:?}",
        seen.borrow()
    );
}

fn cookie_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9_.-]{1,20}",
        select(vec![
            "__Secure-better-auth.session_token",
            "better-auth.session_tokenx",
            "xbetter-auth.session_token",
            "better-auth.session_data",
            "better-auth-session_token",
            "Better-Auth.Session_Token",
            "session_token",
            "theme",
        ])
        .prop_map(str::to_owned),
    ]
    .prop_filter("not a cookie the parser reads", |n| {
        n != SESSION_COOKIE && n != DONT_REMEMBER_COOKIE
    })
}

/// One part of a Cookie header other than the session cookie (no `;` in it).
fn other_cookie() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (cookie_name(), "[A-Za-z0-9%._~=!*'()/+-]{0,30}")
            .prop_map(|(n, v)| format!("{n}={v}")),
        1 => (cookie_name(), "[A-Za-z0-9%._~=-]{0,30}").prop_map(|(n, v)| format!("{n}=\"{v}\"")),
        1 => "[A-Za-z0-9 ]{0,10}"
            .prop_filter("not a Bearer scheme", |p| strip_bearer(p.trim_start()).is_none()),
    ]
}

#[derive(Debug, Clone)]
struct CookieHeader {
    before: Vec<String>,
    after: Vec<String>,
    separators: Vec<&'static str>,
    /// 0: encodeURIComponent'd (what Better Auth sets), 1: raw `token.sig`, 2: quoted.
    value_form: u8,
    /// None: no dont_remember cookie; Some(v): one signed with value `v` ("true" counts).
    dont_remember: Option<&'static str>,
}

fn cookie_header() -> impl Strategy<Value = CookieHeader> {
    (
        vec(other_cookie(), 0..5),
        vec(other_cookie(), 0..5),
        vec(select(vec![";", "; ", " ; ", ";  ", "\t;"]), 12),
        0u8..3,
        prop_oneof![Just(None), Just(Some("true")), Just(Some("false"))],
    )
        .prop_map(
            |(before, after, separators, value_form, dont_remember)| CookieHeader {
                before,
                after,
                separators,
                value_form,
                dont_remember,
            },
        )
}

impl CookieHeader {
    fn render(&self, token: &str, secret: &[u8]) -> String {
        let signed = sign(token, secret);
        let value = match self.value_form {
            0 => encode_uri_component(&signed),
            1 => signed,
            _ => format!("\"{}\"", encode_uri_component(&signed)),
        };
        let mut parts = self.before.clone();
        parts.push(format!("{SESSION_COOKIE}={value}"));
        if let Some(v) = self.dont_remember {
            let dr = encode_uri_component(&sign(v, secret));
            parts.push(format!("{DONT_REMEMBER_COOKIE}={dr}"));
        }
        parts.extend(self.after.iter().cloned());
        let mut h = String::new();
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                h.push_str(self.separators[i % self.separators.len()]);
            }
            h.push_str(part);
        }
        h
    }
}

#[test]
fn signed_tokens_round_trip_in_every_form() {
    let strategy = (
        "[A-Za-z0-9]{1,64}",
        vec(any::<u8>(), 1..96),
        "[bB][eE][aA][rR][eE][rR]",
        " {1,3}",
        cookie_header(),
    );
    check(
        "signed_tokens_round_trip_in_every_form",
        strategy,
        |(token, secret, scheme, spaces, header)| {
            let signed = sign(&token, &secret);
            let encoded = encode_uri_component(&signed);
            let session = |input: &str, kind: CredentialKind, dont_remember: bool| {
                let got = parse(input, &rules(true), &secret);
                let want = Ok(Credential::Session {
                    token: token.clone(),
                    kind,
                    dont_remember,
                });
                if got == want {
                    Ok(())
                } else {
                    Err(TestCaseError::fail(format!(
                        "{input:?}: got {got:?}, want {want:?}"
                    )))
                }
            };
            let signed_kind = CredentialKind::SignedSessionToken;
            session(&signed, signed_kind, false)?;
            session(&encoded, signed_kind, false)?;
            session(&format!("{scheme}{spaces}{signed}"), signed_kind, false)?;
            session(&format!("{scheme}{spaces}{encoded} "), signed_kind, false)?;
            let h = header.render(&token, &secret);
            let dr = header.dont_remember == Some("true");
            session(&h, CredentialKind::SessionCookie, dr)?;
            // The raw token itself, when raw tokens are allowed.
            prop_assert_eq!(
                parse(&format!("{scheme}{spaces}{token}"), &rules(false), &secret),
                Ok(Credential::Session {
                    token: token.clone(),
                    kind: CredentialKind::SessionToken,
                    dont_remember: false,
                })
            );
            // Another secret never accepts it.
            let mut other = secret.clone();
            other[0] ^= 1;
            for input in [&signed, &encoded, &h] {
                let r = parse(input, &rules(true), &other).map_err(|r| r.reason);
                prop_assert_eq!(r, Err(Reason::BadSignature), "{:?}", input);
            }
            Ok(())
        },
    );
}

#[derive(Debug, Clone, Copy)]
enum Where {
    Raw,
    Encoded,
    Cookie,
}

#[test]
fn a_changed_signature_or_token_is_refused() {
    let strategy = (
        "[A-Za-z0-9]{1,64}",
        vec(any::<u8>(), 1..64),
        any::<Index>(),
        prop_oneof![
            3 => select(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
                    .chars()
                    .collect::<Vec<_>>()
            ),
            1 => select("-_.%;= \t\"é".chars().collect::<Vec<_>>()),
            1 => any::<char>(),
        ],
        prop_oneof![Just(Where::Raw), Just(Where::Encoded), Just(Where::Cookie)],
        any::<Index>(),
        "[A-Za-z0-9]",
    );
    check(
        "a_changed_signature_or_token_is_refused",
        strategy,
        |(token, secret, at, c, place, token_at, token_c)| {
            let signed = sign(&token, &secret);
            let sig = &signed[token.len() + 1..];
            prop_assert_eq!(sig.len(), 44);
            let (prefix, value) = match place {
                Where::Raw => (String::new(), sig.to_owned()),
                Where::Encoded => (String::new(), encode_uri_component(sig)),
                Where::Cookie => (
                    format!("theme=dark; {SESSION_COOKIE}="),
                    encode_uri_component(sig),
                ),
            };
            // Replace one character of the signature, as it is presented.
            let chars: Vec<char> = value.chars().collect();
            let i = at.index(chars.len());
            prop_assume!(chars[i] != c);
            let mut flipped: Vec<char> = chars.clone();
            flipped[i] = c;
            let flipped: String = flipped.into_iter().collect();
            let input = format!("{prefix}{token}.{flipped}");
            let got = parse(&input, &rules(true), &secret);
            // What the server sees after URL-decoding; equal to the original only when the
            // change was a no-op such as `%2B` → `%2b`.
            let seen = decode_uri_component(&flipped).unwrap_or_else(|| flipped.clone());
            if seen == sig {
                prop_assert!(got.is_ok(), "{:?}: {:?}", input, got);
                return Ok(());
            }
            match got {
                Ok(Credential::Session { .. }) => {
                    prop_assert!(false, "accepted a changed signature: {:?}", input)
                }
                // A value that now has JWT shape is handed on to the JWT verifier.
                Ok(Credential::Jwt(_)) => {}
                Err(r) => {
                    prop_assert!(
                        matches!(
                            r.reason,
                            Reason::BadSignature | Reason::Malformed | Reason::NoSessionCookie
                        ),
                        "{:?}: {:?}",
                        input,
                        r
                    );
                    // A base64 character in place of another, inside the 42 characters
                    // that carry whole sextets, is a well-formed signature that is wrong.
                    if matches!(place, Where::Raw) && i < 42 && c.is_ascii_alphanumeric() {
                        prop_assert_eq!(r.reason, Reason::BadSignature, "{:?}", input);
                    }
                    if r.reason == Reason::NoSessionCookie {
                        prop_assert!(c == ';' && matches!(place, Where::Raw | Where::Encoded));
                    }
                }
            }
            // A changed token (same signature) is a bad signature.
            let mut t: Vec<char> = token.chars().collect();
            let j = token_at.index(t.len());
            let tc = token_c.chars().next().unwrap_or('x');
            if t[j] != tc {
                t[j] = tc;
                let changed = format!("{}.{sig}", t.into_iter().collect::<String>());
                let r = parse(&changed, &rules(true), &secret).map_err(|r| r.reason);
                prop_assert_eq!(r, Err(Reason::BadSignature), "{:?}", changed);
            }
            Ok(())
        },
    );
}

#[test]
fn uri_component_round_trips() {
    check(
        "uri_component_round_trips",
        (
            vec(any::<char>(), 0..64).prop_map(String::from_iter),
            arbitrary_input(),
        ),
        |(s, noise)| {
            let enc = encode_uri_component(&s);
            prop_assert!(enc.is_ascii());
            prop_assert!(enc
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.!~*'()%".contains(&b)));
            prop_assert_eq!(decode_uri_component(&enc), Some(s.clone()));
            // JavaScript accepts lower-case escapes too.
            let lower = lower_hex_escapes(&enc);
            prop_assert_eq!(decode_uri_component(&lower), Some(s.clone()));
            // A cookie holding it gives it back.
            let h = format!("a=b; {SESSION_COOKIE}={enc}; {SESSION_COOKIE}=second");
            prop_assert_eq!(find_cookie(&h, SESSION_COOKIE), Some(s.clone()));
            // Decoding arbitrary text never panics; text without `%` is its own decoding,
            // and a successful decoding re-encodes to an equivalent form.
            let d = decode_uri_component(&noise);
            if !noise.contains('%') {
                prop_assert_eq!(d, Some(noise.clone()));
            } else if let Some(d) = d {
                prop_assert!(d.len() < noise.len());
                prop_assert_eq!(decode_uri_component(&encode_uri_component(&d)), Some(d));
            }
            let _ = verify(&noise, SECRET);
            let _ = find_cookie(&noise, SESSION_COOKIE);
            Ok(())
        },
    );
}

fn lower_hex_escapes(enc: &str) -> String {
    let mut out = String::with_capacity(enc.len());
    let mut after_percent = 0;
    for c in enc.chars() {
        if c == '%' {
            after_percent = 2;
            out.push(c);
        } else if after_percent > 0 {
            after_percent -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// JWTs

const JWT_SECRET: &str = "prop-jwt-secret-0123456789abcdefghijklmnop";
const ORIGIN: &str = "http://127.0.0.1:3000";
const NOW: i64 = 1_795_520_081;

struct JwtFixture {
    rt: tokio::runtime::Runtime,
    verifier: Verifier,
    /// Same keys, HS256 with the secret also accepted.
    hs256_verifier: Verifier,
    keys: Vec<(JwkRow, SigningKey)>,
}

fn now() -> DateTime<Utc> {
    Utc.timestamp_opt(NOW, 0).single().unwrap_or_default()
}

impl JwtFixture {
    fn new() -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let secrets = Arc::new(Secrets::from_secret(JWT_SECRET).expect("secret"));
        let keys: Vec<(JwkRow, SigningKey)> = [Alg::EdDSA, Alg::ES256, Alg::ES512]
            .into_iter()
            .map(|alg| {
                let mut s = JwtSettings::for_origin(ORIGIN);
                s.alg = alg;
                new_jwk_row(&s, &secrets, now() - TimeDelta::hours(1)).expect("key")
            })
            .collect();
        let rows: Vec<JwkRow> = keys.iter().map(|(r, _)| r.clone()).collect();
        let verifier = |allow_hs256: bool| {
            let mut settings = JwtSettings::for_origin(ORIGIN);
            settings.allow_hs256_shared_secret = allow_hs256;
            let clock = Arc::new(FixedClock::at(now()));
            let set = rt
                .block_on(KeySet::from_rows(rows.clone(), &settings, clock.clone()))
                .expect("key set");
            Verifier::new(Arc::new(set), Arc::new(settings), secrets.clone(), clock)
        };
        Self {
            verifier: verifier(false),
            hs256_verifier: verifier(true),
            rt,
            keys,
        }
    }

    fn verify(&self, token: &str) -> Result<VerifiedJwt, TokenError> {
        self.rt
            .block_on(self.verifier.verify(token, VerifyOptions::default()))
    }

    fn verify_hs256(&self, token: &str) -> Result<VerifiedJwt, TokenError> {
        self.rt
            .block_on(self.hs256_verifier.verify(token, VerifyOptions::default()))
    }

    /// A genuine token for `sub`, signed with key `k` (EdDSA, ES256, ES512).
    fn token(&self, k: usize, sub: &str) -> String {
        let (row, key) = &self.keys[k % self.keys.len()];
        let claims = json!({"iat": NOW, "name": "n", "sub": sub, "exp": NOW + 900, "iss": ORIGIN, "aud": ORIGIN});
        sign_compact(key, &row.id, claims.as_object().expect("object")).expect("sign")
    }

    /// `b64(header).b64(payload)` signed with key `k`, however wrong header and payload are.
    fn forge(&self, k: usize, header: &Value, payload: &Value) -> String {
        let (_, key) = &self.keys[k % self.keys.len()];
        let input = format!("{}.{}", b64(header.to_string()), b64(payload.to_string()));
        let sig = key.sign(input.as_bytes()).expect("sign");
        format!("{input}.{sig}")
    }
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The refusal reason, failing the case for any error that is not a refusal (none of the
/// verifier's other errors can come from the token itself).
fn refused(r: Result<VerifiedJwt, TokenError>, input: &str) -> Result<Reason, TestCaseError> {
    match r {
        Ok(v) => Err(TestCaseError::fail(format!(
            "{input:?} verified (sub {:?})",
            v.sub
        ))),
        Err(TokenError::Refused(reason)) => Ok(reason),
        Err(e) => Err(TestCaseError::fail(format!(
            "{input:?}: not a refusal: {e}"
        ))),
    }
}

fn is_jwt_reason(r: Reason) -> bool {
    matches!(
        r,
        Reason::TooLarge
            | Reason::JwtMalformed
            | Reason::JwtAlgNotAllowed
            | Reason::JwtForbiddenHeader
            | Reason::JwtUnknownKey
            | Reason::JwtBadSignature
            | Reason::JwtExpired
            | Reason::JwtNotYetValid
            | Reason::JwtBadIssuer
            | Reason::JwtBadAudience
            | Reason::JwtMissingSubject
    )
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from), // NaN and infinities become null
        prop_oneof![
            Just(ORIGIN.to_owned()),
            Just("EdDSA".to_owned()),
            Just("none".to_owned()),
            ".{0,12}"
        ]
        .prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            vec(
                (
                    select(vec![
                        "alg", "kid", "typ", "crit", "jku", "exp", "iat", "nbf", "iss", "aud",
                        "sub", "x",
                    ])
                    .prop_map(str::to_owned),
                    inner
                ),
                0..6
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Strings that are, or nearly are, three base64url segments.
fn three_segments(kids: Vec<String>) -> impl Strategy<Value = String> {
    let header = prop_oneof![
        json_value().boxed(),
        (
            select(vec![
                "EdDSA", "ES256", "ES512", "RS256", "PS256", "HS256", "none", "", "eddsa"
            ]),
            prop_oneof![
                select(kids).prop_map(Value::String).boxed(),
                json_leaf().boxed(),
            ],
        )
            .prop_map(|(alg, kid)| json!({"alg": alg, "kid": kid}))
            .boxed(),
    ];
    prop_oneof![
        (
            "[A-Za-z0-9_-]{0,120}",
            "[A-Za-z0-9_-]{0,120}",
            "[A-Za-z0-9_-]{0,120}"
        )
            .prop_map(|(a, b, c)| format!("{a}.{b}.{c}")),
        (
            vec(any::<char>(), 0..60).prop_map(String::from_iter),
            vec(any::<char>(), 0..60).prop_map(String::from_iter),
            vec(any::<char>(), 0..60).prop_map(String::from_iter),
        )
            .prop_map(|(a, b, c)| format!("eyJ{a}.{b}.{c}")),
        (header, json_value(), vec(any::<u8>(), 0..140)).prop_map(|(h, p, s)| format!(
            "{}.{}.{}",
            b64(h.to_string()),
            b64(p.to_string()),
            b64(s)
        )),
        vec(
            select(vec![".", "eyJ", "A", "_", "-", "=", " ", "é", "e30"]),
            0..40
        )
        .prop_map(|v| v.concat()),
    ]
}

#[test]
fn jwt_verify_never_panics_on_arbitrary_segments() {
    let fx = JwtFixture::new();
    let kids: Vec<String> = fx.keys.iter().map(|(r, _)| r.id.clone()).collect();
    check(
        "jwt_verify_never_panics_on_arbitrary_segments",
        three_segments(kids),
        |token| {
            let r = refused(fx.verify(&token), &token)?;
            prop_assert!(is_jwt_reason(r), "{:?}: {:?}", token, r);
            let r = refused(fx.verify_hs256(&token), &token)?;
            prop_assert!(is_jwt_reason(r), "{:?}: {:?}", token, r);
            // The credential parser never panics on it either.
            let _ = parse_lax(&token);
            Ok(())
        },
    );
}

#[derive(Debug, Clone)]
enum Mutation {
    BitFlip(Index, u8),
    Replace(Index, char),
    Insert(Index, char),
    Delete(Index),
    Truncate(Index),
    /// A non-identity permutation of the three segments (index into PERMUTATIONS).
    Swap(usize),
    Duplicate(usize),
    Append(&'static str),
}

const PERMUTATIONS: [[usize; 3]; 5] = [[0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::BitFlip(i, b)),
        2 => (any::<Index>(), prop_oneof![
                select("AQgw-_.=+/ ".chars().collect::<Vec<_>>()),
                any::<char>()
            ])
            .prop_map(|(i, c)| Mutation::Replace(i, c)),
        1 => (any::<Index>(), select("A-_.= \n".chars().collect::<Vec<_>>()))
            .prop_map(|(i, c)| Mutation::Insert(i, c)),
        1 => any::<Index>().prop_map(Mutation::Delete),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        1 => (0usize..5).prop_map(Mutation::Swap),
        1 => (0usize..3).prop_map(Mutation::Duplicate),
        1 => select(vec![".", "=", " ", "\n", "A", ".e30"]).prop_map(Mutation::Append),
    ]
}

fn mutate(token: &str, m: &Mutation) -> String {
    let mut bytes = token.as_bytes().to_vec();
    let segs: Vec<&str> = token.split('.').collect();
    match m {
        Mutation::BitFlip(i, bit) => {
            let i = i.index(bytes.len());
            bytes[i] ^= 1 << bit;
            return String::from_utf8_lossy(&bytes).into_owned();
        }
        Mutation::Replace(i, c) => {
            let i = i.index(bytes.len());
            let mut s = token.to_owned();
            s.replace_range(i..i + 1, &c.to_string());
            return s;
        }
        Mutation::Insert(i, c) => {
            let mut s = token.to_owned();
            s.insert(i.index(bytes.len() + 1), *c);
            return s;
        }
        Mutation::Delete(i) => {
            bytes.remove(i.index(bytes.len()));
        }
        Mutation::Truncate(i) => bytes.truncate(i.index(bytes.len())),
        Mutation::Swap(p) => {
            let p = PERMUTATIONS[*p];
            return format!("{}.{}.{}", segs[p[0]], segs[p[1]], segs[p[2]]);
        }
        Mutation::Duplicate(k) => {
            let mut s = segs.clone();
            s.insert(*k, segs[*k]);
            return s.join(".");
        }
        Mutation::Append(tail) => return format!("{token}{tail}"),
    }
    String::from_utf8(bytes).expect("token is ASCII")
}

#[test]
fn only_the_untouched_jwt_verifies() {
    let fx = JwtFixture::new();
    check(
        "only_the_untouched_jwt_verifies",
        (0usize..3, "[A-Za-z0-9]{1,32}", mutation()),
        |(k, sub, m)| {
            let token = fx.token(k, &sub);
            let ok = fx
                .verify(&token)
                .map_err(|e| TestCaseError::fail(format!("genuine token refused: {e}")))?;
            prop_assert_eq!(&ok.sub, &sub);
            prop_assert_eq!(ok.exp, NOW + 900);
            let bad = mutate(&token, &m);
            if bad == token {
                return Ok(()); // e.g. Replace with the same character
            }
            let r = refused(fx.verify(&bad), &bad)?;
            prop_assert!(is_jwt_reason(r), "{:?}: {:?}", bad, r);
            let r = refused(fx.verify_hs256(&bad), &bad)?;
            prop_assert!(is_jwt_reason(r), "{:?}: {:?}", bad, r);
            Ok(())
        },
    );
}

#[derive(Debug, Clone, Copy)]
enum NonCanonical {
    /// `=` or `==` appended.
    Padding,
    /// The unused low bits of the last character set (same bytes for a lax decoder).
    TrailingBits,
    /// `+`/`/` of the standard alphabet in place of `-`/`_` (or added).
    StandardAlphabet,
    /// A space, tab, CR or LF inside the segment.
    Whitespace,
    /// A length no byte string encodes to (4n+1).
    ImpossibleLength,
}

/// Decodes like a lenient library would: padding optional, trailing bits ignored.
const LAX: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn non_canonical(seg: &str, how: NonCanonical, at: &Index, pick: u8) -> String {
    let mut s = seg.to_owned();
    match how {
        NonCanonical::Padding => s.push_str(if pick.is_multiple_of(2) { "=" } else { "==" }),
        NonCanonical::TrailingBits => {
            let spare_bits: u8 = match s.len() % 4 {
                2 => 4,
                3 => 2,
                // A whole number of 3-byte groups has no spare bits: pad instead.
                _ => return non_canonical(seg, NonCanonical::Padding, at, pick),
            };
            let last = s.pop().expect("non-empty segment");
            let v = B64URL
                .iter()
                .position(|&b| b == last as u8)
                .expect("b64url") as u8;
            let low = 1 + pick % ((1 << spare_bits) - 1);
            s.push(B64URL[((v & !((1 << spare_bits) - 1)) | low) as usize] as char);
        }
        NonCanonical::StandardAlphabet => {
            if s.contains(['-', '_']) {
                s = s.replace('-', "+").replace('_', "/");
            } else {
                s.insert(
                    at.index(s.len() + 1),
                    if pick.is_multiple_of(2) { '+' } else { '/' },
                );
            }
        }
        NonCanonical::Whitespace => {
            let ws = [' ', '\t', '\r', '\n'][usize::from(pick % 4)];
            s.insert(at.index(s.len() + 1), ws);
        }
        NonCanonical::ImpossibleLength => {
            s.push('A');
            while s.len() % 4 != 1 {
                s.push('A');
            }
        }
    }
    s
}

#[test]
fn non_canonical_base64url_segments_are_malformed() {
    let fx = JwtFixture::new();
    let how = prop_oneof![
        Just(NonCanonical::Padding),
        Just(NonCanonical::TrailingBits),
        Just(NonCanonical::StandardAlphabet),
        Just(NonCanonical::Whitespace),
        Just(NonCanonical::ImpossibleLength),
    ];
    check(
        "non_canonical_base64url_segments_are_malformed",
        (
            0usize..3,
            "[A-Za-z0-9]{1,40}",
            0usize..3,
            how,
            any::<Index>(),
            any::<u8>(),
        ),
        |(k, sub, seg, how, at, pick)| {
            let token = fx.token(k, &sub);
            let mut segs: Vec<String> = token.split('.').map(str::to_owned).collect();
            let changed = non_canonical(&segs[seg], how, &at, pick);
            prop_assert_ne!(&changed, &segs[seg]);
            if matches!(how, NonCanonical::TrailingBits) && !segs[seg].len().is_multiple_of(4) {
                // The test's own premise: a lax decoder reads the same bytes.
                prop_assert_eq!(LAX.decode(&changed).ok(), LAX.decode(&segs[seg]).ok());
            }
            segs[seg] = changed;
            let bad = segs.join(".");
            let r = refused(fx.verify(&bad), &bad)?;
            prop_assert_eq!(r, Reason::JwtMalformed, "{:?}", bad);
            Ok(())
        },
    );
}

#[derive(Debug, Clone)]
enum HeaderCase {
    Good,
    Typ,
    Forbidden(&'static str),
    OtherAlg(&'static str),
    NoAlg,
    NoKid,
    UnknownKid(String),
    KidNotString(Value),
}

/// A claim: absent, or this value.
type Claim = Option<Value>;

#[derive(Debug, Clone)]
struct Claims {
    exp: Claim,
    iat: Claim,
    nbf: Claim,
    iss: Claim,
    aud: Claim,
    sub: Claim,
    extra: Vec<(String, Value)>,
    not_an_object: bool,
}

fn claim(values: Vec<Value>) -> impl Strategy<Value = Claim> {
    prop_oneof![1 => Just(None), 6 => select(values).prop_map(Some)]
}

fn claims() -> impl Strategy<Value = Claims> {
    (
        claim(vec![
            json!(NOW - 1),
            json!(NOW),
            json!(NOW + 1),
            json!(NOW + 900),
            json!(NOW as f64 + 0.5),
            json!(NOW as f64 - 0.5),
            json!(1e300),
            json!(-1e300),
            json!(i64::MAX),
            json!(u64::MAX),
            json!("soon"),
            json!(null),
            json!([NOW + 900]),
        ]),
        claim(vec![json!(NOW), json!(0), json!("now"), json!(null)]),
        prop_oneof![
            3 => Just(None),
            1 => claim(vec![json!(NOW), json!(NOW + 1), json!(NOW as f64 + 0.5), json!("x"), json!(true)]),
        ],
        claim(vec![
            json!(ORIGIN),
            json!("http://evil"),
            json!([ORIGIN]),
            json!(null),
        ]),
        claim(vec![
            json!(ORIGIN),
            json!([ORIGIN]),
            json!(["x", ORIGIN]),
            json!([]),
            json!("x"),
            json!(null),
            json!(42),
            json!([[ORIGIN]]),
        ]),
        claim(vec![json!("u1"), json!("é😀"), json!(""), json!(42), json!(null)]),
        vec(("[a-z]{1,8}", json_value()), 0..4),
        prop::bool::weighted(0.03),
    )
        .prop_map(
            |(exp, iat, nbf, iss, aud, sub, extra, not_an_object)| Claims {
                exp,
                iat,
                nbf,
                iss,
                aud,
                sub,
                extra,
                not_an_object,
            },
        )
}

impl Claims {
    fn to_json(&self) -> Value {
        if self.not_an_object {
            return json!([self.sub]);
        }
        let mut m = Map::new();
        for (k, v) in &self.extra {
            m.insert(k.clone(), v.clone());
        }
        for (k, v) in [
            ("exp", &self.exp),
            ("iat", &self.iat),
            ("nbf", &self.nbf),
            ("iss", &self.iss),
            ("aud", &self.aud),
            ("sub", &self.sub),
        ] {
            match v {
                Some(v) => m.insert(k.into(), v.clone()),
                None => m.remove(k),
            };
        }
        Value::Object(m)
    }

    /// What Better Auth's verifyJWT (jose) decides for these claims, in jose's order.
    fn expected(&self) -> Result<(String, i64), Reason> {
        if self.not_an_object {
            return Err(Reason::JwtMalformed);
        }
        let numeric = |c: &Claim| match c {
            None => Ok(None),
            Some(v) => v.as_f64().map(Some).ok_or(Reason::JwtMalformed),
        };
        let exp = numeric(&self.exp)?.ok_or(Reason::JwtMalformed)?;
        numeric(&self.iat)?;
        if exp <= NOW as f64 {
            return Err(Reason::JwtExpired);
        }
        if numeric(&self.nbf)?.is_some_and(|nbf| nbf > NOW as f64) {
            return Err(Reason::JwtNotYetValid);
        }
        if self.iss != Some(json!(ORIGIN)) {
            return Err(Reason::JwtBadIssuer);
        }
        let aud_ok = match &self.aud {
            Some(Value::String(a)) => a == ORIGIN,
            Some(Value::Array(list)) => list.iter().any(|a| *a == ORIGIN),
            _ => false,
        };
        if !aud_ok {
            return Err(Reason::JwtBadAudience);
        }
        match &self.sub {
            Some(Value::String(s)) if !s.is_empty() => Ok((s.clone(), exp.floor() as i64)),
            _ => Err(Reason::JwtMissingSubject),
        }
    }
}

#[test]
fn signed_jwts_are_judged_by_header_and_claims_exactly() {
    let fx = JwtFixture::new();
    let header = prop_oneof![
        4 => Just(HeaderCase::Good),
        1 => Just(HeaderCase::Typ),
        1 => select(vec!["crit", "jku", "x5u", "jwk", "x5c"]).prop_map(HeaderCase::Forbidden),
        1 => select(vec!["EdDSA", "ES256", "ES512", "RS256", "PS256", "HS256", "none", "NONE", "eddsa"])
            .prop_map(HeaderCase::OtherAlg),
        1 => Just(HeaderCase::NoAlg),
        1 => Just(HeaderCase::NoKid),
        1 => prop_oneof!["[A-Za-z0-9]{0,40}", ".{0,8}", "[a-z]{129,140}"].prop_map(HeaderCase::UnknownKid),
        1 => json_leaf().prop_map(HeaderCase::KidNotString),
    ];
    check(
        "signed_jwts_are_judged_by_header_and_claims_exactly",
        (0usize..3, header, claims()),
        |(k, header, claims)| {
            let (row, key) = &fx.keys[k];
            let alg = key.alg().as_str();
            let kid = row.id.as_str();
            let (h, header_verdict): (Value, Option<Reason>) = match &header {
                HeaderCase::Good => (json!({"alg": alg, "kid": kid}), None),
                HeaderCase::Typ => (json!({"kid": kid, "typ": "JWT", "alg": alg}), None),
                HeaderCase::Forbidden(f) => (
                    json!({"alg": alg, "kid": kid, *f: "x"}),
                    Some(Reason::JwtForbiddenHeader),
                ),
                HeaderCase::OtherAlg(a) => (
                    json!({"alg": a, "kid": kid}),
                    (*a != alg).then_some(Reason::JwtAlgNotAllowed),
                ),
                HeaderCase::NoAlg => (json!({"kid": kid}), Some(Reason::JwtMalformed)),
                HeaderCase::NoKid => (json!({"alg": alg}), Some(Reason::JwtUnknownKey)),
                HeaderCase::UnknownKid(id) => (
                    json!({"alg": alg, "kid": id}),
                    (id != kid).then_some(Reason::JwtUnknownKey),
                ),
                HeaderCase::KidNotString(v) => (
                    json!({"alg": alg, "kid": v}),
                    match v {
                        // json_leaf also makes strings: then it is just an unknown kid.
                        Value::String(s) => (s != kid).then_some(Reason::JwtUnknownKey),
                        _ => Some(Reason::JwtMalformed),
                    },
                ),
            };
            let token = fx.forge(k, &h, &claims.to_json());
            let got = fx.verify(&token);
            let want = match header_verdict {
                Some(r) => Err(r),
                None => claims.expected(),
            };
            match (&got, &want) {
                (Ok(v), Ok((sub, exp))) => {
                    prop_assert_eq!(&v.sub, sub);
                    prop_assert_eq!(v.exp, *exp);
                    prop_assert_eq!(v.kid.as_deref(), Some(kid));
                    prop_assert_eq!(v.alg, alg);
                    // Compared with the payload as JSON text parses (floats included).
                    let payload: Value = serde_json::from_str(&claims.to_json().to_string())
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    prop_assert_eq!(&Value::Object(v.claims.clone()), &payload);
                }
                (Err(TokenError::Refused(g)), Err(w)) => prop_assert_eq!(g, w),
                _ => prop_assert!(false, "{:?}: got {:?}, want {:?}", token, got, want),
            }
            Ok(())
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Linear time

/// The CPU time this thread has used: on a busy machine the other processes' share of the
/// cores does not count, as it would with wall-clock time.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn cpu_clock() -> Duration {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

/// Elsewhere, wall-clock time since the first call.
#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn cpu_clock() -> Duration {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed()
}

/// How long `reps` calls of `f` take (thread CPU time).
fn timed(reps: u32, f: &dyn Fn()) -> Duration {
    let start = cpu_clock();
    for _ in 0..reps {
        f();
    }
    cpu_clock().saturating_sub(start)
}

/// `shape(n)` is an input of n bytes; the time per byte for n = 8 KiB must stay well below
/// the 8× more a quadratic algorithm would need than for n = 1 KiB (ratio of the times per
/// call: linear 8, quadratic 64, limit 32).
///
/// Robust on a busy 2-core machine: the clock is this thread's CPU time (other processes'
/// share does not count), both sizes are timed alternately, nine times each (at least 4 ms
/// of work per small window), and the best window of each counts.
fn assert_linear(name: &str, shape: &dyn Fn(usize) -> String, run: &dyn Fn(&str)) -> f64 {
    const SMALL: usize = 1024;
    const LARGE: usize = 8 * 1024;
    let (small, large) = (shape(SMALL), shape(LARGE));
    assert!(small.len() <= SMALL && large.len() <= LARGE && large.len() > LARGE * 7 / 8);
    let (run_small, run_large) = (|| run(&small), || run(&large));
    let mut reps = 8u32;
    while reps < 1 << 22 && timed(reps, &run_small) < Duration::from_millis(4) {
        reps *= 2;
    }
    let reps_large = reps / 8;
    let (mut t_small, mut t_large) = (Duration::MAX, Duration::MAX);
    for _ in 0..9 {
        t_small = t_small.min(timed(reps, &run_small));
        t_large = t_large.min(timed(reps_large, &run_large));
    }
    let per_small = t_small.as_secs_f64() / f64::from(reps);
    let per_large = t_large.as_secs_f64() / f64::from(reps_large);
    let ratio = per_large / per_small.max(1e-12);
    eprintln!(
        "prop_parsers::linear_time {name}: {} B {:.2} µs/call, {} B {:.2} µs/call, ratio {ratio:.1}",
        small.len(),
        per_small * 1e6,
        large.len(),
        per_large * 1e6,
    );
    assert!(
        ratio < 32.0,
        "{name}: {} bytes take {ratio:.1}× the time of {} bytes (linear: 8×, limit 32×)",
        large.len(),
        small.len()
    );
    ratio
}

/// Makes an input of (about) n bytes.
type Shape = Box<dyn Fn(usize) -> String>;

/// `unit` repeated to n bytes, after `prefix` and before `suffix`.
fn run_of(prefix: &str, unit: &str, suffix: &str, n: usize) -> String {
    let body = n - prefix.len() - suffix.len();
    let mut s = String::with_capacity(n);
    s.push_str(prefix);
    s.push_str(&unit.repeat(body / unit.len()));
    s.push_str(suffix);
    s
}

#[test]
fn parsing_is_linear_time() {
    let fake_sig = "A".repeat(43) + "=";
    let shapes: Vec<(&str, Shape)> = vec![
        ("a=; run", Box::new(|n| run_of("", "a=;", "", n))),
        ("; run", Box::new(|n| run_of("", ";", "", n))),
        ("= run", Box::new(|n| run_of("", "=", "", n))),
        ("% run", Box::new(|n| run_of("", "%", "", n))),
        ("%41 run", Box::new(|n| run_of("", "%41", "", n))),
        ("%E0%A4 run", Box::new(|n| run_of("", "%E0%A4", "", n))),
        (". run", Box::new(|n| run_of("", ".", "", n))),
        ("a. run", Box::new(|n| run_of("", "a.", "", n))),
        ("\" run", Box::new(|n| run_of("", "\"", "", n))),
        ("é run", Box::new(|n| run_of("", "é", "", n))),
        ("spaces then x", Box::new(|n| run_of("", " ", "x", n))),
        ("Bearer . run", Box::new(|n| run_of("Bearer ", ".", "", n))),
        (
            "long token, 44-char signature",
            Box::new(move |n| run_of("", "a", &format!(".{fake_sig}"), n)),
        ),
        (
            "session cookie of %41",
            Box::new(|n| run_of(&format!("{SESSION_COOKIE}="), "%41", ".x", n)),
        ),
        (
            "repeated session cookies",
            Box::new(|n| run_of("", &format!("{SESSION_COOKIE}=x; "), "", n)),
        ),
        ("JWT shape", Box::new(|n| run_of("eyJ", "A", "..", n))),
    ];
    let start = Instant::now();
    for (name, shape) in &shapes {
        assert_linear(name, shape.as_ref(), &|s| {
            let _ = std::hint::black_box(parse_lax(std::hint::black_box(s)));
        });
    }

    let fx = JwtFixture::new();
    let kid = fx.keys[0].0.id.clone();
    let header = b64(json!({"alg": "EdDSA", "kid": kid}).to_string());
    let sig = b64([7u8; 64]);
    let jwt_shapes: Vec<(&str, Shape)> = vec![
        ("JWT: . run", Box::new(|n| run_of("", ".", "", n))),
        ("JWT: A run", Box::new(|n| run_of("", "A", "", n))),
        (
            "JWT: long header",
            Box::new(|n| run_of("eyJ", "A", "..", n)),
        ),
        (
            "JWT: long header JSON string",
            Box::new(|n| {
                let k = (n - 16) * 3 / 4 - 12;
                format!(
                    "{}.e30.{}",
                    b64(format!("{{\"alg\":\"{}\"}}", "a".repeat(k))),
                    "AAAA"
                )
            }),
        ),
        (
            "JWT: nested arrays",
            Box::new(|n| format!("{}.e30.AAAA", b64("[".repeat((n - 12) * 3 / 4)))),
        ),
        (
            "JWT: long payload, real kid",
            Box::new(move |n| {
                let k = (n - header.len() - sig.len() - 2) * 3 / 4 - 12;
                let payload = b64(format!("{{\"a\":\"{}\"}}", "a".repeat(k)));
                format!("{header}.{payload}.{sig}")
            }),
        ),
    ];
    for (name, shape) in &jwt_shapes {
        assert_linear(name, shape.as_ref(), &|s| {
            let _ = std::hint::black_box(fx.verify(std::hint::black_box(s)));
        });
    }
    eprintln!(
        "prop_parsers::linear_time: {} shapes in {:.2?}",
        shapes.len() + jwt_shapes.len(),
        start.elapsed()
    );
}
