//! TLS to PostgreSQL, as Neon and every managed PostgreSQL require (issue #14): a cluster with
//! `ssl=on`, a certificate signed by a CA made here, and a `pg_hba.conf` that refuses TCP
//! without TLS. `sslmode=require`, `verify-ca` and `verify-full` serve on TLS; plaintext and a
//! certificate from another CA are refused, and the service's log says why.
#[path = "common/mod.rs"]
mod common;

use std::{path::PathBuf, time::Duration};

use better_auth_grpc::proto::auth::v1::{
    auth_service_client::AuthServiceClient, ValidateTokenRequest,
};
use common::{
    pg::{ClusterSetup, PrivateCluster},
    pki::Ca,
    process::{self, Running},
    server::{self, TestServer},
};
use sqlx::{Connection, PgConnection};
use tonic::Code;
use tonic_types::StatusExt;

const SECRET: &str = "pg-tls-test-secret-0123456789abcdefghijkl";
const APP_NAME: &str = "better-auth-grpc";

/// What rustls says of a certificate no trusted CA signed.
const UNKNOWN_ISSUER: &str = "invalid peer certificate: UnknownIssuer";

/// A cluster serving TLS only on TCP, with `ca.pem` (its CA) and `other-ca.pem` (a CA that
/// signed nothing of it) written for the clients.
struct TlsCluster {
    cluster: PrivateCluster,
    dir: tempfile::TempDir,
}

impl TlsCluster {
    async fn start() -> Self {
        let ca = Ca::new("pg-tls test CA");
        let (cert, key) = ca.sign("localhost", true);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), &ca.pem).unwrap();
        std::fs::write(dir.path().join("other-ca.pem"), Ca::new("another CA").pem).unwrap();
        let cluster = PrivateCluster::start_with(tls_only_setup(cert, key)).await;
        Self { cluster, dir }
    }

    fn pem(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A fresh database's URL on `host`, with the query string `query`.
    async fn database(&self, host: &str, query: &str) -> String {
        // Created with sqlx's default `sslmode=prefer`, which takes TLS when offered.
        let url = self.cluster.fresh_database().await;
        let url = url.replacen("@127.0.0.1:", &format!("@{host}:"), 1);
        format!("{url}?{query}")
    }
}

fn tls_only_setup(cert: String, key: String) -> ClusterSetup {
    let setting = |name: &str, value: &str| (name.to_owned(), value.to_owned());
    ClusterSetup {
        settings: vec![
            setting("ssl", "on"),
            setting("ssl_cert_file", "server.crt"),
            setting("ssl_key_file", "server.key"),
            setting("log_connections", "on"),
        ],
        files: vec![
            ("server.crt".to_owned(), cert.into_bytes()),
            ("server.key".to_owned(), key.into_bytes()),
        ],
        hba: Some(
            "local all all trust\n\
             hostssl all all 127.0.0.1/32 trust\n\
             hostnossl all all 0.0.0.0/0 reject\n\
             hostnossl all all ::/0 reject\n"
                .to_owned(),
        ),
    }
}

/// Migrates through `url`, serves a seeded session through it, and checks that every
/// connection the service holds is on TLS.
async fn assert_served_on_tls(url: &str) {
    server::migrate(url).await;
    let server = TestServer::start(server::settings(url, SECRET)).await;
    let token = common::fixtures::live_session(server.store.as_ref(), "Tls")
        .await
        .1;
    let answer = server
        .client
        .clone()
        .validate_token(validate_request(&token))
        .await
        .expect("ValidateToken answers over a TLS database connection");
    assert!(answer.into_inner().valid, "the seeded session is valid");
    let (total, on_tls) = service_connections(url).await;
    assert!(total >= 1, "the service holds no connection to {url}");
    assert_eq!(on_tls, total, "connections of the service without TLS");
    server.stop().await;
}

/// (connections of the service to this database, how many of them are on TLS).
async fn service_connections(url: &str) -> (i64, i64) {
    let mut conn = PgConnection::connect(url).await.expect("connects");
    let counts = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE s.ssl) \
         FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
         WHERE a.application_name = $1 AND a.datname = current_database()",
    )
    .bind(APP_NAME)
    .fetch_one(&mut conn)
    .await
    .expect("pg_stat_ssl");
    let _ = conn.close().await;
    counts
}

