//! Session lookup with Better Auth's rules (docs/better-auth-compat.md §3.1): strict expiry, deletion of an
//! expired row and the sliding refresh, the last two only in get-session and never when read-only.
use std::{sync::Arc, time::Duration};

use chrono::{DateTime, TimeDelta, Utc};

use super::feed::gate::Gate;
use super::session_cache::{Lookup, SessionCache};
use crate::domain::{model::SessionAndUser, reason::Reason, time::millis};
use crate::{clock::SharedClock, store::Store, store::StoreError};

#[derive(Debug, Clone)]
pub struct SessionPolicy {
    /// Better Auth's `session.expiresIn` (default 7 days).
    pub expires_in: TimeDelta,
    /// Better Auth's `session.updateAge` (default 1 day).
    pub update_age: TimeDelta,
    /// Better Auth's `session.disableSessionRefresh`.
    pub disable_refresh: bool,
    /// Never write: no refresh, no deletion of expired rows (read replicas).
    pub read_only: bool,
    /// ValidateToken's positive cache: how long a found session is kept; zero turns it off.
    /// IssueToken and GetSession never read it.
    pub cache_ttl: Duration,
    pub cache_entries: u64,
    /// The operator chose `cache_ttl` as a maximum staleness: the cache answers even where no
    /// change feed is installed (never while an installed feed is lost).
    pub cache_stale_ok: bool,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            expires_in: TimeDelta::seconds(604_800),
            update_age: TimeDelta::seconds(86_400),
            disable_refresh: false,
            read_only: false,
            cache_ttl: Duration::ZERO,
            cache_entries: 10_000,
            cache_stale_ok: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("no live session: {0}")]
    NoSession(Reason),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct SessionService {
    store: Arc<dyn Store>,
    clock: SharedClock,
    policy: SessionPolicy,
    cache: Option<SessionCache>,
    gate: Arc<Gate>,
}

impl SessionService {
    /// `gate` says when the cache may answer (the change feed's state).
    pub fn new(
        store: Arc<dyn Store>,
        clock: SharedClock,
        policy: SessionPolicy,
        gate: Arc<Gate>,
    ) -> Self {
        let cache = SessionCache::new(policy.cache_ttl, policy.cache_entries);
        Self {
            store,
            clock,
            policy,
            cache,
            gate,
        }
    }

    /// The cache the change feed drops entries of.
    pub fn cache(&self) -> Option<&SessionCache> {
        self.cache.as_ref()
    }

    /// Read-only check: the live session and its user, or why not. Never writes. While the
    /// gate admits it, a cached session is not looked up again.
    pub async fn validate(&self, token: &str) -> Result<SessionAndUser, SessionError> {
        let ticket = self.gate.ticket(self.policy.cache_stale_ok);
        let (Some(cache), Some(ticket)) = (&self.cache, ticket) else {
            return Ok(self.lookup(token).await?.0);
        };
        let key = SessionCache::key(token);
        match cache.get(&key, millis(self.clock.now())) {
            Lookup::Hit(found) => return Ok(*found),
            Lookup::Expired => return Err(SessionError::NoSession(Reason::SessionExpired)),
            Lookup::Miss => {}
        }
        let (found, now) = self.lookup(token).await?;
        cache.insert(key, &found, now);
        if !self.gate.still(ticket) {
            cache.forget(&key);
        }
        Ok(found)
    }

    /// The live session and its user, read from the database whatever the cache holds: for
    /// IssueToken, whose JWT outlives the session. Never writes.
    pub async fn find_live(&self, token: &str) -> Result<SessionAndUser, SessionError> {
        Ok(self.lookup(token).await?.0)
    }

    /// Better Auth's get-session: deletes an expired row, refreshes when due.
    pub async fn get_session(
        &self,
        token: &str,
        no_refresh: bool,
    ) -> Result<SessionAndUser, SessionError> {
        if let Some(cache) = &self.cache {
            cache.forget(&SessionCache::key(token));
        }
        let (mut found, now) = match self.lookup(token).await {
            Err(SessionError::NoSession(Reason::SessionExpired)) if !self.policy.read_only => {
                self.store.delete_session(token).await?;
                return Err(SessionError::NoSession(Reason::SessionExpired));
            }
            other => other?,
        };
        if !no_refresh && self.refresh_due(found.session.expires_at, now) {
            let expires_at = now
                .checked_add_signed(self.policy.expires_in)
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
            if !self.store.refresh_session(token, expires_at, now).await? {
                return Err(SessionError::NoSession(Reason::SessionNotFound));
            }
            found.session.expires_at = expires_at;
            found.session.updated_at = now;
        }
        Ok(found)
    }

    async fn lookup(&self, token: &str) -> Result<(SessionAndUser, DateTime<Utc>), SessionError> {
        let row = self
            .store
            .find_session(token)
            .await?
            .ok_or(SessionError::NoSession(Reason::SessionNotFound))?;
        let now = millis(self.clock.now());
        // Strict, like Better Auth: a session whose expiresAt equals now is still valid.
        if row.session.expires_at < now {
            return Err(SessionError::NoSession(Reason::SessionExpired));
        }
        let user = row
            .user
            .ok_or(SessionError::NoSession(Reason::UserNotFound))?;
        Ok((
            SessionAndUser {
                session: row.session,
                user,
            },
            now,
        ))
    }

    fn refresh_due(&self, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        refresh_due(&self.policy, expires_at, now)
    }
}

/// `expiresAt - expiresIn + updateAge <= now`, i.e. updateAge has passed since the last issue.
/// Past the calendar's ends it is never due, as JavaScript's `Infinity - x <= now` is false.
fn refresh_due(p: &SessionPolicy, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    let due = expires_at
        .checked_sub_signed(p.expires_in)
        .and_then(|t| t.checked_add_signed(p.update_age))
        .is_some_and(|t| t <= now);
    !p.read_only && !p.disable_refresh && due
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_is_never_due_past_the_calendars_ends() {
        let p = SessionPolicy::default();
        let now = Utc::now();
        assert!(!refresh_due(&p, DateTime::<Utc>::MAX_UTC, now));
        assert!(!refresh_due(&p, DateTime::<Utc>::MIN_UTC, now));
        assert!(refresh_due(&p, now + p.expires_in - p.update_age, now));
        assert!(!refresh_due(&p, now + p.expires_in, now));
    }
}
