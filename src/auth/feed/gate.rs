//! Whether answers may be cached right now, and a ticket that tells a cache fill whether a
//! change was applied while it read the database (then its answer must not stay cached).
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering::SeqCst};

/// The change feed's state, as caches see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum FeedState {
    /// Not subscribed yet: cached only where a maximum staleness was chosen (as without a feed;
    /// going live empties the caches).
    Starting = 0,
    /// Every committed change is being applied: caches are on.
    Live = 1,
    /// The database has no triggers (or `--follow-changes off`): today's behaviour, caches only
    /// where a maximum staleness was chosen.
    NotInstalled = 2,
    /// The feed cannot vouch for what it missed: nothing is cached until it is `Live` again.
    Lost = 3,
}

#[derive(Debug)]
pub struct Gate {
    state: AtomicU8,
    /// Bumped before every change is applied, and on every state change.
    epoch: AtomicU64,
}

/// A cache fill's proof of which epoch it read under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket(u64);

impl Gate {
    pub fn new(state: FeedState) -> Self {
        Self {
            state: AtomicU8::new(state as u8),
            epoch: AtomicU64::new(0),
        }
    }

    pub fn state(&self) -> FeedState {
        match self.state.load(SeqCst) {
            1 => FeedState::Live,
            2 => FeedState::NotInstalled,
            3 => FeedState::Lost,
            _ => FeedState::Starting,
        }
    }

    /// `Some` when a cache may answer and be filled now. `stale_ok`: the operator chose a
    /// maximum staleness, which holds where no feed is installed or not yet known (never while
    /// an installed feed is lost).
    pub fn ticket(&self, stale_ok: bool) -> Option<Ticket> {
        let epoch = self.epoch.load(SeqCst);
        match self.state() {
            FeedState::Live => Some(Ticket(epoch)),
            FeedState::NotInstalled | FeedState::Starting if stale_ok => Some(Ticket(epoch)),
            _ => None,
        }
    }

    /// Whether nothing was applied since `ticket` was taken: checked after a fill is stored,
    /// because a change applied between the read and the store must not be outlived by it.
    pub fn still(&self, ticket: Ticket) -> bool {
        self.epoch.load(SeqCst) == ticket.0
    }

    /// Called before a change is applied to the caches.
    pub fn bump(&self) {
        self.epoch.fetch_add(1, SeqCst);
    }

    pub fn set(&self, state: FeedState) {
        self.state.store(state as u8, SeqCst);
        self.bump();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_live_feed_or_a_chosen_staleness_without_one_caches() {
        let gate = Gate::new(FeedState::Starting);
        assert!(gate.ticket(false).is_none());
        assert!(gate.ticket(true).is_some());
        gate.set(FeedState::NotInstalled);
        assert!(gate.ticket(false).is_none());
        assert!(gate.ticket(true).is_some());
        gate.set(FeedState::Lost);
        assert!(gate.ticket(true).is_none());
        gate.set(FeedState::Live);
        assert!(gate.ticket(false).is_some());
    }

    #[test]
    fn a_change_applied_during_a_fill_voids_its_ticket() {
        let gate = Gate::new(FeedState::Live);
        let t = gate.ticket(false).expect("live");
        assert!(gate.still(t));
        gate.bump();
        assert!(!gate.still(t));
        let t = gate.ticket(false).expect("live");
        gate.set(FeedState::Lost);
        assert!(!gate.still(t));
    }
}
