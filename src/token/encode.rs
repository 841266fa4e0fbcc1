//! The exact bytes of a Better Auth JWT (docs/better-auth-compat.md §4.6, §7.4): header `{"alg","kid"}`,
//! payload `{iat, ...user, sub, exp, iss, aud}`, both as `JSON.stringify` writes them,
//! base64url without padding.
use serde_json::{Map, Number, Value};

use super::b64;
use super::error::TokenError;
use super::signing_key::SigningKey;
use crate::domain::model::User;

/// The claims Better Auth's `getJwtToken` signs for a session's user.
pub fn better_auth_claims(
    user: &User,
    iat: i64,
    exp: i64,
    iss: &str,
    aud: Value,
) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("iat".into(), iat.into());
    // `{ iat, ...user, sub }`: a user column named like a claim keeps its place and
    // takes the later value, as in a JS object literal; serde_json's insert does the same.
    for (k, v) in user.to_better_auth_json() {
        claims.insert(k, v);
    }
    claims.insert("sub".into(), Value::String(user.id.clone()));
    claims.insert("exp".into(), exp.into());
    claims.insert("iss".into(), Value::String(iss.to_owned()));
    claims.insert("aud".into(), aud);
    claims
}

/// `header.payload.signature` with header exactly `{"alg":"<alg>","kid":"<kid>"}`.
pub fn sign_compact(
    key: &SigningKey,
    kid: &str,
    claims: &Map<String, Value>,
) -> Result<String, TokenError> {
    let mut header = Map::new();
    header.insert("alg".into(), Value::String(key.alg().as_str().to_owned()));
    header.insert("kid".into(), Value::String(kid.to_owned()));
    let mut token = b64::encode(js_stringify(&Value::Object(header))?);
    token.push('.');
    token.push_str(&b64::encode(js_stringify(&Value::Object(claims.clone()))?));
    let signature = key.sign(token.as_bytes())?;
    token.push('.');
    token.push_str(&signature);
    Ok(token)
}

/// `JSON.stringify`: serde_json's compact output already matches it for strings (same
/// escapes, raw UTF-8, `/` unescaped) and integers. Floats differ where JS prints an
/// integral double without a fraction (`1` vs `1.0`), so those become integers first.
/// Remaining gap, unreachable for Better Auth's column types: exponent forms (`1e21`).
pub fn js_stringify(value: &Value) -> Result<String, TokenError> {
    serde_json::to_string(&js_numbers(value)).map_err(|e| TokenError::Internal(e.to_string()))
}

fn js_numbers(value: &Value) -> Value {
    match value {
        Value::Number(n) => Value::Number(js_number(n)),
        Value::Array(items) => Value::Array(items.iter().map(js_numbers).collect()),
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), js_numbers(v))).collect())
        }
        other => other.clone(),
    }
}

/// 2^53: beyond it a double's integer value is not what a JS reader would get back anyway.
const MAX_SAFE: f64 = 9_007_199_254_740_992.0;

fn js_number(n: &Number) -> Number {
    match n.as_f64() {
        Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() <= MAX_SAFE => Number::from(f as i64),
        _ => n.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stringify_matches_javascript() {
        let v = json!({"a": 1.0, "b": -0.0, "c": 1.5, "d": [2.0, "x"], "e": "é\u{1}\"/\\\n", "f": null, "g": 12345678901234_i64});
        assert_eq!(
            js_stringify(&v).unwrap(),
            "{\"a\":1,\"b\":0,\"c\":1.5,\"d\":[2,\"x\"],\"e\":\"é\\u0001\\\"/\\\\\\n\",\"f\":null,\"g\":12345678901234}"
        );
    }
}
