//! The cached `{session, user, updatedAt, version}` object, checked like Better Auth's zod
//! schema (`cookieCachePayloadSchema`): loose objects (other keys kept, as the session's and
//! user's extra columns), dates through the reviver, `email` lower-cased, `emailVerified`
//! defaulting to false, missing `createdAt`/`updatedAt` defaulting to now, `userId` coerced to a
//! string. Anything else the schema refuses is `None`.
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::dates;
use crate::domain::model::{Extra, Session, SessionAndUser, User};

/// A payload that passed the schema.
#[derive(Debug, Clone)]
pub struct Cached {
    pub found: SessionAndUser,
    pub version: Option<String>,
}

const SESSION_CORE: [&str; 8] = [
    "id",
    "createdAt",
    "updatedAt",
    "userId",
    "expiresAt",
    "token",
    "ipAddress",
    "userAgent",
];
const USER_CORE: [&str; 7] = [
    "id",
    "createdAt",
    "updatedAt",
    "email",
    "emailVerified",
    "name",
    "image",
];

pub fn parse(payload: &Map<String, Value>, now: DateTime<Utc>) -> Option<Cached> {
    payload.get("updatedAt")?.as_f64()?;
    let version = match payload.get("version") {
        None => None,
        Some(Value::String(v)) => Some(v.clone()),
        Some(_) => return None,
    };
    let session = session(payload.get("session")?.as_object()?, now)?;
    let user = user(payload.get("user")?.as_object()?, now)?;
    Some(Cached {
        found: SessionAndUser { session, user },
        version,
    })
}

fn session(m: &Map<String, Value>, now: DateTime<Utc>) -> Option<Session> {
    Some(Session {
        id: string(m, "id")?,
        expires_at: date(m.get("expiresAt")?)?,
        token: string(m, "token")?,
        created_at: date_or_now(m, "createdAt", now)?,
        updated_at: date_or_now(m, "updatedAt", now)?,
        ip_address: nullish(m, "ipAddress")?,
        user_agent: nullish(m, "userAgent")?,
        user_id: coerced_string(m.get("userId")?)?,
        extra: extra(m, &SESSION_CORE),
    })
}

fn user(m: &Map<String, Value>, now: DateTime<Utc>) -> Option<User> {
    Some(User {
        id: string(m, "id")?,
        name: string(m, "name")?,
        email: string(m, "email")?.to_lowercase(),
        email_verified: match m.get("emailVerified") {
            None => false,
            Some(v) => v.as_bool()?,
        },
        image: nullish(m, "image")?,
        created_at: date_or_now(m, "createdAt", now)?,
        updated_at: date_or_now(m, "updatedAt", now)?,
        extra: extra(m, &USER_CORE),
    })
}

fn string(m: &Map<String, Value>, key: &str) -> Option<String> {
    m.get(key)?.as_str().map(str::to_owned)
}

/// `z.string().nullish()`: absent or null is `None`, a string is itself, anything else fails.
fn nullish(m: &Map<String, Value>, key: &str) -> Option<Option<String>> {
    match m.get(key) {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(s)) => Some(Some(s.clone())),
        Some(_) => None,
    }
}

/// `z.coerce.string()` of JSON scalars (`String(v)`); objects and arrays are not ids.
fn coerced_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(_) | Value::Null => Some(v.to_string()),
        Value::Number(_) => crate::token::js_stringify(v).ok(),
        _ => None,
    }
}

/// `z.date()`: only a string the reviver turned into a date.
fn date(v: &Value) -> Option<DateTime<Utc>> {
    dates::revive(v.as_str()?)
}

/// `z.date().default(() => new Date())`.
fn date_or_now(m: &Map<String, Value>, key: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match m.get(key) {
        None => Some(crate::domain::time::millis(now)),
        Some(v) => date(v),
    }
}

/// The keys besides the core fields, in the cache's order, with revived dates written back as
/// Better Auth's get-session writes them (`toISOString()`).
fn extra(m: &Map<String, Value>, core: &[&str]) -> Extra {
    m.iter()
        .filter(|(k, _)| !core.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), dates::normalize(v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_800_000_000_000).unwrap()
    }

    fn sample() -> Value {
        json!({
            "session": {"expiresAt": "2027-01-08T08:00:00.000Z", "token": "tok", "createdAt": "2027-01-01T08:00:00.000Z",
                        "updatedAt": "2027-01-01T08:00:00.000Z", "ipAddress": null, "userAgent": "ua", "userId": "u1",
                        "impersonatedBy": null, "id": "s1"},
            "user": {"name": "N", "email": "Mixed@Example.com", "emailVerified": true, "image": null,
                     "createdAt": "2026-12-01T00:00:00.000Z", "updatedAt": "2026-12-01T00:00:00.000Z",
                     "role": "admin", "banExpires": "2027-02-01T00:00:00Z", "id": "u1"},
            "updatedAt": 1_800_000_000_000_i64,
            "version": "1"
        })
    }

    fn parsed(v: Value) -> Option<Cached> {
        parse(v.as_object().unwrap(), now())
    }

    #[test]
    fn a_better_auth_payload_parses_with_its_extras() {
        let c = parsed(sample()).unwrap();
        assert_eq!(c.version.as_deref(), Some("1"));
        assert_eq!(c.found.session.token, "tok");
        assert_eq!(c.found.session.user_agent.as_deref(), Some("ua"));
        assert_eq!(
            c.found.session.extra,
            vec![("impersonatedBy".into(), Value::Null)]
        );
        assert_eq!(c.found.user.email, "mixed@example.com");
        assert_eq!(
            c.found.user.extra,
            vec![
                ("role".into(), json!("admin")),
                ("banExpires".into(), json!("2027-02-01T00:00:00.000Z"))
            ]
        );
    }

    #[test]
    fn defaults_fill_what_zod_defaults() {
        let mut v = sample();
        v["user"].as_object_mut().unwrap().remove("emailVerified");
        v["session"].as_object_mut().unwrap().remove("createdAt");
        v.as_object_mut().unwrap().remove("version");
        v["session"]["userId"] = json!(42);
        let c = parsed(v).unwrap();
        assert!(!c.found.user.email_verified);
        assert_eq!(c.found.session.created_at, now());
        assert_eq!(c.found.session.user_id, "42");
        assert_eq!(c.version, None);
    }

    #[test]
    fn what_the_schema_refuses_is_none() {
        let breakages: [fn(&mut Value); 8] = [
            |v| v["session"]["expiresAt"] = json!("tomorrow"),
            |v| v["session"]["expiresAt"] = json!(1_800_000_000_000_i64),
            |v| v["session"]["token"] = json!(1),
            |v| v["user"]["emailVerified"] = Value::Null,
            |v| v["user"]["image"] = json!(1),
            |v| v["version"] = json!(1),
            |v| v["updatedAt"] = json!("now"),
            |v| {
                v.as_object_mut().unwrap().remove("user");
            },
        ];
        for (i, breakage) in breakages.iter().enumerate() {
            let mut v = sample();
            breakage(&mut v);
            assert!(parsed(v).is_none(), "case {i}");
        }
    }
}
