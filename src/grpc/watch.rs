//! WatchSessions: the change feed's events as a stream. A subscriber first gets a RESET, and a
//! LIVE right after it when the feed is live, then every event applied after it subscribed; one that falls more than
//! the backlog behind gets a RESET (and LIVE again if the feed is live), never a silent gap.
//! When the server drains, each stream ends with a RESET, so open streams do not hold the drain.
use std::pin::Pin;

use futures::{stream, Stream, StreamExt};
use tokio::sync::broadcast::error::RecvError;
use tonic::Status;

use crate::auth::feed::{Feed, FeedState};
use crate::domain::change::{Change, FeedSignal};
use crate::proto::auth::v1::{session_event::Kind, SessionEvent};

pub type EventStream = Pin<Box<dyn Stream<Item = Result<SessionEvent, Status>> + Send>>;

pub fn events(feed: &Feed) -> EventStream {
    let rx = feed.subscribe();
    let first = state_events(feed.state());
    let closed = Box::pin(feed.closed());
    let rest = stream::unfold(Some((rx, feed.clone(), closed)), |state| async move {
        let (mut rx, feed, mut closed) = state?;
        let events = tokio::select! {
            () = &mut closed => return Some((stream::iter(vec![kind(Kind::Reset)]), None)),
            next = rx.recv() => match next {
                Ok(signal) => vec![event(&signal)],
                Err(RecvError::Lagged(_)) => state_events(feed.state()),
                Err(RecvError::Closed) => return None,
            },
        };
        Some((stream::iter(events), Some((rx, feed, closed))))
    })
    .flatten();
    Box::pin(stream::iter(first).chain(rest).map(Ok))
}

/// Where a subscriber starts (or restarts after falling behind): drop everything, then cache
/// again only if the feed is live.
fn state_events(state: FeedState) -> Vec<SessionEvent> {
    let reset = kind(Kind::Reset);
    match state {
        FeedState::Live => vec![reset, kind(Kind::Live)],
        _ => vec![reset],
    }
}

fn event(signal: &FeedSignal) -> SessionEvent {
    match signal {
        FeedSignal::Live => kind(Kind::Live),
        FeedSignal::NotInstalled | FeedSignal::Lost => kind(Kind::Reset),
        FeedSignal::Changed(Change::Session {
            token_sha256,
            user_id,
        }) => SessionEvent {
            kind: Kind::Session as i32,
            session_token_sha256: token_sha256.to_vec(),
            user_id: user_id.clone(),
        },
        FeedSignal::Changed(Change::User { user_id }) => SessionEvent {
            kind: Kind::User as i32,
            user_id: user_id.clone(),
            ..Default::default()
        },
        FeedSignal::Changed(Change::Keys) => kind(Kind::Keys),
        FeedSignal::Changed(Change::Any) => kind(Kind::Flush),
    }
}

fn kind(k: Kind) -> SessionEvent {
    SessionEvent {
        kind: k as i32,
        ..Default::default()
    }
}
