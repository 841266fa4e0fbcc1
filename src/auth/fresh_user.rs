//! `--jwt-check-user`: a verified JWT's user must still exist and not be banned. JWTs are
//! stateless, so this is the one way to cut a deleted or banned user off before `exp`; users
//! are cached for a short, stated time (the check's maximum staleness).
use std::{sync::Arc, time::Duration};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use moka::future::Cache;
use serde_json::Value;

use super::feed::gate::{Gate, Ticket};
use super::{credential::CredentialKind, error::AuthError};
use crate::domain::{metric, model::User, reason::Reason};
use crate::store::{Store, StoreError};

#[derive(Clone)]
pub struct UserCheck {
    store: Arc<dyn Store>,
    cache: Cache<String, Option<User>>,
    gate: Arc<Gate>,
}

impl UserCheck {
    /// `staleness` holds where no change feed is installed; a live feed drops a changed user
    /// at once, and a lost one turns the cache off until it is back.
    pub fn new(store: Arc<dyn Store>, staleness: Duration, gate: Arc<Gate>) -> Self {
        let cache = Cache::builder()
            .max_capacity(100_000)
            .time_to_live(staleness)
            .eviction_listener(|_, _, cause| metric::cache_eviction(metric::USER_CACHE, cause))
            .build();
        Self { store, cache, gate }
    }

    /// The change feed saw this user change.
    pub async fn forget(&self, user_id: &str) {
        self.cache.invalidate(user_id).await;
    }

    pub fn clear(&self) {
        self.cache.invalidate_all();
    }

    pub async fn check(&self, user_id: &str, now: DateTime<Utc>) -> Result<User, AuthError> {
        let user = match self.gate.ticket(true) {
            Some(ticket) => self.cached(user_id, ticket).await?,
            None => self.store.find_user(user_id).await?,
        };
        let user = user.ok_or(AuthError::refused(
            CredentialKind::Jwt,
            Reason::UserNotFound,
        ))?;
        if is_banned(&user, now) {
            return Err(AuthError::refused(CredentialKind::Jwt, Reason::UserBanned));
        }
        Ok(user)
    }
}

impl UserCheck {
    async fn cached(&self, user_id: &str, ticket: Ticket) -> Result<Option<User>, AuthError> {
        let store = self.store.clone();
        let id = user_id.to_owned();
        let user = self
            .cache
            .entry(id.clone())
            .or_try_insert_with(async move { store.find_user(&id).await })
            .await
            .map_err(|e: Arc<StoreError>| {
                AuthError::Store(StoreError::Unavailable(e.to_string()))
            })?;
        metric::cache_lookup(metric::USER_CACHE, !user.is_fresh());
        let user = user.into_value();
        if !self.gate.still(ticket) {
            self.cache.invalidate(user_id).await;
        }
        Ok(user)
    }
}

/// The admin plugin's ban, read as its session hook reads it: a banned user stays banned unless
/// `banExpires` is a date strictly before now (`banExpires.getTime() < Date.now()`). A value
/// that is set but not understood keeps the ban, as JavaScript's `NaN < now` does.
pub fn is_banned(user: &User, now: DateTime<Utc>) -> bool {
    let field = |k: &str| {
        user.extra
            .iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v)
    };
    if field("banned") != Some(&Value::Bool(true)) {
        return false;
    }
    match field("banExpires") {
        None | Some(Value::Null) => true,
        Some(v) => ban_end(v).is_none_or(|end| end >= now),
    }
}

/// A `banExpires` value as a date: an ISO-8601 string (with an offset, or without one read as
/// UTC, as the service reads every naive timestamp), a date alone, or epoch milliseconds.
fn ban_end(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::Number(n) => n.as_i64().and_then(DateTime::from_timestamp_millis),
        Value::String(s) => parse_js_date(s.trim()),
        _ => None,
    }
}

fn parse_js_date(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
            return Some(t.and_utc());
        }
    }
    let day = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    Some(day.and_hms_opt(0, 0, 0)?.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn user(extra: Vec<(&str, Value)>) -> User {
        User {
            id: "u".into(),
            name: "n".into(),
            email: "e".into(),
            email_verified: false,
            image: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            extra: extra.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        }
    }

    #[test]
    fn bans_follow_the_admin_plugin() {
        let now = Utc::now();
        let later = crate::domain::model::iso_millis(&(now + TimeDelta::hours(1)));
        let earlier = crate::domain::model::iso_millis(&(now - TimeDelta::hours(1)));
        assert!(!is_banned(&user(vec![]), now));
        assert!(!is_banned(&user(vec![("banned", Value::Bool(false))]), now));
        assert!(is_banned(&user(vec![("banned", Value::Bool(true))]), now));
        assert!(is_banned(
            &user(vec![
                ("banned", Value::Bool(true)),
                ("banExpires", Value::String(later))
            ]),
            now
        ));
        assert!(!is_banned(
            &user(vec![
                ("banned", Value::Bool(true)),
                ("banExpires", Value::String(earlier))
            ]),
            now
        ));
    }

    fn banned_until(v: Value, now: DateTime<Utc>) -> bool {
        is_banned(
            &user(vec![("banned", Value::Bool(true)), ("banExpires", v)]),
            now,
        )
    }

    #[test]
    fn a_ban_end_that_is_set_but_not_understood_keeps_the_ban() {
        let now = DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .unwrap()
            .to_utc();
        // SQLite may hold a date alone: JavaScript reads it, and the ban holds until then.
        assert!(banned_until(Value::String("2030-01-01".into()), now));
        for v in ["someday", "", "2030-13-45", "infinity"] {
            assert!(banned_until(Value::String(v.into()), now), "{v:?}");
        }
        assert!(banned_until(Value::Bool(false), now));
        assert!(banned_until(Value::Null, now));
        assert!(banned_until(serde_json::json!(1.5e300), now));
    }

    #[test]
    fn a_ban_ends_strictly_before_now_in_every_date_form() {
        let now = DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .unwrap()
            .to_utc();
        for v in [
            "2026-11-30",
            "2026-11-30 23:59:59",
            "2026-11-30T23:59:59.999",
        ] {
            assert!(!banned_until(Value::String(v.into()), now), "{v:?}");
        }
        assert!(!banned_until(
            serde_json::json!(now.timestamp_millis() - 1),
            now
        ));
        // Better Auth lifts a ban only when its end is strictly in the past.
        assert!(banned_until(serde_json::json!(now.timestamp_millis()), now));
        assert!(banned_until(Value::String("2026-12-01".into()), now));
    }
}
