//! Better Auth's date reviver (`safeJSONParse`): a string shaped `YYYY-MM-DDTHH:MM:SS[.fff…]Z`
//! becomes a JS `Date` when V8 can read it, and is written back by `JSON.stringify` as
//! `toISOString()`. The cached session's dates are read through it, and the compact HMAC input
//! is rebuilt with it, so both see exactly what Better Auth sees.
use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};
use serde_json::Value;

use crate::domain::model::iso_millis;

/// The `Date` V8 makes of `s`, if `s` has the reviver's shape and V8 accepts it: days 1–31 in
/// any month (roll over: `02-31` is March 3rd), `24:00:00` (next midnight), milliseconds from
/// the first three fraction digits.
pub fn revive(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    if b.len() < 20 || b.last() != Some(&b'Z') || !shape_ok(b) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<u32>().ok();
    let (y, mo, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (h, mi, sec) = (n(11..13)?, n(14..16)?, n(17..19)?);
    let ms = millis(&s[19..s.len() - 1])?;
    let day_ok = (1..=31).contains(&d) && (1..=12).contains(&mo);
    let time_ok = mi < 60 && sec < 60 && (h < 24 || (h == 24 && mi == 0 && sec == 0 && ms == 0));
    if !day_ok || !time_ok {
        return None;
    }
    let midnight = NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, mo, 1)?
        .checked_add_days(Days::new(u64::from(d - 1)))?
        .and_hms_opt(0, 0, 0)?
        .and_utc();
    let offset = TimeDelta::milliseconds(i64::from(((h * 60 + mi) * 60 + sec) * 1000 + ms));
    midnight.checked_add_signed(offset)
}

/// `YYYY-MM-DDTHH:MM:SS` with digits where digits belong.
fn shape_ok(b: &[u8]) -> bool {
    const SEPARATORS: [(usize, u8); 5] = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    let digit = |i: usize| b[i].is_ascii_digit();
    SEPARATORS.iter().all(|&(i, c)| b[i] == c)
        && (0..19)
            .filter(|i| !SEPARATORS.iter().any(|&(j, _)| j == *i))
            .all(digit)
}

/// `""` or `.` and one or more digits: the first three are the milliseconds.
fn millis(fraction: &str) -> Option<u32> {
    if fraction.is_empty() {
        return Some(0);
    }
    let digits = fraction.strip_prefix('.')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let first3: String = digits.chars().chain("00".chars()).take(3).collect();
    first3.parse().ok()
}

/// `value` as `JSON.stringify(JSON.parse(text, reviver))` would write it back: every string the
/// reviver turns into a date becomes its `toISOString()`.
pub fn normalize(value: &Value) -> Value {
    match value {
        Value::String(s) => match revive(s) {
            Some(t) => Value::String(iso_millis(&t)),
            None => value.clone(),
        },
        Value::Array(items) => Value::Array(items.iter().map(normalize).collect()),
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), normalize(v))).collect())
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(s: &str) -> Option<String> {
        revive(s).map(|t| iso_millis(&t))
    }

    /// Each expectation is what `new Date(s).toISOString()` printed in Node 22 (V8).
    #[test]
    fn revives_what_v8_revives() {
        let cases = [
            ("2026-11-24T11:34:40.883Z", Some("2026-11-24T11:34:40.883Z")),
            ("2021-02-31T00:00:00Z", Some("2021-03-03T00:00:00.000Z")),
            ("2021-02-29T00:00:00Z", Some("2021-03-01T00:00:00.000Z")),
            ("2020-01-01T24:00:00Z", Some("2020-01-02T00:00:00.000Z")),
            (
                "2020-01-01T00:00:00.123456Z",
                Some("2020-01-01T00:00:00.123Z"),
            ),
            ("2020-01-01T00:00:00.5Z", Some("2020-01-01T00:00:00.500Z")),
            ("0000-01-01T00:00:00Z", Some("0000-01-01T00:00:00.000Z")),
            ("2020-01-01T23:59:60Z", None),
            ("2020-13-01T00:00:00Z", None),
            ("2020-01-01T24:00:01Z", None),
            ("2020-01-01T24:00:00.001Z", None),
            ("2020-01-32T00:00:00Z", None),
            ("2020-01-00T00:00:00Z", None),
            ("2020-01-01T00:60:00Z", None),
            ("2020-01-01T00:00:00.Z", None),
            ("2020-01-01T00:00:00+00:00", None),
            ("2020-01-01 00:00:00Z", None),
            ("not a date", None),
        ];
        for (s, want) in cases {
            assert_eq!(iso(s).as_deref(), want, "{s}");
        }
    }

    #[test]
    fn normalize_rewrites_nested_dates_only() {
        let v = serde_json::json!({"a": "2020-01-01T00:00:00Z", "b": ["2021-02-31T00:00:00.1Z", 1], "c": "x"});
        let want = serde_json::json!({"a": "2020-01-01T00:00:00.000Z", "b": ["2021-03-03T00:00:00.100Z", 1], "c": "x"});
        assert_eq!(normalize(&v), want);
    }
}
