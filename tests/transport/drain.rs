//! SIGTERM on the real binary: health turns NOT_SERVING, in-flight calls finish (or are cut at
//! drain_timeout), new ones are refused, and it exits 0.
use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use better_auth_grpc::{
    app::App, clock::SystemClock, proto::auth::v1::auth_service_client::AuthServiceClient,
};
use tokio::task::JoinHandle;
use tonic::{
    transport::{Channel, Endpoint},
    Code, Streaming,
};
use tonic_health::pb::{
    health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
    HealthCheckResponse,
};

use super::{
    common::{
        process::{self, Ended, Running},
        server,
    },
    health, postgres, seed, validate, SessionLock, SECRET,
};

/// The real binary serving a database; killed on drop.
struct Process {
    running: Running,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Process {
    /// Serves `url` with database and request timeouts of `call_ms` and a drain of `drain_ms`.
    async fn start(url: &str, call_ms: &str, drain_ms: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut c = process::command(dir.path());
        c.env("DATABASE_URL", url)
            .env("BETTER_AUTH_SECRET", SECRET)
            .env("LISTEN_ADDR", "127.0.0.1:0")
            .env("BETTER_AUTH_GRPC_LOG", "info")
            .env("BETTER_AUTH_GRPC_DB_TIMEOUT_MS", call_ms)
            .env("BETTER_AUTH_GRPC_REQUEST_TIMEOUT_MS", call_ms)
            .env("BETTER_AUTH_GRPC_DRAIN_TIMEOUT_MS", drain_ms);
        let mut running = Running::spawn(c);
        let addr = running.serving(Duration::from_secs(30));
        let mut p = Self {
            running,
            addr,
            _dir: dir,
        };
        p.wait_until_healthy().await;
        p
    }

    /// Health says SERVING once the database watcher has seen the database.
    async fn wait_until_healthy(&mut self) {
        let started = Instant::now();
        loop {
            if let Ok(ch) = self.endpoint().connect().await {
                if health(ch, "").await.ok() == Some(ServingStatus::Serving) {
                    return;
                }
            }
            if let Some(status) = self.running.try_exit() {
                let stderr = self.running.stderr();
                panic!("the server exited at start: {status:?}\n{stderr}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "not serving after 30 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn endpoint(&self) -> Endpoint {
        Endpoint::from_shared(format!("http://{}", self.addr)).unwrap()
    }

    /// Waits for the exit (at most `limit`) off this runtime, so the calls on it go on.
    async fn exit(self, limit: Duration) -> Ended {
        let waited = tokio::task::spawn_blocking(move || self.running.wait(limit)).await;
        waited.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }
}

/// Seeds a session through the service's own store (no server started).
async fn seed_url(url: &str) -> String {
    let app = App::build(
        server::config(&server::settings(url, SECRET)),
        Arc::new(SystemClock),
    )
    .await
    .expect("app");
    seed(&app.store).await
}

/// Locks the session table, then starts one ValidateToken that waits on the lock.
async fn hold_one_call(
    url: &str,
    client: &AuthServiceClient<Channel>,
    token: &str,
) -> (SessionLock, JoinHandle<Result<bool, tonic::Status>>) {
    let mut lock = SessionLock::take(url).await;
    let in_flight = {
        let (client, token) = (client.clone(), token.to_owned());
        tokio::spawn(async move { validate(&client, &token, None).await })
    };
    lock.wait_for_waiters(1).await;
    (lock, in_flight)
}

/// A health watcher, as a load balancer would keep; its first message says SERVING.
async fn watch_health(channel: Channel) -> Streaming<HealthCheckResponse> {
    let mut watch = HealthClient::new(channel)
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let first = watch.message().await.unwrap().unwrap();
    assert_eq!(first.status(), ServingStatus::Serving);
    watch
}

/// After SIGTERM the watch sends NOT_SERVING (and then ends: [`assert_watch_ends`]).
async fn assert_watch_turns_not_serving(watch: &mut Streaming<HealthCheckResponse>) {
    let next = tokio::time::timeout(Duration::from_secs(5), watch.message())
        .await
        .expect("health watch silent after SIGTERM")
        .expect("health watch failed")
        .expect("health watch ended without NOT_SERVING");
    assert_eq!(next.status(), ServingStatus::NotServing);
}

async fn assert_watch_ends(watch: &mut Streaming<HealthCheckResponse>) {
    let end = tokio::time::timeout(Duration::from_secs(5), watch.message())
        .await
        .expect("health watch not ended after SIGTERM");
    assert!(matches!(end, Ok(None)), "the watch ends cleanly: {end:?}");
}

/// Waits until `addr` refuses new connections.
async fn wait_until_refused(addr: SocketAddr) {
    let started = Instant::now();
    while tokio::net::TcpStream::connect(addr).await.is_ok() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the listener still accepts 5 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A new call on the connection opened before SIGTERM: GOAWAY, then the closed listener.
async fn late_call(client: &AuthServiceClient<Channel>, token: &str) -> (tonic::Status, Duration) {
    let started = Instant::now();
    let late = tokio::time::timeout(
        Duration::from_secs(10),
        validate(client, token, Some(Duration::from_secs(2))),
    )
    .await
    .expect("a call after SIGTERM hung");
    let late_took = started.elapsed();
    let late = late.expect_err("a new call after SIGTERM must be refused");
    // UNAVAILABLE (reconnect refused), or CANCELLED when the call raced the GOAWAY.
    assert!(
        matches!(late.code(), Code::Unavailable | Code::Cancelled),
        "{late:?}"
    );
    (late, late_took)
}

#[tokio::test]
async fn sigterm_turns_health_not_serving_finishes_in_flight_calls_and_exits() {
    let url = postgres().await;
    let token = seed_url(&url).await;
    let mut p = Process::start(&url, "30000", "10000").await;
    let channel = p.endpoint().connect().await.unwrap();
    let client = AuthServiceClient::new(channel.clone());
    assert!(validate(&client, &token, None).await.unwrap());
    let mut watch = watch_health(channel.clone()).await;
    let (lock, in_flight) = hold_one_call(&url, &client, &token).await;

    p.running.sigterm();
    let term = Instant::now();
    assert_watch_turns_not_serving(&mut watch).await;
    let not_serving = term.elapsed();
    assert_watch_ends(&mut watch).await;
    // New connections are refused while the in-flight call is still held.
    wait_until_refused(p.addr).await;
    let refused = term.elapsed();
    let (late, late_took) = late_call(&client, &token).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        p.running.try_exit().is_none(),
        "exited before its in-flight call finished"
    );

    let released = Instant::now();
    lock.release().await;
    let answer = tokio::time::timeout(Duration::from_secs(10), in_flight)
        .await
        .expect("the in-flight call hung")
        .unwrap();
    assert_eq!(
        answer.map_err(|s| s.code()),
        Ok(true),
        "the in-flight call completes"
    );
    let Ended { status, stderr, .. } = p.exit(Duration::from_secs(10)).await;
    let after_release = released.elapsed();
    let drain = term.elapsed();
    assert!(status.success(), "exit {status:?}\n{stderr}");
    assert!(stderr.contains("draining"), "{stderr}");
    eprintln!(
        "transport: SIGTERM -> health NOT_SERVING on the watch after {not_serving:?}, listener closed \
         after {refused:?}; a new call {:?} after {late_took:?}; exit 0 {after_release:?} after \
         the in-flight call was released (drain {drain:?} in all)",
        late.code()
    );
}

#[tokio::test]
async fn sigterm_exits_within_drain_timeout_when_a_call_never_finishes() {
    const DRAIN: Duration = Duration::from_millis(1500);
    let url = postgres().await;
    let token = seed_url(&url).await;
    let p = Process::start(&url, "60000", "1500").await;
    let client = AuthServiceClient::new(p.endpoint().connect().await.unwrap());
    let (lock, in_flight) = hold_one_call(&url, &client, &token).await;

    p.running.sigterm();
    let term = Instant::now();
    let Ended { status, stderr, .. } = p.exit(DRAIN + Duration::from_secs(3)).await;
    let drain = term.elapsed();
    assert!(status.success(), "exit {status:?}\n{stderr}");
    assert!(
        drain >= DRAIN,
        "exited after {drain:?}, before drain_timeout"
    );
    assert!(stderr.contains("drain_timeout reached"), "{stderr}");
    let cut = tokio::time::timeout(Duration::from_secs(5), in_flight)
        .await
        .expect("the cut call hung")
        .unwrap();
    assert!(cut.is_err(), "the call was cut: {cut:?}");
    lock.release().await;
    eprintln!(
        "transport: SIGTERM with a call that never finishes: exit 0 after {drain:?} \
         (drain_timeout {DRAIN:?}); the call got {:?}",
        cut.err().map(|s| s.code())
    );
}