fn validate_request(token: &str) -> ValidateTokenRequest {
    ValidateTokenRequest {
        token: token.into(),
        ..Default::default()
    }
}

/// The real binary serving on `database_url`, its log on stderr.
fn spawn_binary(dir: &std::path::Path, database_url: &str) -> Running {
    let mut c = process::command(dir);
    c.env("LISTEN_ADDR", "127.0.0.1:0")
        .env("DATABASE_URL", database_url)
        .env("BETTER_AUTH_SECRET", SECRET);
    Running::spawn(c)
}

#[tokio::test]
async fn sslmode_require_serves_on_tls() {
    let pg = TlsCluster::start().await;
    assert_served_on_tls(&pg.database("127.0.0.1", "sslmode=require").await).await;
}

#[tokio::test]
async fn verify_ca_with_the_clusters_ca_serves_on_tls() {
    let pg = TlsCluster::start().await;
    let query = format!(
        "sslmode=verify-ca&sslrootcert={}",
        pg.pem("ca.pem").display()
    );
    assert_served_on_tls(&pg.database("127.0.0.1", &query).await).await;
}

#[tokio::test]
async fn verify_full_on_localhost_serves_on_tls() {
    let pg = TlsCluster::start().await;
    let query = format!(
        "sslmode=verify-full&sslrootcert={}",
        pg.pem("ca.pem").display()
    );
    assert_served_on_tls(&pg.database("localhost", &query).await).await;
}

/// Plaintext is refused by `pg_hba.conf`: start-up stops with one line naming the rule's
/// refusal (a configuration to fix, not an outage to wait out), and nothing panics.
#[tokio::test]
async fn plaintext_is_refused_by_pg_hba_and_start_up_says_so() {
    let pg = TlsCluster::start().await;
    let url = pg.database("127.0.0.1", "sslmode=disable").await;
    let ended = spawn_binary(pg.dir.path(), &url).wait(Duration::from_secs(60));
    assert!(!ended.status.success(), "it served without TLS: {ended:?}");
    assert!(
        ended.stderr.contains("pg_hba.conf rejects connection")
            && ended.stderr.contains("no encryption"),
        "the refusal is not named: {ended:?}"
    );
    assert!(!ended.stderr.contains("panicked"), "{ended:?}");
}

/// A server certificate from a CA other than `sslrootcert`'s: the service starts without its
/// database (health NOT_SERVING), calls are UNAVAILABLE, and its log and the server's name
/// the certificate problem.
#[tokio::test]
async fn a_certificate_from_another_ca_is_refused_naming_the_problem() {
    let pg = TlsCluster::start().await;
    let query = format!(
        "sslmode=verify-ca&sslrootcert={}",
        pg.pem("other-ca.pem").display()
    );
    let url = pg.database("127.0.0.1", &query).await;
    let mut run = spawn_binary(pg.dir.path(), &url);
    let addr = run.serving(Duration::from_secs(60));
    assert_names_unknown_issuer(&run.stderr(), "database unreachable at start-up");
    let status = refused_call(addr).await;
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    let details = status.get_error_details();
    let reason = details.error_info().map(|i| i.reason.as_str());
    assert_eq!(reason, Some("DATABASE_UNAVAILABLE"));
    let log = run.terminate(Duration::from_secs(30)).stderr;
    assert_names_unknown_issuer(&log, "database unavailable");
    let server_log = pg.cluster.server_log();
    assert!(
        server_log.contains("alert unknown ca"),
        "PostgreSQL's log:\n{server_log}"
    );
}

/// Some line of `log` that contains `event` also names the certificate problem.
#[track_caller]
fn assert_names_unknown_issuer(log: &str, event: &str) {
    assert!(
        log.lines()
            .any(|l| l.contains(event) && l.contains(UNKNOWN_ISSUER)),
        "no `{event}` line naming `{UNKNOWN_ISSUER}`:\n{log}"
    );
}

async fn refused_call(addr: std::net::SocketAddr) -> tonic::Status {
    let mut client = AuthServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("client connects");
    client
        .validate_token(validate_request("any-token"))
        .await
        .expect_err("no answer without the database")
}
