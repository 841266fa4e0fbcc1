//! One task applies the feed's signals, in order: the gate first (so fills in flight are voided),
//! then the caches, then the subscribers.
use std::sync::Arc;

use tokio::sync::{broadcast, mpsc::UnboundedReceiver, watch};
use tokio::task::JoinHandle;

use super::gate::{FeedState, Gate};
use crate::auth::{fresh_user::UserCheck, session_cache::SessionCache};
use crate::domain::change::{Change, FeedSignal};
use crate::domain::metric;
use crate::token::KeySet;

/// How many events a slow WatchSessions subscriber may fall behind before it gets a RESET.
const BACKLOG: usize = 4_096;

/// Every cache the feed keeps honest.
#[derive(Clone, Default)]
pub struct Caches {
    pub sessions: Option<SessionCache>,
    pub users: Option<UserCheck>,
    pub keys: Option<Arc<KeySet>>,
}

/// The gate caches consult and the events subscribers receive.
#[derive(Clone)]
pub struct Feed {
    gate: Arc<Gate>,
    events: broadcast::Sender<FeedSignal>,
    /// Set when the server drains: subscribers' streams end (after a RESET) instead of holding
    /// the drain open.
    closing: Arc<watch::Sender<bool>>,
}

impl Feed {
    pub fn new(initial: FeedState) -> Self {
        Self {
            gate: Arc::new(Gate::new(initial)),
            events: broadcast::channel(BACKLOG).0,
            closing: Arc::new(watch::channel(false).0),
        }
    }

    /// Ends every subscriber's stream (the server is draining).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Resolves once `close` was called.
    pub fn closed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.closing.subscribe();
        async move {
            let _ = rx.wait_for(|closing| *closing).await;
        }
    }

    pub fn gate(&self) -> Arc<Gate> {
        self.gate.clone()
    }

    /// A subscriber's events from now on; read `state()` after subscribing for where to start.
    pub fn subscribe(&self) -> broadcast::Receiver<FeedSignal> {
        self.events.subscribe()
    }

    pub fn state(&self) -> FeedState {
        self.gate.state()
    }

    /// Applies the feed's signals until it stops.
    pub fn start(
        &self,
        caches: Caches,
        mut signals: UnboundedReceiver<FeedSignal>,
    ) -> JoinHandle<()> {
        let feed = self.clone();
        tokio::spawn(async move {
            while let Some(signal) = signals.recv().await {
                feed.apply(&caches, &signal).await;
                let _ = feed.events.send(signal);
            }
        })
    }

    async fn apply(&self, caches: &Caches, signal: &FeedSignal) {
        let state = match signal {
            FeedSignal::Changed(change) => {
                self.gate.bump();
                metric::feed_event(kind(change));
                return apply_change(caches, change).await;
            }
            FeedSignal::Live => FeedState::Live,
            FeedSignal::NotInstalled => FeedState::NotInstalled,
            FeedSignal::Lost => FeedState::Lost,
        };
        let was = self.gate.state();
        if state != was {
            tracing::info!(?state, "change feed");
        }
        metric::feed_state(
            state == FeedState::Live,
            state == FeedState::Lost && was != state,
        );
        self.gate.set(state);
        // Learning that no feed is installed changes nothing for entries cached under a chosen
        // staleness; going live or lost starts from nothing.
        let no_feed_all_along = matches!(was, FeedState::Starting | FeedState::NotInstalled);
        if !(state == FeedState::NotInstalled && no_feed_all_along) {
            clear(caches).await;
        }
    }
}

fn kind(change: &Change) -> &'static str {
    match change {
        Change::Session { .. } => "session",
        Change::User { .. } => "user",
        Change::Keys => "keys",
        Change::Any => "any",
    }
}

async fn apply_change(caches: &Caches, change: &Change) {
    match change {
        Change::Session {
            token_sha256,
            user_id: _,
        } => {
            if let Some(s) = &caches.sessions {
                s.forget(token_sha256);
            }
        }
        Change::User { user_id } => {
            if let Some(s) = &caches.sessions {
                s.forget_user(user_id);
            }
            if let Some(u) = &caches.users {
                u.forget(user_id).await;
            }
        }
        Change::Keys => reload_keys(caches),
        Change::Any => clear(caches).await,
    }
}

async fn clear(caches: &Caches) {
    if let Some(s) = &caches.sessions {
        s.clear();
    }
    if let Some(u) = &caches.users {
        u.clear();
    }
    reload_keys(caches);
}

/// A reload that changes the keys moves the key set's epoch, which voids verified JWTs. In the
/// background: the events behind this one must not wait for a database round trip.
fn reload_keys(caches: &Caches) {
    let Some(keys) = caches.keys.clone() else {
        return;
    };
    tokio::spawn(async move {
        if let Err(e) = keys.reload().await {
            tracing::warn!(error = %e, "change feed: jwks reload failed; unknown kids reload later");
        }
    });
}
