//! Transport hardening against the real server: oversized messages, overload, deadlines on a
//! blocked database, the SIGTERM drain of the real binary, and TLS / mutual TLS.
mod common;

use std::{
    net::SocketAddr,
    path::Path,
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use better_auth_grpc::{
    app::App,
    cli::SettingsArgs,
    clock::SystemClock,
    proto::auth::v1::{
        auth_service_client::AuthServiceClient, issue_token_request::Subject, IssueTokenRequest,
        ValidateTokenRequest,
    },
    store::Store,
};
use common::{
    db::Db,
    server::{self, TestServer},
};
use sqlx::{Connection, PgConnection};
use tokio::{sync::oneshot, task::JoinHandle};
use tonic::{
    transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity},
    Code,
};
use tonic_health::pb::{
    health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
};
use tonic_types::StatusExt;

const SECRET: &str = "transport-test-secret-0123456789abcdefghijkl";
const BIN: &str = env!("CARGO_BIN_EXE_better-auth-grpc");

/// A user with one live session; returns the session token.
async fn seed(store: &Arc<dyn Store>) -> String {
    common::fixtures::live_session(store.as_ref(), "Transport")
        .await
        .1
}

fn validate_request(token: &str) -> ValidateTokenRequest {
    ValidateTokenRequest {
        token: token.into(),
        ..Default::default()
    }
}

async fn validate(
    client: &AuthServiceClient<Channel>,
    token: &str,
    timeout: Option<Duration>,
) -> Result<bool, tonic::Status> {
    let mut req = tonic::Request::new(validate_request(token));
    if let Some(t) = timeout {
        req.set_timeout(t);
    }
    client
        .clone()
        .validate_token(req)
        .await
        .map(|r| r.into_inner().valid)
}

fn reason(s: &tonic::Status) -> Option<String> {
    s.get_error_details().error_info().map(|i| i.reason.clone())
}

async fn health(channel: Channel, service: &str) -> Result<ServingStatus, tonic::Status> {
    let req = HealthCheckRequest {
        service: service.into(),
    };
    HealthClient::new(channel)
        .check(req)
        .await
        .map(|r| r.into_inner().status())
}

/// A migrated PostgreSQL database and the URL of it.
async fn postgres() -> String {
    let url = common::pg::fresh_database().await;
    server::migrate(&url).await;
    url
}

/// Holds `LOCK TABLE "session" IN ACCESS EXCLUSIVE MODE` in an open transaction: every query
/// on the session table waits until [`SessionLock::release`].
struct SessionLock(PgConnection);

impl SessionLock {
    async fn take(url: &str) -> Self {
        let mut conn = PgConnection::connect(url).await.expect("postgres");
        sqlx::raw_sql(r#"BEGIN; LOCK TABLE "session" IN ACCESS EXCLUSIVE MODE"#)
            .execute(&mut conn)
            .await
            .expect("lock the session table");
        Self(conn)
    }

    /// Queries of this database waiting for a lock.
    async fn waiting(&mut self) -> i64 {
        sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&mut self.0)
        .await
        .expect("pg_stat_activity")
    }

