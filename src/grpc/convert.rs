//! Domain values to their proto messages.
use chrono::{DateTime, Utc};
use prost_types::{value::Kind, ListValue, Struct, Timestamp, Value};

use crate::auth::credential::CredentialKind;
use crate::domain::{model, reason::Reason};
use crate::proto::auth::v1 as pb;

/// `google.protobuf.Timestamp` holds years 1 to 9999 only: a date past either end (PostgreSQL's
/// `infinity`, docs/better-auth-compat.md §1.4) is sent as that end, so clients that check the
/// range can still read it. A leap second's nanos fold into the second before.
pub fn timestamp(t: &DateTime<Utc>) -> Timestamp {
    const FIRST: i64 = -62_135_596_800; // 0001-01-01T00:00:00Z
    const LAST: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    let nanos = t.timestamp_subsec_nanos().min(999_999_999) as i32;
    match t.timestamp() {
        s if s < FIRST => Timestamp {
            seconds: FIRST,
            nanos: 0,
        },
        s if s > LAST => Timestamp {
            seconds: LAST,
            nanos: 999_999_999,
        },
        seconds => Timestamp { seconds, nanos },
    }
}

pub fn json_value(v: &serde_json::Value) -> Value {
    let kind = match v {
        serde_json::Value::Null => Kind::NullValue(0),
        serde_json::Value::Bool(b) => Kind::BoolValue(*b),
        serde_json::Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        serde_json::Value::String(s) => Kind::StringValue(s.clone()),
        serde_json::Value::Array(a) => Kind::ListValue(ListValue {
            values: a.iter().map(json_value).collect(),
        }),
        serde_json::Value::Object(o) => Kind::StructValue(json_struct(o.iter())),
    };
    Value { kind: Some(kind) }
}

pub fn json_struct<'a>(
    fields: impl Iterator<Item = (&'a String, &'a serde_json::Value)>,
) -> Struct {
    Struct {
        fields: fields.map(|(k, v)| (k.clone(), json_value(v))).collect(),
    }
}

pub fn user(u: &model::User) -> pb::User {
    pb::User {
        id: u.id.clone(),
        name: u.name.clone(),
        email: u.email.clone(),
        email_verified: u.email_verified,
        image: u.image.clone(),
        created_at: Some(timestamp(&u.created_at)),
        updated_at: Some(timestamp(&u.updated_at)),
        extra: Some(json_struct(u.extra.iter().map(|(k, v)| (k, v)))),
    }
}

/// Claims that describe the token, not the user.
const REGISTERED: &[&str] = &["iat", "exp", "nbf", "iss", "aud", "sub", "jti"];
const USER_FIELDS: &[&str] = &[
    "id",
    "name",
    "email",
    "emailVerified",
    "image",
    "createdAt",
    "updatedAt",
];

/// The user a jwt-plugin token describes (its payload is the user object plus `sub`).
pub fn user_from_claims(
    sub: &str,
    claims: &serde_json::Map<String, serde_json::Value>,
) -> pb::User {
    let text = |k: &str| claims.get(k).and_then(|v| v.as_str());
    let time = |k: &str| {
        text(k)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| timestamp(&t.with_timezone(&Utc)))
    };
    let extra = claims
        .iter()
        .filter(|(k, _)| !REGISTERED.contains(&k.as_str()) && !USER_FIELDS.contains(&k.as_str()));
    pb::User {
        id: sub.to_owned(),
        name: text("name").unwrap_or_default().to_owned(),
        email: text("email").unwrap_or_default().to_owned(),
        email_verified: claims
            .get("emailVerified")
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
        image: text("image").map(String::from),
        created_at: time("createdAt"),
        updated_at: time("updatedAt"),
        extra: Some(json_struct(extra)),
    }
}

pub fn session(s: &model::Session) -> pb::Session {
    pb::Session {
        id: s.id.clone(),
        expires_at: Some(timestamp(&s.expires_at)),
        token: s.token.clone(),
        created_at: Some(timestamp(&s.created_at)),
        updated_at: Some(timestamp(&s.updated_at)),
        ip_address: s.ip_address.clone(),
        user_agent: s.user_agent.clone(),
        user_id: s.user_id.clone(),
        extra: Some(json_struct(s.extra.iter().map(|(k, v)| (k, v)))),
    }
}

pub fn kind(k: CredentialKind) -> pb::CredentialKind {
    match k {
        CredentialKind::SessionToken => pb::CredentialKind::SessionToken,
        CredentialKind::SignedSessionToken => pb::CredentialKind::SignedSessionToken,
        CredentialKind::SessionCookie => pb::CredentialKind::SessionCookie,
        CredentialKind::Jwt => pb::CredentialKind::Jwt,
    }
}

pub fn reason(r: Reason) -> pb::Reason {
    use pb::Reason as P;
    match r {
        Reason::Malformed => P::Malformed,
        Reason::BadSignature => P::BadSignature,
        Reason::SessionNotFound => P::SessionNotFound,
        Reason::SessionExpired => P::SessionExpired,
        Reason::UserNotFound => P::UserNotFound,
        Reason::Empty => P::Empty,
        Reason::TooLarge => P::TooLarge,
        Reason::NoSessionCookie => P::NoSessionCookie,
        Reason::SignatureRequired => P::SignatureRequired,
        Reason::JwtExpired => P::JwtExpired,
        Reason::JwtNotYetValid => P::JwtNotYetValid,
        Reason::JwtBadSignature => P::JwtBadSignature,
        Reason::JwtUnknownKey => P::JwtUnknownKey,
        Reason::JwtAlgNotAllowed => P::JwtAlgNotAllowed,
        Reason::JwtForbiddenHeader => P::JwtForbiddenHeader,
        Reason::JwtBadIssuer => P::JwtBadIssuer,
        Reason::JwtBadAudience => P::JwtBadAudience,
        Reason::JwtMissingSubject => P::JwtMissingSubject,
        Reason::JwtMalformed => P::JwtMalformed,
        Reason::UserBanned => P::UserBanned,
        Reason::Unsupported => P::Unsupported,
    }
}

/// A one-line explanation for `ValidateTokenResponse.message`; never echoes the credential.
pub fn describe(r: Reason) -> &'static str {
    match r {
        Reason::Malformed => {
            "not a session token, signed token, cookie header, bearer value or JWT"
        }
        Reason::BadSignature => "the signature does not match BETTER_AUTH_SECRET",
        Reason::SessionNotFound => {
            "no session has this token (never issued, signed out or revoked)"
        }
        Reason::SessionExpired => "the session has expired",
        Reason::UserNotFound => "the user does not exist (deleted, or an unknown id)",
        Reason::Empty => "the token is empty",
        Reason::TooLarge => "the token is longer than max_token_bytes",
        Reason::NoSessionCookie => "the Cookie header has no session cookie of this deployment",
        Reason::SignatureRequired => "raw session tokens are refused (require_signature is on)",
        Reason::Unsupported => "this credential form is not supported by this server",
        Reason::UserBanned => "the user is banned",
        _ => "the JWT was refused",
    }
}
