//! Replicas over one database with the change feed, and the probes the feed tests share.
#![allow(dead_code)] // each test binary uses a part of it
use std::time::{Duration, Instant};

use better_auth_grpc::proto::auth::v1::{
    session_event::Kind, SessionEvent, ValidateTokenRequest, WatchSessionsRequest,
};
use futures::future::join_all;
use tonic::Streaming;

use crate::common::{
    better_auth::{DEFAULT_BASE_URL, DEFAULT_SECRET},
    server::{settings_with, TestServer},
};

/// How long a test waits for what should take milliseconds, before failing.
pub const PATIENCE: Duration = Duration::from_secs(10);

pub async fn replicas(url: &str, n: usize, flags: &[&str]) -> Vec<TestServer> {
    let mut started = Vec::new();
    for _ in 0..n {
        let mut args = settings_with(url, DEFAULT_SECRET, flags);
        args.base_url = Some(DEFAULT_BASE_URL.into());
        started.push(TestServer::start(args).await);
    }
    started
}

pub async fn watch(s: &TestServer) -> Streaming<SessionEvent> {
    s.client
        .clone()
        .watch_sessions(WatchSessionsRequest {})
        .await
        .expect("WatchSessions")
        .into_inner()
}

/// The next event of `kind`, skipping others; panics after `PATIENCE`.
pub async fn next_of(events: &mut Streaming<SessionEvent>, kind: Kind) -> SessionEvent {
    let wait = async {
        loop {
            let e = events.message().await.expect("stream").expect("open");
            if e.kind == kind as i32 {
                return e;
            }
        }
    };
    tokio::time::timeout(PATIENCE, wait)
        .await
        .unwrap_or_else(|_| panic!("no {kind:?} event within {PATIENCE:?}"))
}

/// Waits until every replica's feed is live.
pub async fn all_live(servers: &[TestServer]) {
    for s in servers {
        next_of(&mut watch(s).await, Kind::Live).await;
    }
}

pub async fn valid(s: &TestServer, token: &str) -> bool {
    let req = ValidateTokenRequest {
        token: token.into(),
        ..Default::default()
    };
    let answer = s.client.clone().validate_token(req).await;
    answer.expect("status OK").into_inner().valid
}

/// For each replica, how long after `since` it first refused `token`; panics after `PATIENCE`.
pub async fn refusal_delays(servers: &[TestServer], token: &str, since: Instant) -> Vec<Duration> {
    join_all(servers.iter().map(|s| async move {
        while valid(s, token).await {
            assert!(since.elapsed() < PATIENCE, "still valid after {PATIENCE:?}");
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        since.elapsed()
    }))
    .await
}

/// Every replica answers `token` valid (and so has it cached).
pub async fn warm(servers: &[TestServer], token: &str) {
    for s in servers {
        for _ in 0..2 {
            assert!(valid(s, token).await, "valid before the change");
        }
    }
}
