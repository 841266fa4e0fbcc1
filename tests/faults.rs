//! The database goes away and comes back (a PostgreSQL cluster of the test's own): calls answer
//! UNAVAILABLE within db_timeout instead of hanging, health follows the database, and the service
//! recovers by itself.
mod common;

use std::{
    future::Future,
    time::{Duration, Instant},
};

use better_auth_grpc::{
    grpc::server::LIVENESS_HEALTH_NAME,
    proto::auth::v1::{GetSessionRequest, ValidateTokenRequest},
};
use common::{
    pg::PrivateCluster,
    server::{self, TestServer},
};
use tonic::Code;
use tonic_health::pb::{
    health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
};
use tonic_types::StatusExt;

const SECRET: &str = "faults-test-secret-0123456789abcdefghijkl";
const DB_TIMEOUT: Duration = Duration::from_millis(1000);
/// What an UNAVAILABLE answer may take beyond db_timeout (scheduling, the gRPC round trip).
const MARGIN: Duration = Duration::from_millis(1500);
/// Longest wait for health to change or for the service to recover.
const POLL_LIMIT: Duration = Duration::from_secs(10);

/// A user with one live session; returns (user id, session token).
async fn seed(server: &TestServer) -> (String, String) {
    common::fixtures::live_session(server.store.as_ref(), "Fault Tolerant").await
}

/// Runs one call, failing the test if it hangs; returns its result and how long it took.
async fn timed<T>(what: &str, call: impl Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let out = tokio::time::timeout(DB_TIMEOUT + MARGIN + Duration::from_secs(10), call)
        .await
        .unwrap_or_else(|_| panic!("{what} hung"));
    (out, started.elapsed())
}

async fn validate(server: &TestServer, token: &str) -> Result<(bool, String), tonic::Status> {
    let req = ValidateTokenRequest {
        token: token.into(),
        ..Default::default()
    };
    server
        .client
        .clone()
        .validate_token(req)
        .await
        .map(|r| r.into_inner())
        .map(|r| (r.valid, r.user.map(|u| u.id).unwrap_or_default()))
}

async fn get_session(server: &TestServer, token: &str) -> Result<String, tonic::Status> {
    let req = GetSessionRequest {
        token: token.into(),
        disable_refresh: false,
    };
    server
        .client
        .clone()
        .get_session(req)
        .await
        .map(|r| r.into_inner().user.map(|u| u.id).unwrap_or_default())
}

fn assert_unavailable<T: std::fmt::Debug>(what: &str, r: Result<T, tonic::Status>, took: Duration) {
    let status = r.expect_err(&format!("{what} must fail while the database is down"));
    assert_eq!(status.code(), Code::Unavailable, "{what}: {status:?}");
    let reason = status
        .get_error_details()
        .error_info()
        .map(|i| i.reason.clone());
    assert_eq!(
        reason.as_deref(),
        Some("DATABASE_UNAVAILABLE"),
        "{what}: {status:?}"
    );
    assert!(
        took <= DB_TIMEOUT + MARGIN,
        "{what} took {took:?}, db_timeout is {DB_TIMEOUT:?}"
    );
}

async fn health(
    client: &mut HealthClient<tonic::transport::Channel>,
    service: &str,
) -> Option<ServingStatus> {
    let req = HealthCheckRequest {
        service: service.into(),
    };
    client
        .check(req)
        .await
        .ok()
        .map(|r| r.into_inner().status())
}

