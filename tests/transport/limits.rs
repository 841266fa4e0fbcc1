//! Limits: an oversized message, more calls than max_concurrent_requests, and deadlines on a
//! blocked database.
use std::time::{Duration, Instant};

use better_auth_grpc::proto::auth::v1::{auth_service_client::AuthServiceClient, Reason};
use tokio::task::JoinHandle;
use tonic::{
    transport::{Channel, Endpoint},
    Code,
};
use tonic_health::pb::{
    health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
};

use super::{
    common::{
        db::Db,
        server::{self, TestServer},
    },
    health, postgres, reason, seed, validate, validate_request, SessionLock, SECRET,
};

#[tokio::test]
async fn oversized_message_is_refused_with_resource_exhausted_and_the_server_keeps_serving() {
    let db = Db::sqlite().await;
    server::migrate(&db.url).await;
    let server = TestServer::start(server::settings(&db.url, SECRET)).await;
    let token = seed(&server.store).await;
    assert_eq!(server.config.transport.max_message_bytes, 64 * 1024);

    let huge = "a".repeat(10 << 20);
    let started = Instant::now();
    let refused = validate(&server.client, &huge, None)
        .await
        .expect_err("a 10 MiB request must be refused");
    let took = started.elapsed();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert_eq!(
        reason(&refused).as_deref(),
        Some("MESSAGE_TOO_LARGE"),
        "{refused:?}"
    );
    eprintln!(
        "transport: 10 MiB ValidateToken answered {:?} in {took:?}: {}",
        refused.code(),
        refused.message()
    );

    // The same connection keeps working.
    assert!(validate(&server.client, &token, None).await.unwrap());
    // Under the message limit, over max_token_bytes: the per-field cap answers (TOO_LARGE).
    let big = "a".repeat(9000);
    let r = server
        .client
        .clone()
        .validate_token(validate_request(&big))
        .await
        .unwrap()
        .into_inner();
    assert!(!r.valid);
    assert_eq!(r.reason, Reason::TooLarge as i32);
    // Health refuses a huge message the same way.
    let req = HealthCheckRequest {
        service: "x".repeat(1 << 20),
    };
    let channel = Endpoint::from_shared(server.channel_url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let refused = HealthClient::new(channel.clone())
        .check(req)
        .await
        .expect_err("1 MiB health request");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert_eq!(health(channel, "").await.unwrap(), ServingStatus::Serving);
    server.stop().await;
}

/// A call's answer, how long it took and when it returned.
type Timed = (Result<bool, tonic::Status>, Duration, Instant);

/// ValidateToken on a task, timed.
fn spawn_timed(client: AuthServiceClient<Channel>, token: String) -> JoinHandle<Timed> {
    tokio::spawn(async move {
        let started = Instant::now();
        let r = validate(&client, &token, None).await;
        (r, started.elapsed(), Instant::now())
    })
}

/// Served and shed calls, and the slowest shed answer.
struct Tally {
    ok: usize,
    shed: usize,
    slowest_shed: Duration,
}

/// Admitted calls answered once the lock was `released`; shed ones at once, OVERLOADED.
async fn tally(calls: Vec<JoinHandle<Timed>>, released: Instant) -> Tally {
    let (mut ok, mut shed, mut slowest_shed) = (0, 0, Duration::ZERO);
    for call in calls {
        let (r, took, ended) = tokio::time::timeout(Duration::from_secs(20), call)
            .await
            .expect("a call hung")
            .unwrap();
        match r {
            Ok(valid) => {
                assert!(valid);
                assert!(
                    ended >= released,
                    "an admitted call returned before the lock was released ({took:?})"
                );
                ok += 1;
            }
            Err(s) => {
                assert_eq!(s.code(), Code::ResourceExhausted, "{s:?}");
                assert_eq!(reason(&s).as_deref(), Some("OVERLOADED"), "{s:?}");
                assert!(
                    took < Duration::from_millis(200),
                    "shed after {took:?}, not at once"
                );
                slowest_shed = slowest_shed.max(took);
                shed += 1;
            }
        }
    }
    Tally {
        ok,
        shed,
        slowest_shed,
    }
}

#[tokio::test]
async fn calls_beyond_max_concurrent_requests_are_shed_with_resource_exhausted() {
    const LIMIT: usize = 2;
    const CALLS: usize = 20;
    let url = postgres().await;
    let mut args = server::settings(&url, SECRET);
    args.max_concurrent_requests = LIMIT;
    args.db_timeout_ms = 20_000;
    args.request_timeout_ms = 20_000;
    let server = TestServer::start(args).await;
    let token = seed(&server.store).await;
    // Two connections: the limit holds over all of them.
    let other = AuthServiceClient::connect(server.channel_url())
        .await
        .unwrap();
    let clients = [server.client.clone(), other];

    let mut lock = SessionLock::take(&url).await;
    let started = Instant::now();
    let calls: Vec<JoinHandle<Timed>> = (0..CALLS)
        .map(|i| spawn_timed(clients[i % 2].clone(), token.clone()))
        .collect();
    // The admitted calls wait on the lock: in one query or two, as session lookups that arrive
    // together share one.
    lock.wait_for_waiters(1).await;
    // While the server is full, health is still answered (it is not behind the limit).
    let channel = Endpoint::from_shared(server.channel_url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    assert_eq!(health(channel, "").await.unwrap(), ServingStatus::Serving);
    // Let the shed calls come back, then release the held ones.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let held_for = started.elapsed();
    let released = Instant::now();
    lock.release().await;

    let Tally {
        ok,
        shed,
        slowest_shed,
    } = tally(calls, released).await;
    eprintln!(
        "transport: {CALLS} concurrent calls, max_concurrent_requests={LIMIT}: {ok} served after the \
         lock ({held_for:?}), {shed} shed ({}%), slowest shed answer {slowest_shed:?}",
        shed * 100 / CALLS
    );
    assert_eq!(ok, LIMIT);
    assert_eq!(shed, CALLS - LIMIT);
    // Permits come back: the server serves again.
    assert!(validate(&server.client, &token, None).await.unwrap());
    server.stop().await;
}

#[tokio::test]
async fn deadlines_bound_calls_on_a_blocked_database() {
    let url = postgres().await;
    let mut args = server::settings(&url, SECRET);
    args.db_timeout_ms = 20_000;
    args.request_timeout_ms = 1000;
    let server = TestServer::start(args).await;
    let token = seed(&server.store).await;
    // Connect first: the caller's clock would count the connection's set-up, the server's not.
    assert!(validate(&server.client, &token, None).await.unwrap());

    let lock = SessionLock::take(&url).await;
    let cases = [
        (
            // The server answers at 90 % of it: a margin wide enough for a stall on a busy machine.
            "caller deadline 600 ms",
            Some(Duration::from_millis(600)),
            Duration::from_millis(800),
        ),
        (
            "no caller deadline (request_timeout_ms=1000)",
            None,
            Duration::from_millis(1300),
        ),
        (
            "caller deadline 60 s, capped at 1000 ms",
            Some(Duration::from_secs(60)),
            Duration::from_millis(1300),
        ),
    ];
    for (what, deadline, bound) in cases {
        let started = Instant::now();
        let r = tokio::time::timeout(
            Duration::from_secs(10),
            validate(&server.client, &token, deadline),
        )
        .await
        .unwrap_or_else(|_| panic!("{what}: hung"));
        let took = started.elapsed();
        let s = r.expect_err(&format!("{what}: the database is blocked"));
        assert!(
            matches!(s.code(), Code::Unavailable | Code::DeadlineExceeded),
            "{what}: {s:?}"
        );
        assert!(
            took <= bound,
            "{what}: answered after {took:?}, want <= {bound:?}"
        );
        eprintln!("transport: {what}: {:?} after {took:?}", s.code());
    }
    lock.release().await;
    assert!(
        validate(&server.client, &token, Some(Duration::from_millis(2000)))
            .await
            .unwrap()
    );
    server.stop().await;
}
