//! JWTs: `token::Verifier::verify` over arbitrary, mutated, non-canonical and forged tokens.
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use better_auth_grpc::domain::reason::Reason;
use better_auth_grpc::test_util::{b64, BlockingFixture, NOW, ORIGIN};
use better_auth_grpc::token::{Alg, TokenError, VerifiedJwt};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use serde_json::{json, Map, Value};

use crate::check;
use crate::credentials::parse_lax;

/// EdDSA, ES256 and ES512 keys (`pair(0..3)`), verifiers with HS256 off and on.
pub(crate) fn fixture() -> BlockingFixture {
    BlockingFixture::new(&[Alg::ES512])
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
    let fx = fixture();
    let kids = fx.kids();
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
    let fx = fixture();
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
    let fx = fixture();
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
    let fx = fixture();
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
            let (row, key) = fx.pair(k);
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
