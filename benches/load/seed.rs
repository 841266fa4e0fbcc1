//! `seed`: Better-Auth-shaped users, sessions and jwks rows, and the credential lists.
use std::fmt::Write as _;
use std::fs::{self};
use std::path::Path;
use std::time::Instant;

use anyhow::{anyhow, Result};
use base64::Engine as _;
use better_auth_grpc::domain::secret::Secrets;
use better_auth_grpc::token::{new_jwk_row, Alg, JwtSettings};
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

const ALPHANUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Better Auth's `generateId(32)`: 32 characters of [A-Za-z0-9].
fn generate_id() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..32)
        .map(|_| ALPHANUM[rng.random_range(0..ALPHANUM.len())] as char)
        .collect()
}

/// The session token of bench user `i`: 32 hex characters (a subset of Better Auth's
/// alphabet) that pgbench can recompute in SQL: left(encode(sha256('bench-session-<i>'),'hex'),32).
fn session_token(i: usize) -> String {
    let d = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        format!("bench-session-{i}").as_bytes(),
    );
    hex::encode(d.as_ref())[..32].to_owned()
}

/// `encodeURIComponent(token + "." + base64(HMAC-SHA256(secret, token)))` (docs/better-auth-compat.md §2.3).
fn signed_value(secret: &str, token: &str) -> (String, String) {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
    let sig = base64::engine::general_purpose::STANDARD
        .encode(aws_lc_rs::hmac::sign(&key, token.as_bytes()).as_ref());
    let raw = format!("{token}.{sig}");
    let enc = raw
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    (raw, enc)
}

fn iso_ms(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

pub(crate) async fn seed(
    pg: Option<String>,
    sqlite: Option<String>,
    users: usize,
    secret: &str,
    out: &Path,
) -> Result<()> {
    fs::create_dir_all(out)?;
    let now = DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap_or_default();
    let expires = now + TimeDelta::days(7);
    let secrets = Secrets::from_secret(secret).map_err(|e| anyhow!("secret: {e}"))?;

    // One key per algorithm; EdDSA newest, so Better Auth (EdDSA by default) signs with it too.
    let mut jwks = Vec::new();
    for (age, alg) in [(3, Alg::RS256), (2, Alg::ES256), (1, Alg::EdDSA)] {
        let mut s = JwtSettings::for_origin("http://127.0.0.1");
        s.alg = alg;
        let (row, _) = new_jwk_row(&s, &secrets, now - TimeDelta::minutes(age))
            .map_err(|e| anyhow!("new_jwk_row {alg:?}: {e}"))?;
        jwks.push(row);
    }

    struct U {
        id: String,
        sid: String,
        token: String,
    }
    let rows: Vec<U> = (0..users)
        .map(|i| U {
            id: generate_id(),
            sid: generate_id(),
            token: session_token(i + 1),
        })
        .collect();

    let mut tokens = String::new();
    let mut cookies = String::new();
    let mut cookie_values = String::new();
    let mut signed = String::new();
    let mut ids = String::new();
    for u in &rows {
        let (raw, enc) = signed_value(secret, &u.token);
        writeln!(tokens, "{}", u.token)?;
        writeln!(cookies, "better-auth.session_token={enc}")?;
        writeln!(cookie_values, "{enc}")?;
        writeln!(signed, "{raw}")?;
        writeln!(ids, "{}", u.id)?;
    }
    fs::write(out.join("tokens.txt"), tokens)?;
    fs::write(out.join("cookies.txt"), cookies)?;
    fs::write(out.join("cookie-values.txt"), cookie_values)?;
    fs::write(out.join("signed.txt"), signed)?;
    fs::write(out.join("user-ids.txt"), ids)?;

    for (url, is_pg) in [(pg, true), (sqlite, false)] {
        let Some(url) = url else { continue };
        let (t_now, t_exp) = (iso_ms(now), iso_ms(expires));
        let (f, ua) = if is_pg { ("false", "''") } else { ("0", "''") };
        let mut sql = String::from("BEGIN;\n");
        for chunk in rows.chunks(500) {
            sql.push_str("INSERT INTO \"user\" (\"id\",\"name\",\"email\",\"emailVerified\",\"image\",\"createdAt\",\"updatedAt\") VALUES\n");
            let vals: Vec<String> = chunk
                .iter()
                .enumerate()
                .map(|(k, u)| {
                    format!(
                        "({},{},{},{f},NULL,{},{})",
                        q(&u.id),
                        q(&format!("Bench User {}", u.sid.get(..6).unwrap_or(""))),
                        q(&format!("bench-{}-{k}@example.com", u.id.to_lowercase())),
                        q(&t_now),
                        q(&t_now)
                    )
                })
                .collect();
            sql.push_str(&vals.join(",\n"));
            sql.push_str(";\n");
            sql.push_str("INSERT INTO \"session\" (\"id\",\"expiresAt\",\"token\",\"createdAt\",\"updatedAt\",\"ipAddress\",\"userAgent\",\"userId\") VALUES\n");
            let vals: Vec<String> = chunk
                .iter()
                .map(|u| {
                    format!(
                        "({},{},{},{},{},{ua},{ua},{})",
                        q(&u.sid),
                        q(&t_exp),
                        q(&u.token),
                        q(&t_now),
                        q(&t_now),
                        q(&u.id)
                    )
                })
                .collect();
            sql.push_str(&vals.join(",\n"));
            sql.push_str(";\n");
        }
        for r in &jwks {
            writeln!(
                sql,
                "INSERT INTO \"jwks\" (\"id\",\"publicKey\",\"privateKey\",\"createdAt\",\"expiresAt\",\"alg\",\"crv\") VALUES ({},{},{},{},NULL,{},{});",
                q(&r.id),
                q(&r.public_key),
                q(&r.private_key),
                q(&iso_ms(r.created_at)),
                r.alg.as_deref().map_or("NULL".into(), q),
                r.crv.as_deref().map_or("NULL".into(), q)
            )?;
        }
        sql.push_str("COMMIT;\n");
        let started = Instant::now();
        if is_pg {
            use sqlx::Connection;
            let mut c = sqlx::PgConnection::connect(&url).await?;
            sqlx::raw_sql(&sql).execute(&mut c).await?;
            sqlx::raw_sql("ANALYZE").execute(&mut c).await?;
        } else {
            use sqlx::Connection;
            let mut c = sqlx::SqliteConnection::connect(&url).await?;
            sqlx::raw_sql(&sql).execute(&mut c).await?;
            sqlx::raw_sql("ANALYZE").execute(&mut c).await?;
        }
        eprintln!(
            "seed: {users} users+sessions, {} jwks rows into {} in {:?}",
            jwks.len(),
            if is_pg { "PostgreSQL" } else { "SQLite" },
            started.elapsed()
        );
    }
    Ok(())
}
