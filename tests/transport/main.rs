//! Transport hardening against the real server: oversized messages, overload, deadlines on a
//! blocked database (limits), the SIGTERM drain of the real binary (drain), and TLS / mutual TLS
//! (tls).
#[path = "../common/mod.rs"]
mod common;
mod drain;
mod limits;
mod tls;

use std::{
    path::Path,
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use better_auth_grpc::{
    proto::auth::v1::{auth_service_client::AuthServiceClient, ValidateTokenRequest},
    store::Store,
};
use common::{process::BIN, server};
use sqlx::{Connection, PgConnection};
use tonic::transport::Channel;
use tonic_health::pb::{
    health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
};
use tonic_types::StatusExt;

const SECRET: &str = "transport-test-secret-0123456789abcdefghijkl";

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

// ---------------------------------------------------------------- settings

#[test]
fn every_transport_setting_has_a_flag_a_variable_a_file_key_and_a_readme_row() {
    let settings = [
        ("--max-message-bytes", "BETTER_AUTH_GRPC_MAX_MESSAGE_BYTES"),
        (
            "--max-concurrent-requests",
            "BETTER_AUTH_GRPC_MAX_CONCURRENT_REQUESTS",
        ),
        (
            "--request-timeout-ms",
            "BETTER_AUTH_GRPC_REQUEST_TIMEOUT_MS",
        ),
        ("--drain-timeout-ms", "BETTER_AUTH_GRPC_DRAIN_TIMEOUT_MS"),
        ("--tls-cert", "BETTER_AUTH_GRPC_TLS_CERT"),
        ("--tls-key", "BETTER_AUTH_GRPC_TLS_KEY"),
        ("--tls-client-ca", "BETTER_AUTH_GRPC_TLS_CLIENT_CA"),
    ];
    let out = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    for (flag, var) in settings {
        assert!(help.contains(flag), "--help lacks {flag}");
        assert!(help.contains(var), "--help lacks {var}");
        assert!(
            readme.contains(&format!("| `{flag}` | `{var}` |")),
            "README's table lacks {flag}"
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    std::fs::write(
        &file,
        "max_message_bytes = 100000\nmax_concurrent_requests = 7\nrequest_timeout_ms = 1234\n\
         drain_timeout_ms = 0\ntls_cert = \"\"\ntls_key = \"\"\ntls_client_ca = \"\"\n",
    )
    .unwrap();
    let mut args = server::settings("sqlite::memory:", SECRET);
    args.config = Some(file);
    let t = server::config(&args).transport;
    assert_eq!(t.max_message_bytes, 100_000);
    assert_eq!(t.max_concurrent_requests, 7);
    assert_eq!(t.request_timeout, Duration::from_millis(1234));
    assert_eq!(t.drain_timeout, Duration::ZERO);
    assert!(t.tls.is_none());
    // Flags win over the file.
    args.max_concurrent_requests = Some(9);
    assert_eq!(server::config(&args).transport.max_concurrent_requests, 9);
}
