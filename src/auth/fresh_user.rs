//! `--jwt-check-user`: a verified JWT's user must still exist and not be banned. JWTs are
//! stateless, so this is the one way to cut a deleted or banned user off before `exp`; users
//! are cached for a short, stated time (the check's maximum staleness).
use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use moka::future::Cache;
use serde_json::Value;

use super::{credential::CredentialKind, error::AuthError};
use crate::domain::{model::User, reason::Reason};
use crate::store::{Store, StoreError};

#[derive(Clone)]
pub struct UserCheck {
    store: Arc<dyn Store>,
    cache: Cache<String, Option<User>>,
}

impl UserCheck {
    pub fn new(store: Arc<dyn Store>, staleness: Duration) -> Self {
        let cache = Cache::builder()
            .max_capacity(100_000)
            .time_to_live(staleness)
            .build();
        Self { store, cache }
    }

    pub async fn check(&self, user_id: &str, now: DateTime<Utc>) -> Result<User, AuthError> {
        let store = self.store.clone();
        let id = user_id.to_owned();
        let user = self
            .cache
            .try_get_with(id.clone(), async move { store.find_user(&id).await })
            .await
            .map_err(|e: Arc<StoreError>| {
                AuthError::Store(StoreError::Unavailable(e.to_string()))
            })?;
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

/// The admin plugin's ban: `banned` true and `banExpires` unset or still ahead.
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
    match field("banExpires").and_then(Value::as_str) {
        Some(t) => DateTime::parse_from_rfc3339(t).is_ok_and(|t| t > now),
        None => true,
    }
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
}