    /// Waits until `n` queries wait for the lock.
    async fn wait_for_waiters(&mut self, n: i64) {
        let started = Instant::now();
        while self.waiting().await < n {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no {n} queries waiting for the lock after 10 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn release(mut self) {
        sqlx::raw_sql("ROLLBACK")
            .execute(&mut self.0)
            .await
            .expect("release the lock");
        let _ = self.0.close().await;
    }
}

// ---------------------------------------------------------------- message limits

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
    assert_eq!(
        r.reason,
        better_auth_grpc::proto::auth::v1::Reason::TooLarge as i32
    );
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

// ---------------------------------------------------------------- overload

/// A call's answer, how long it took and when it returned.
type Timed = (Result<bool, tonic::Status>, Duration, Instant);

#[tokio::test]
async fn calls_beyond_max_concurrent_requests_are_shed_with_resource_exhausted() {
    const LIMIT: usize = 2;
    const CALLS: usize = 20;
    let url = postgres().await;
    let mut args = server::settings(&url, SECRET);
    args.max_concurrent_requests = Some(LIMIT);
    args.db_timeout_ms = Some(20_000);
    args.request_timeout_ms = Some(20_000);
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
        .map(|i| {
            let (client, token) = (clients[i % 2].clone(), token.clone());
            tokio::spawn(async move {
                let started = Instant::now();
                let r = validate(&client, &token, None).await;
                (r, started.elapsed(), Instant::now())
            })
        })
        .collect();
    lock.wait_for_waiters(LIMIT as i64).await;
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

// ---------------------------------------------------------------- deadlines

#[tokio::test]
async fn deadlines_bound_calls_on_a_blocked_database() {
    let url = postgres().await;
    let mut args = server::settings(&url, SECRET);
    args.db_timeout_ms = Some(20_000);
    args.request_timeout_ms = Some(400);
    let server = TestServer::start(args).await;
    let token = seed(&server.store).await;

    let lock = SessionLock::take(&url).await;
    let cases = [
        (
            "caller deadline 200 ms",
            Some(Duration::from_millis(200)),
            Duration::from_millis(400),
        ),
        (
            "no caller deadline (request_timeout_ms=400)",
            None,
            Duration::from_millis(600),
        ),
        (
            "caller deadline 60 s, capped at 400 ms",
            Some(Duration::from_secs(60)),
            Duration::from_millis(600),
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

// ---------------------------------------------------------------- SIGTERM drain

/// The real binary, killed on drop.
struct Process {
    child: Child,
    addr: SocketAddr,
}

impl Process {
    async fn start(url: &str, env: &[(&str, &str)]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let mut c = Command::new(BIN);
        c.env_clear()
            .env("DATABASE_URL", url)
            .env("BETTER_AUTH_SECRET", SECRET)
            .env("LISTEN_ADDR", addr.to_string())
            .env("BETTER_AUTH_GRPC_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            c.env(k, v);
        }
        let mut p = Self {
            child: c.spawn().expect("the binary starts"),
            addr,
        };
        let started = Instant::now();
        loop {
            if let Ok(ch) = p.endpoint().connect().await {
                if health(ch, "").await.ok() == Some(ServingStatus::Serving) {
                    return p;
                }
            }
            if let Some(status) = p.child.try_wait().unwrap() {
                panic!("the server exited at start: {status:?}\n{}", p.stderr());
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

    fn sigterm(&self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
    }

    /// Waits for the exit (at most `limit`).
    async fn exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(
                started.elapsed() < limit,
                "still running {limit:?} after SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn stderr(&mut self) -> String {
        use std::io::Read;
        let mut s = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut s);
        }
        s
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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

#[tokio::test]
async fn sigterm_turns_health_not_serving_finishes_in_flight_calls_and_exits() {
    let url = postgres().await;
    let token = seed_url(&url).await;
    let mut p = Process::start(
        &url,
        &[
            ("BETTER_AUTH_GRPC_DB_TIMEOUT_MS", "30000"),
            ("BETTER_AUTH_GRPC_REQUEST_TIMEOUT_MS", "30000"),
            ("BETTER_AUTH_GRPC_DRAIN_TIMEOUT_MS", "10000"),
        ],
    )
    .await;
    let channel = p.endpoint().connect().await.unwrap();
    let client = AuthServiceClient::new(channel.clone());
    assert!(validate(&client, &token, None).await.unwrap());
    // A health watcher, as a load balancer would keep.
    let mut watch = HealthClient::new(channel.clone())
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let first = watch.message().await.unwrap().unwrap();
    assert_eq!(first.status(), ServingStatus::Serving);

    let mut lock = SessionLock::take(&url).await;
    let in_flight = {
        let (client, token) = (client.clone(), token.clone());
        tokio::spawn(async move { validate(&client, &token, None).await })
    };
    lock.wait_for_waiters(1).await;

    p.sigterm();
    let term = Instant::now();
    let next = tokio::time::timeout(Duration::from_secs(5), watch.message())
        .await
        .expect("health watch silent after SIGTERM")
        .expect("health watch failed")
        .expect("health watch ended without NOT_SERVING");
    assert_eq!(next.status(), ServingStatus::NotServing);
    let not_serving = term.elapsed();
    let end = tokio::time::timeout(Duration::from_secs(5), watch.message())
        .await
        .expect("health watch not ended after SIGTERM");
    assert!(matches!(end, Ok(None)), "the watch ends cleanly: {end:?}");
    // New connections are refused while the in-flight call is still held.
    let started = Instant::now();
    while tokio::net::TcpStream::connect(p.addr).await.is_ok() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the listener still accepts 5 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let refused = term.elapsed();
    // A new call on the connection opened before SIGTERM: GOAWAY, then the closed listener.
    let started = Instant::now();
    let late = tokio::time::timeout(
        Duration::from_secs(10),
        validate(&client, &token, Some(Duration::from_secs(2))),
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
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        p.child.try_wait().unwrap().is_none(),
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
    let status = p.exit(Duration::from_secs(10)).await;
    let after_release = released.elapsed();
    let drain = term.elapsed();
    let stderr = p.stderr();
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
    let mut p = Process::start(
        &url,
        &[
            ("BETTER_AUTH_GRPC_DB_TIMEOUT_MS", "60000"),
            ("BETTER_AUTH_GRPC_REQUEST_TIMEOUT_MS", "60000"),
            ("BETTER_AUTH_GRPC_DRAIN_TIMEOUT_MS", "1500"),
        ],
    )
    .await;
    let client = AuthServiceClient::new(p.endpoint().connect().await.unwrap());
    let mut lock = SessionLock::take(&url).await;
    let in_flight = {
        let (client, token) = (client.clone(), token.clone());
        tokio::spawn(async move { validate(&client, &token, None).await })
    };
    lock.wait_for_waiters(1).await;

    p.sigterm();
    let term = Instant::now();
    let status = p.exit(DRAIN + Duration::from_secs(3)).await;
    let drain = term.elapsed();
    let stderr = p.stderr();
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

// ---------------------------------------------------------------- TLS

/// A CA and certificates it signs, written as PEM files.
struct Pki {
    dir: tempfile::TempDir,
}

struct Ca {
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    pem: String,
}

impl Ca {
    fn new(name: &str) -> Self {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let key = rcgen::KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        Self {
            issuer: rcgen::Issuer::new(params, key),
            pem,
        }
    }

    /// (certificate PEM, key PEM) for `name`, a server (SANs) or a client (CN) certificate.
    fn sign(&self, name: &str, server: bool) -> (String, String) {
        let sans = if server {
            vec![name.to_owned(), "127.0.0.1".to_owned()]
        } else {
            vec![]
        };
        let mut params = rcgen::CertificateParams::new(sans).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.extended_key_usages = vec![if server {
            rcgen::ExtendedKeyUsagePurpose::ServerAuth
        } else {
            rcgen::ExtendedKeyUsagePurpose::ClientAuth
        }];
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

impl Pki {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn write(&self, name: &str, pem: &str) -> std::path::PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, pem).unwrap();
        p
    }
}

/// The real server with TLS settings (TestServer's client speaks plaintext only).
struct TlsServer {
    addr: SocketAddr,
    token: String,
    stop: Option<oneshot::Sender<()>>,
    handle: JoinHandle<()>,
    _db: Db,
}

impl TlsServer {
    async fn start(cert: &Path, key: &Path, client_ca: Option<&Path>) -> Self {
        Self::start_with(cert, key, client_ca, |_| {}).await
    }

    async fn start_with(
        cert: &Path,
        key: &Path,
        client_ca: Option<&Path>,
        adjust: impl FnOnce(&mut SettingsArgs),
    ) -> Self {
        let db = Db::sqlite().await;
        server::migrate(&db.url).await;
        let mut args: SettingsArgs = server::settings(&db.url, SECRET);
        adjust(&mut args);
        args.tls_cert = Some(cert.into());
        args.tls_key = Some(key.into());
        args.tls_client_ca = client_ca.map(Into::into);
        let config = server::config(&args);
        assert_eq!(
            config.transport.tls.as_ref().map(|t| t.mutual),
            Some(client_ca.is_some())
        );
        let app = App::build(config, Arc::new(SystemClock)).await.unwrap();
        let token = seed(&app.store).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            app.serve(listener, async {
                let _ = stopped.await;
            })
            .await
            .expect("server runs");
        });
        Self {
            addr,
            token,
            stop: Some(stop),
            handle,
            _db: db,
        }
    }

    /// ValidateToken over a channel configured by `tls` (None: plaintext).
    async fn call(&self, tls: Option<ClientTlsConfig>) -> Result<bool, String> {
        let channel = self.channel(tls).await?;
        validate(&AuthServiceClient::new(channel), &self.token, None)
            .await
            .map_err(|s| format!("call: {s:?}"))
    }

    async fn channel(&self, tls: Option<ClientTlsConfig>) -> Result<Channel, String> {
        let scheme = if tls.is_some() { "https" } else { "http" };
        let mut endpoint = Endpoint::from_shared(format!("{scheme}://{}", self.addr))
            .unwrap()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(5));
        if let Some(t) = tls {
            endpoint = endpoint.tls_config(t).map_err(|e| e.to_string())?;
        }
        endpoint
            .connect()
            .await
            .map_err(|e| format!("connect: {e:?}"))
    }

    async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = self.handle.await;
    }
}

fn trusting(ca: &Ca) -> ClientTlsConfig {
    ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&ca.pem))
        .domain_name("localhost")
}

#[tokio::test]
async fn tls_serves_clients_that_trust_its_ca_and_refuses_plaintext() {
    let pki = Pki::new();
    let ca = Ca::new("test server CA");
    let (cert, key) = ca.sign("localhost", true);
    let server = TlsServer::start(
        &pki.write("server.pem", &cert),
        &pki.write("server.key", &key),
        None,
    )
    .await;

    assert_eq!(server.call(Some(trusting(&ca))).await, Ok(true));
    let plain = server.call(None).await;
    assert!(plain.is_err(), "plaintext must fail: {plain:?}");
    let other_ca = Ca::new("someone else");
    let untrusted = server.call(Some(trusting(&other_ca))).await;
    assert!(
        untrusted.is_err(),
        "a client trusting another CA must fail: {untrusted:?}"
    );
    // Still serving after the failed handshakes.
    assert_eq!(server.call(Some(trusting(&ca))).await, Ok(true));
    eprintln!("transport: TLS ok; plaintext client: {plain:?}");
    server.stop().await;
}

#[tokio::test]
async fn mutual_tls_requires_a_client_certificate_signed_by_the_client_ca() {
    let pki = Pki::new();
    let server_ca = Ca::new("test server CA");
    let client_ca = Ca::new("test client CA");
    let (cert, key) = server_ca.sign("localhost", true);
    let server = TlsServer::start(
        &pki.write("server.pem", &cert),
        &pki.write("server.key", &key),
        Some(&pki.write("client-ca.pem", &client_ca.pem)),
    )
    .await;

    let with_identity = |ca: &Ca, cn: &str| {
        let (c, k) = ca.sign(cn, false);
        trusting(&server_ca).identity(Identity::from_pem(c, k))
    };
    let no_cert = server.call(Some(trusting(&server_ca))).await;
    assert!(
        no_cert.is_err(),
        "a client without a certificate must fail: {no_cert:?}"
    );
    let foreign = server
        .call(Some(with_identity(&Ca::new("rogue CA"), "chat-backend")))
        .await;
    assert!(
        foreign.is_err(),
        "a certificate of another CA must fail: {foreign:?}"
    );
    assert_eq!(
        server
            .call(Some(with_identity(&client_ca, "chat-backend")))
            .await,
        Ok(true)
    );
    eprintln!("transport: mTLS ok; without a client certificate: {no_cert:?}");
    server.stop().await;
}

/// IssueToken for the seeded session over `tls`, with an `x-api-key` when given.
async fn issue_over(
    server: &TlsServer,
    tls: ClientTlsConfig,
    api_key: Option<&str>,
) -> Result<String, tonic::Status> {
    let channel = server.channel(Some(tls)).await.expect("handshake");
    let mut req = tonic::Request::new(IssueTokenRequest {
        subject: Some(Subject::SessionToken(server.token.clone())),
        ..Default::default()
    });
    if let Some(k) = api_key {
        req.metadata_mut().insert("x-api-key", k.parse().unwrap());
    }
    let mut client = AuthServiceClient::new(channel);
    client.issue_token(req).await.map(|r| r.into_inner().token)
}

#[tokio::test]
async fn mutual_tls_callers_are_known_by_their_client_certificate() {
    let pki = Pki::new();
    let server_ca = Ca::new("test server CA");
    let client_ca = Ca::new("test client CA");
    let (cert, key) = server_ca.sign("localhost", true);
    let callers = pki.write(
        "callers.toml",
        &format!(
            "[[callers]]\nname = \"chat\"\nclient_cert_name = \"chat-backend\"\n\n             [[callers]]\nname = \"keyed\"\nkey_sha256 = \"{}\"\n",
            better_auth_grpc::auth::callers::key_sha256_hex("keyed-api-key")
        ),
    );
    let server = TlsServer::start_with(
        &pki.write("server.pem", &cert),
        &pki.write("server.key", &key),
        Some(&pki.write("client-ca.pem", &client_ca.pem)),
        |args| {
            args.config = Some(callers);
            args.base_url = Some("http://localhost:3000".into());
        },
    )
    .await;
    let identity = |cn: &str| {
        let (c, k) = client_ca.sign(cn, false);
        trusting(&server_ca).identity(Identity::from_pem(c, k))
    };

    // The configured certificate name is a caller: no API key needed.
    let jwt = issue_over(&server, identity("chat-backend"), None)
        .await
        .expect("chat-backend may call IssueToken");
    let channel = server
        .channel(Some(identity("chat-backend")))
        .await
        .unwrap();
    let r = AuthServiceClient::new(channel)
        .validate_token(validate_request(&jwt))
        .await
        .unwrap()
        .into_inner();
    assert!(r.valid, "the issued JWT validates: {r:?}");

    // A certificate the client CA signed, but for a name no caller has: refused, typed.
    let e = issue_over(&server, identity("intruder"), None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    assert_eq!(reason(&e).as_deref(), Some("CERTIFICATE_UNKNOWN"));

    // An API key, when sent, decides: a known one works whatever the certificate says...
    let ok = issue_over(&server, identity("intruder"), Some("keyed-api-key")).await;
    assert!(ok.is_ok(), "{ok:?}");
    // ...and a wrong one is refused even from a known certificate.
    let e = issue_over(&server, identity("chat-backend"), Some("wrong-key"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
    assert_eq!(reason(&e).as_deref(), Some("API_KEY_UNKNOWN"));
    server.stop().await;
}

#[test]
fn a_certificate_caller_without_mutual_tls_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("callers.toml");
    std::fs::write(
        &file,
        "[[callers]]\nname = \"chat\"\nclient_cert_name = \"chat\"\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .current_dir(dir.path())
        .env_clear()
        .env("DATABASE_URL", "sqlite::memory:")
        .env("BETTER_AUTH_SECRET", SECRET)
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .arg("--config")
        .arg(&file)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("callers:") && stderr.contains("tls_client_ca"),
        "{stderr}"
    );
}

#[test]
fn bad_tls_files_stop_start_up_with_one_line_naming_the_setting() {
    let pki = Pki::new();
    let ca = Ca::new("test CA");
    let (cert, _) = ca.sign("localhost", true);
    let (_, other_key) = ca.sign("localhost", true);
    let cert = pki.write("server.pem", &cert);
    let other_key = pki.write("other.key", &other_key);
    let garbage = pki.write("garbage.pem", "not a certificate");
    let missing = pki.dir.path().join("missing.pem");
    let work = tempfile::tempdir().unwrap();
    let cases: [(&[(&str, &Path)], &str); 5] = [
        (
            &[
                ("BETTER_AUTH_GRPC_TLS_CERT", &missing),
                ("BETTER_AUTH_GRPC_TLS_KEY", &other_key),
            ],
            "tls_cert",
        ),
        (
            &[
                ("BETTER_AUTH_GRPC_TLS_CERT", &garbage),
                ("BETTER_AUTH_GRPC_TLS_KEY", &other_key),
            ],
            "tls_cert",
        ),
        (
            &[
                ("BETTER_AUTH_GRPC_TLS_CERT", &cert),
                ("BETTER_AUTH_GRPC_TLS_KEY", &other_key),
            ],
            "tls_key",
        ),
        (&[("BETTER_AUTH_GRPC_TLS_CERT", &cert)], "tls_key"),
        (
            &[
                ("BETTER_AUTH_GRPC_TLS_CERT", &cert),
                ("BETTER_AUTH_GRPC_TLS_KEY", &other_key),
                ("BETTER_AUTH_GRPC_TLS_CLIENT_CA", &garbage),
            ],
            "tls_client_ca",
        ),
    ];
    for (env, setting) in cases {
        let mut c = Command::new(BIN);
        c.current_dir(work.path())
            .env_clear()
            .env("DATABASE_URL", "sqlite::memory:")
            .env("BETTER_AUTH_SECRET", SECRET)
            .env("LISTEN_ADDR", "127.0.0.1:0")
            .stdin(Stdio::null());
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{env:?}: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{env:?}: want one line: {stderr}");
        assert!(
            lines[0].contains(&format!("{setting}:")),
            "{env:?}: want {setting}: {stderr}"
        );
    }
}

// ---------------------------------------------------------------- settings
