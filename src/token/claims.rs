//! Registered-claim checks after the signature is known good (docs/better-auth-compat.md §4.8, §7.3):
//! `exp`, `nbf`, `iss`, `aud`, `sub`, in that order, each with its own refusal reason.
use serde_json::{Map, Value};

use crate::domain::reason::Reason;

pub(crate) struct ClaimRules<'a> {
    /// Seconds since the epoch, floored (jose's `epoch(new Date())`).
    pub now: i64,
    pub leeway: i64,
    pub issuer: &'a str,
    /// The token's `aud` must contain at least one of these.
    pub audiences: &'a [String],
}

/// Checks the claims; returns (`sub`, `exp` floored to whole seconds).
pub(crate) fn check(
    claims: &Map<String, Value>,
    rules: &ClaimRules<'_>,
) -> Result<(String, i64), Reason> {
    let exp = numeric(claims, "exp")?.ok_or(Reason::JwtMalformed)?;
    // `iat` is not checked (Better Auth does not), but jose refuses a non-numeric one.
    numeric(claims, "iat")?;
    if exp <= rules.now.saturating_sub(rules.leeway) as f64 {
        return Err(Reason::JwtExpired);
    }
    if numeric(claims, "nbf")?
        .is_some_and(|nbf| nbf > rules.now.saturating_add(rules.leeway) as f64)
    {
        return Err(Reason::JwtNotYetValid);
    }
    if claims.get("iss").and_then(Value::as_str) != Some(rules.issuer) {
        return Err(Reason::JwtBadIssuer);
    }
    if !audience_matches(claims.get("aud"), rules.audiences) {
        return Err(Reason::JwtBadAudience);
    }
    match claims.get("sub").and_then(Value::as_str) {
        Some(sub) if !sub.is_empty() => Ok((sub.to_owned(), exp.floor() as i64)),
        _ => Err(Reason::JwtMissingSubject),
    }
}

/// A NumericDate claim: absent is `None`, present but not a finite number is malformed.
fn numeric(claims: &Map<String, Value>, name: &str) -> Result<Option<f64>, Reason> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_f64()
            .filter(|n| n.is_finite())
            .map(Some)
            .ok_or(Reason::JwtMalformed),
    }
}

/// `aud` is a string or an array of strings (jose: any element may match).
fn audience_matches(aud: Option<&Value>, expected: &[String]) -> bool {
    let accepts = |a: &Value| a.as_str().is_some_and(|a| expected.iter().any(|e| e == a));
    match aud {
        Some(Value::String(_)) => aud.is_some_and(accepts),
        Some(Value::Array(list)) => list.iter().any(accepts),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_795_520_081;

    fn rules(aud: &[String]) -> ClaimRules<'_> {
        ClaimRules {
            now: NOW,
            leeway: 0,
            issuer: "http://127.0.0.1:3000",
            audiences: aud,
        }
    }

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn base() -> Value {
        json!({"iat": NOW, "sub": "u1", "exp": NOW + 900, "iss": "http://127.0.0.1:3000", "aud": "http://127.0.0.1:3000"})
    }

    fn with(key: &str, v: Value) -> Map<String, Value> {
        let mut c = claims(base());
        c.insert(key.into(), v);
        c
    }

    #[test]
    fn checks_each_claim() {
        let aud = vec!["http://127.0.0.1:3000".to_owned()];
        let r = rules(&aud);
        assert_eq!(check(&claims(base()), &r), Ok(("u1".into(), NOW + 900)));
        assert_eq!(check(&with("exp", json!(NOW)), &r), Err(Reason::JwtExpired));
        assert_eq!(
            check(&with("exp", json!(NOW - 1)), &r),
            Err(Reason::JwtExpired)
        );
        assert_eq!(
            check(&with("exp", json!(NOW + 1)), &r).map(|x| x.1),
            Ok(NOW + 1)
        );
        assert_eq!(
            check(&with("exp", json!("soon")), &r),
            Err(Reason::JwtMalformed)
        );
        assert_eq!(
            check(&with("iat", json!("now")), &r),
            Err(Reason::JwtMalformed)
        );
        let mut no_exp = claims(base());
        no_exp.remove("exp");
        assert_eq!(check(&no_exp, &r), Err(Reason::JwtMalformed));
        assert_eq!(
            check(&with("nbf", json!(NOW + 1)), &r),
            Err(Reason::JwtNotYetValid)
        );
        assert!(check(&with("nbf", json!(NOW)), &r).is_ok());
        assert_eq!(
            check(&with("iss", json!("http://evil")), &r),
            Err(Reason::JwtBadIssuer)
        );
        assert_eq!(
            check(&with("iss", json!(["http://127.0.0.1:3000"])), &r),
            Err(Reason::JwtBadIssuer)
        );
        assert_eq!(
            check(&with("aud", json!("http://evil")), &r),
            Err(Reason::JwtBadAudience)
        );
        assert_eq!(
            check(&with("aud", json!(["x", "http://127.0.0.1:3000"])), &r).map(|x| x.0),
            Ok("u1".into())
        );
        assert_eq!(
            check(&with("aud", json!([])), &r),
            Err(Reason::JwtBadAudience)
        );
        assert_eq!(
            check(&with("aud", json!(null)), &r),
            Err(Reason::JwtBadAudience)
        );
        assert_eq!(
            check(&with("sub", json!("")), &r),
            Err(Reason::JwtMissingSubject)
        );
        assert_eq!(
            check(&with("sub", json!(42)), &r),
            Err(Reason::JwtMissingSubject)
        );
        let mut no_sub = claims(base());
        no_sub.remove("sub");
        assert_eq!(check(&no_sub, &r), Err(Reason::JwtMissingSubject));
    }

    #[test]
    fn leeway_widens_both_ends() {
        let aud = vec!["http://127.0.0.1:3000".to_owned()];
        let r = ClaimRules {
            leeway: 30,
            ..rules(&aud)
        };
        assert!(check(&with("exp", json!(NOW - 29)), &r).is_ok());
        assert_eq!(
            check(&with("exp", json!(NOW - 30)), &r),
            Err(Reason::JwtExpired)
        );
        assert!(check(&with("nbf", json!(NOW + 30)), &r).is_ok());
        assert_eq!(
            check(&with("nbf", json!(NOW + 31)), &r),
            Err(Reason::JwtNotYetValid)
        );
    }
}