/// Polls both health entries until they are `want`; returns how long that took.
async fn wait_health(
    client: &mut HealthClient<tonic::transport::Channel>,
    want: ServingStatus,
) -> Duration {
    let started = Instant::now();
    loop {
        let (named, overall) = (
            health(client, "auth.v1.AuthService").await,
            health(client, "").await,
        );
        if named == Some(want) && overall == Some(want) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < POLL_LIMIT,
            "health still {named:?} / {overall:?} after {POLL_LIMIT:?}, want {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn database_outage_answers_unavailable_and_recovers() {
    let cluster = PrivateCluster::start().await;
    let url = cluster.fresh_database().await;
    server::migrate(&url).await;
    let mut args = server::settings(&url, SECRET);
    args.db_timeout_ms = DB_TIMEOUT.as_millis() as u64;
    let server = TestServer::start(args).await;
    let (user_id, token) = seed(&server).await;
    let channel = tonic::transport::Endpoint::from_shared(server.channel_url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health_client = HealthClient::new(channel);

    assert_eq!(
        validate(&server, &token).await.unwrap(),
        (true, user_id.clone())
    );
    assert_eq!(get_session(&server, &token).await.unwrap(), user_id);
    wait_health(&mut health_client, ServingStatus::Serving).await;

    cluster.stop().await;
    let down = Instant::now();
    // Health is watched from the moment the database stops, while the calls below run.
    let health_down = {
        let mut client = health_client.clone();
        tokio::spawn(async move { wait_health(&mut client, ServingStatus::NotServing).await })
    };
    let mut latencies = Vec::new();
    for round in 0..3 {
        let (r, took) = timed("ValidateToken", validate(&server, &token)).await;
        assert_unavailable(&format!("ValidateToken #{round}"), r, took);
        latencies.push(took);
        let (r, took) = timed("GetSession", get_session(&server, &token)).await;
        assert_unavailable(&format!("GetSession #{round}"), r, took);
        latencies.push(took);
    }
    // Many callers at once (more than the pool's 10 connections): each one answered in time.
    let calls: Vec<_> = (0..25)
        .map(|i| {
            let (server_client, token) = (server.client.clone(), token.clone());
            tokio::spawn(async move {
                let req = ValidateTokenRequest {
                    token,
                    ..Default::default()
                };
                let started = Instant::now();
                let r = server_client
                    .clone()
                    .validate_token(req)
                    .await
                    .map(|r| r.into_inner().valid);
                (i, r, started.elapsed())
            })
        })
        .collect();
    let mut slowest = Duration::ZERO;
    for call in calls {
        let (i, r, took) = tokio::time::timeout(POLL_LIMIT, call)
            .await
            .expect("concurrent call hung")
            .unwrap();
        assert_unavailable(&format!("concurrent ValidateToken #{i}"), r, took);
        slowest = slowest.max(took);
    }
    // A credential that needs no database is still answered (status OK, valid=false).
    let (r, _) = timed("ValidateToken(empty)", validate(&server, "")).await;
    assert!(!r.expect("an empty credential needs no database").0);
    let not_serving = health_down.await.unwrap();
    assert_eq!(
        health(&mut health_client, "").await,
        Some(ServingStatus::NotServing)
    );
    let outage = down.elapsed();
    eprintln!(
        "faults: UNAVAILABLE latencies {latencies:?}, slowest of 25 concurrent calls {slowest:?}; \
         health NOT_SERVING {not_serving:?} after the database stopped; outage lasted {outage:?}"
    );

    cluster.start_again().await;
    let started = Instant::now();
    let mut failures = 0;
    loop {
        let (r, _) = timed("ValidateToken", validate(&server, &token)).await;
        match r {
            Ok(answer) => {
                assert_eq!(answer, (true, user_id.clone()), "after recovery");
                break;
            }
            Err(s) => {
                assert_eq!(s.code(), Code::Unavailable, "while recovering: {s:?}");
                failures += 1;
            }
        }
        assert!(
            started.elapsed() < POLL_LIMIT,
            "no recovery after {POLL_LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let recovered = started.elapsed();
    assert_eq!(get_session(&server, &token).await.unwrap(), user_id);
    let serving = wait_health(&mut health_client, ServingStatus::Serving).await;
    eprintln!(
        "faults: first valid answer {recovered:?} after the database came back ({failures} UNAVAILABLE meanwhile); \
         health SERVING again after another {serving:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn starts_with_the_database_down_and_serves_once_it_is_back() {
    let cluster = PrivateCluster::start().await;
    let url = cluster.fresh_database().await;
    server::migrate(&url).await;
    cluster.stop().await;

    let mut args = server::settings(&url, SECRET);
    args.db_timeout_ms = DB_TIMEOUT.as_millis() as u64;
    let (s, took) = timed("start-up", TestServer::start(args)).await;
    eprintln!("faults: started with the database down in {took:?}");
    let channel = tonic::transport::Endpoint::from_shared(s.channel_url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health_client = HealthClient::new(channel);
    wait_health(&mut health_client, ServingStatus::NotServing).await;
    assert_eq!(
        health(&mut health_client, LIVENESS_HEALTH_NAME).await,
        Some(ServingStatus::Serving),
        "liveness does not follow the database: no restarts during an outage"
    );
    let (r, took) = timed(
        "ValidateToken",
        validate(&s, "some-session-token-00000000000000"),
    )
    .await;
    assert_unavailable("ValidateToken before the database is up", r, took);

    cluster.start_again().await;
    let back = wait_health(&mut health_client, ServingStatus::Serving).await;
    eprintln!("faults: SERVING {back:?} after the database came up");
    let (user_id, token) = seed(&s).await;
    let (r, _) = timed("ValidateToken", validate(&s, &token)).await;
    assert_eq!(r.expect("works once the database is up"), (true, user_id));
    s.stop().await;
}

/// A pooled connection the server closes while it sits idle (a restart, Neon's suspend, a
/// pooler's RECONNECT) is found dead before a call uses it: no call fails for it. Connections in
/// steady use skip that check (`PING_IF_IDLE_FOR`), which saves a round trip per query.
#[tokio::test]
async fn connections_closed_while_idle_are_replaced_before_a_call_uses_them() {
    let cluster = PrivateCluster::start().await;
    let url = cluster.fresh_database().await;
    server::migrate(&url).await;
    let server = TestServer::start(server::settings(&url, SECRET)).await;
    let (user_id, token) = seed(&server).await;
    for _ in 0..3 {
        assert_eq!(
            validate(&server, &token).await.unwrap(),
            (true, user_id.clone())
        );
    }
    let kill = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                WHERE application_name = 'better-auth-grpc'";
    common::sql::exec(&url, kill).await;
    let idle = better_auth_grpc::store::held::PING_IF_IDLE_FOR + Duration::from_millis(300);
    tokio::time::sleep(idle).await;
    for i in 0..5 {
        let answer = validate(&server, &token).await;
        assert_eq!(answer.ok(), Some((true, user_id.clone())), "call {i}");
    }
}
