//! Better Auth's user and session rows as the domain sees them, independent of the database.
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

/// A column the app or a plugin added (admin's `role`, organization's `activeOrganizationId`...),
/// already decoded to Better Auth's JSON form: dates are `toISOString()` strings, booleans are
/// booleans, NULL is `null`. Order is the table's column order.
pub type Extra = Vec<(String, Value)>;

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    pub name: String,
    pub email: String,
    pub email_verified: bool,
    pub image: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub extra: Extra,
}

#[derive(Clone, PartialEq)]
pub struct Session {
    pub id: String,
    pub expires_at: DateTime<Utc>,
    pub token: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub user_id: String,
    pub extra: Extra,
}

// The token is a bearer credential: keep it out of every Debug print (and so out of logs).
impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("expires_at", &self.expires_at)
            .field("token", &"[redacted]")
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

/// A session with its user, as Better Auth's get-session returns them.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionAndUser {
    pub session: Session,
    pub user: User,
}

/// `Date.prototype.toISOString()`: UTC, exactly three fraction digits, `Z`.
pub fn iso_millis(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl User {
    /// The user object exactly as Better Auth serialises it (get-session body, JWT payload):
    /// core fields in schema order, then plugin/app columns, `id` last.
    pub fn to_better_auth_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("name".into(), Value::String(self.name.clone()));
        m.insert("email".into(), Value::String(self.email.clone()));
        m.insert("emailVerified".into(), Value::Bool(self.email_verified));
        m.insert(
            "image".into(),
            self.image.clone().map(Value::String).unwrap_or(Value::Null),
        );
        m.insert(
            "createdAt".into(),
            Value::String(iso_millis(&self.created_at)),
        );
        m.insert(
            "updatedAt".into(),
            Value::String(iso_millis(&self.updated_at)),
        );
        for (k, v) in &self.extra {
            m.insert(k.clone(), v.clone());
        }
        m.insert("id".into(), Value::String(self.id.clone()));
        m
    }
}

impl Session {
    /// The session object exactly as Better Auth's get-session serialises it.
    pub fn to_better_auth_json(&self) -> Map<String, Value> {
        let opt = |v: &Option<String>| v.clone().map(Value::String).unwrap_or(Value::Null);
        let mut m = Map::new();
        m.insert(
            "expiresAt".into(),
            Value::String(iso_millis(&self.expires_at)),
        );
        m.insert("token".into(), Value::String(self.token.clone()));
        m.insert(
            "createdAt".into(),
            Value::String(iso_millis(&self.created_at)),
        );
        m.insert(
            "updatedAt".into(),
            Value::String(iso_millis(&self.updated_at)),
        );
        m.insert("ipAddress".into(), opt(&self.ip_address));
        m.insert("userAgent".into(), opt(&self.user_agent));
        m.insert("userId".into(), Value::String(self.user_id.clone()));
        for (k, v) in &self.extra {
            m.insert(k.clone(), v.clone());
        }
        m.insert("id".into(), Value::String(self.id.clone()));
        m
    }
}

/// A row of the jwt plugin's `jwks` table, as stored.
#[derive(Clone, PartialEq)]
pub struct JwkRow {
    pub id: String,
    /// Public JWK as JSON text.
    pub public_key: String,
    /// `JSON.stringify(hex)` of the encrypted private JWK, or a plaintext JWK when encryption is off.
    pub private_key: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub alg: Option<String>,
    pub crv: Option<String>,
}

impl std::fmt::Debug for JwkRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwkRow")
            .field("id", &self.id)
            .field("alg", &self.alg)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Better Auth's `generateId`: `len` characters of `[A-Za-z0-9]` from a CSPRNG
/// (rand's thread RNG: ChaCha seeded from the OS).
pub fn random_id(len: usize) -> String {
    use rand::{distr::Alphanumeric, Rng};
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn iso_millis_matches_to_iso_string() {
        let t = Utc
            .timestamp_millis_opt(1_795_520_080_883)
            .single()
            .unwrap();
        assert_eq!(iso_millis(&t), "2026-11-24T11:34:40.883Z");
        let whole = Utc
            .timestamp_millis_opt(1_795_520_080_000)
            .single()
            .unwrap();
        assert_eq!(iso_millis(&whole), "2026-11-24T11:34:40.000Z");
    }
}
