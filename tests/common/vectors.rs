//! Real Better Auth 1.7.25 outputs kept in tests/vectors/, and rows rebuilt from them.
use better_auth_grpc::{
    domain::model::{JwkRow, Session, User},
    store::columns::parse_time,
};
use chrono::{DateTime, Utc};
use serde_json::Value;

pub const FILES: &[&str] = &[
    "postgres-eddsa.json",
    "postgres-es256.json",
    "sqlite-rs256.json",
];

pub fn dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

pub fn load(file: &str) -> Value {
    let path = dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "test vector missing at {} ({e}): tests/vectors/ is part of the repository",
            path.display()
        )
    });
    serde_json::from_str(&text).expect("vector JSON")
}

/// The secret of each vector file (vectors/README.md).
pub fn secret(file: &str) -> &'static str {
    if file == "postgres-eddsa.json" {
        "sample-secret-0123456789abcdefghijklmnopqrstu"
    } else {
        "peer-test-secret-0123456789abcdefghijklmnop"
    }
}

pub fn generated_at(v: &Value) -> DateTime<Utc> {
    time(&v["generatedAt"])
}

fn time(v: &Value) -> DateTime<Utc> {
    parse_time(v.as_str().expect("date string")).expect("date")
}

/// The stored row: `viaDriver` (PostgreSQL vectors) or `raw` (SQLite vectors).
pub fn row<'a>(db: &'a Value, table: &str) -> &'a Value {
    let t = &db[table];
    let rows = t.get("viaDriver").or_else(|| t.get("raw")).expect("rows");
    &rows[0]
}

pub fn user(r: &Value) -> User {
    User {
        id: s(&r["id"]),
        name: s(&r["name"]),
        email: s(&r["email"]),
        email_verified: r["emailVerified"] == Value::Bool(true) || r["emailVerified"] == 1,
        image: r["image"].as_str().map(String::from),
        created_at: time(&r["createdAt"]),
        updated_at: time(&r["updatedAt"]),
        extra: vec![],
    }
}

pub fn session(r: &Value) -> Session {
    Session {
        id: s(&r["id"]),
        expires_at: time(&r["expiresAt"]),
        token: s(&r["token"]),
        created_at: time(&r["createdAt"]),
        updated_at: time(&r["updatedAt"]),
        ip_address: r["ipAddress"].as_str().map(String::from),
        user_agent: r["userAgent"].as_str().map(String::from),
        user_id: s(&r["userId"]),
        extra: vec![],
    }
}

fn s(v: &Value) -> String {
    v.as_str().expect("string").to_owned()
}

/// A `jwksRows` entry of a vector file as the row it was.
pub fn jwk_row(r: &Value) -> JwkRow {
    let s = |k: &str| r[k].as_str().map(String::from);
    JwkRow {
        id: s("id").unwrap(),
        public_key: s("publicKey").unwrap(),
        private_key: s("privateKey").unwrap(),
        created_at: parse_time(r["createdAt"].as_str().unwrap()).unwrap(),
        expires_at: r["expiresAt"].as_str().and_then(parse_time),
        alg: s("alg"),
        crv: s("crv"),
    }
}
