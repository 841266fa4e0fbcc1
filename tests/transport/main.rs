//! Transport hardening against the real server: oversized messages, overload, deadlines on a
//! blocked database (limits), the SIGTERM drain of the real binary (drain), HTTP/2 and connection
//! limits (http2), the connection age (age), and TLS / mutual TLS (tls).
mod age;
#[path = "../common/mod.rs"]
mod common;
mod drain;
mod http2;
mod limits;
mod tls;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use better_auth_grpc::{
    proto::auth::v1::{auth_service_client::AuthServiceClient, ValidateTokenRequest},
    store::Store,
};
use common::server;
use sqlx::{Connection, PgConnection};
use tokio::{io::AsyncReadExt, net::TcpStream};
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

/// Whether the server closes the connection within `within` (reading and dropping what it sends).
async fn closed_within(tcp: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 256];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue, // the server's SETTINGS, if it spoke first
        }
    }
}
