//! The `jwt` strategy. Without the jwt plugin's `sessionCookieCache` Better Auth signs the
//! payload with its secret (`signJWT`: header `{"alg":"HS256"}`, claims `{...payload, iat, exp}`)
//! and verifies with jose's `jwtVerify(token, secret)`: any HMAC algorithm, `exp <= now` and
//! `nbf > now` refused, no clock tolerance. With `jwt({ sessionCookieCache: true })` it signs
//! with the jwt plugin's keys instead, header `typ: better-auth.session-cache+jwt`; that `typ`
//! decides which check a value gets (only Better Auth's keys can make either).
use aws_lc_rs::hmac;
use serde_json::{Map, Value};

use super::decoded::Decoded;
use crate::token::{b64_decode, Verifier};

const PLUGIN_TYP: &str = "better-auth.session-cache+jwt";

/// Whether the value's header carries the jwt plugin's cookie-cache `typ`.
pub(super) fn is_plugin_signed(token: &str) -> bool {
    let header = token.split('.').next().and_then(b64_decode);
    let header = header.and_then(|h| serde_json::from_slice::<Map<String, Value>>(&h).ok());
    header.is_some_and(|h| h.get("typ").and_then(Value::as_str) == Some(PLUGIN_TYP))
}

pub(super) fn decode_secret(
    token: &str,
    secret: &[u8],
    now_secs: i64,
    now_ms: i64,
) -> Option<Decoded> {
    let mut parts = token.split('.');
    let (h, p, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let header: Map<String, Value> = serde_json::from_slice(&b64_decode(h)?).ok()?;
    if header.contains_key("crit") || header.contains_key("b64") {
        return None;
    }
    let alg = match header.get("alg").and_then(Value::as_str)? {
        "HS256" => hmac::HMAC_SHA256,
        "HS384" => hmac::HMAC_SHA384,
        "HS512" => hmac::HMAC_SHA512,
        _ => return None,
    };
    let signing_input = &token[..h.len() + 1 + p.len()];
    hmac::verify(
        &hmac::Key::new(alg, secret),
        signing_input.as_bytes(),
        &b64_decode(s)?,
    )
    .ok()?;
    let claims: Map<String, Value> = serde_json::from_slice(&b64_decode(p)?).ok()?;
    let expires_at_ms = claims_expiry(&claims, now_secs, 0, now_ms)?;
    Some(Decoded {
        payload: claims,
        expires_at_ms,
    })
}

/// jose's claim checks with `tolerance` seconds: `iat`, `nbf`, `exp` numbers when present,
/// `exp <= now - tolerance` expired, `nbf > now + tolerance` not yet valid. Returns Better
/// Auth's cookie expiry: `exp * 1000`, or now when there is no `exp`.
pub(super) fn claims_expiry(
    claims: &Map<String, Value>,
    now_secs: i64,
    tolerance: i64,
    now_ms: i64,
) -> Option<f64> {
    let numeric = |k: &str| match claims.get(k) {
        None => Some(None),
        Some(v) => v.as_f64().map(Some),
    };
    numeric("iat")?;
    let (nbf, exp) = (numeric("nbf")?, numeric("exp")?);
    if nbf.is_some_and(|nbf| nbf > (now_secs + tolerance) as f64) {
        return None;
    }
    match exp {
        Some(exp) if exp <= (now_secs - tolerance) as f64 => None,
        Some(exp) => Some(exp * 1000.0),
        None => Some(now_ms as f64),
    }
}

pub(super) async fn decode_plugin(
    keys: &Verifier,
    token: &str,
    issuer: &str,
    now_ms: i64,
) -> Option<Decoded> {
    let claims = keys.verify_session_cache_jwt(token, issuer).await.ok()?;
    // `parseSessionCookieJwtPayload`: `sub` is the user's id and `sid` the session's token.
    let user_id = claims.get("user")?.get("id")?;
    let token_of_session = claims.get("session")?.get("token")?;
    if claims.get("sub") != Some(user_id) || claims.get("sid") != Some(token_of_session) {
        return None;
    }
    let expires_at_ms = match claims.get("exp").and_then(Value::as_f64) {
        Some(exp) => exp * 1000.0,
        None => now_ms as f64,
    };
    Some(Decoded {
        payload: claims,
        expires_at_ms,
    })
}
