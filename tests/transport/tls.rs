//! TLS and mutual TLS on the listener, callers known by their client certificate, and TLS
//! settings that stop start-up.
use std::{
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use better_auth_grpc::{
    app::App,
    cli::SettingsArgs,
    clock::SystemClock,
    proto::auth::v1::{
        auth_service_client::AuthServiceClient, issue_token_request::Subject, IssueTokenRequest,
    },
};
use tokio::{io::AsyncWriteExt, net::TcpStream};
use tonic::{
    transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity},
    Code,
};

use super::{
    closed_within,
    common::{
        db::Db,
        pki::Ca,
        process,
        server::{self, Serving},
    },
    reason, seed, validate, validate_request, SECRET,
};

/// A CA and certificates it signs, written as PEM files.
struct Pki {
    dir: tempfile::TempDir,
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
    serving: Serving,
    token: String,
    _db: Db,
}

impl TlsServer {
    async fn start(cert: &Path, key: &Path, client_ca: Option<&Path>) -> Self {
        Self::start_with(cert, key, client_ca, &[]).await
    }

    async fn start_with(cert: &Path, key: &Path, client_ca: Option<&Path>, flags: &[&str]) -> Self {
        let db = Db::sqlite().await;
        server::migrate(&db.url).await;
        let mut args: SettingsArgs = server::settings_with(&db.url, SECRET, flags);
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
        Self {
            serving: Serving::start(app).await,
            token,
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
        let mut endpoint = Endpoint::from_shared(format!("{scheme}://{}", self.serving.addr))
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

    async fn stop(self) {
        self.serving.stop().await;
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

/// The listener does its own TLS handshakes: one that stalls is closed within
/// `handshake_timeout`, and it holds up no other client's handshake meanwhile.
#[tokio::test]
async fn a_stalled_tls_handshake_is_closed_in_time_and_delays_no_other_client() {
    let pki = Pki::new();
    let ca = Ca::new("test server CA");
    let (cert, key) = ca.sign("localhost", true);
    let (cert, key) = (
        pki.write("server.pem", &cert),
        pki.write("server.key", &key),
    );
    let server =
        TlsServer::start_with(&cert, &key, None, &["--handshake-timeout-ms", "2000"]).await;

    // A TLS record header announcing 512 bytes of ClientHello, then only 27 of them: past the
    // 24 bytes the plaintext preface check counts, so only the handshake's own deadline is left.
    let mut stalled = TcpStream::connect(server.serving.addr).await.unwrap();
    let mut record = vec![0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc];
    record.resize(32, 0);
    stalled.write_all(&record).await.unwrap();
    let mut silent = TcpStream::connect(server.serving.addr).await.unwrap();

    let started = Instant::now();
    assert_eq!(server.call(Some(trusting(&ca))).await, Ok(true));
    let served_in = started.elapsed();
    assert!(
        served_in < Duration::from_millis(1500),
        "a client was served only after {served_in:?}, behind the stalled handshakes"
    );
    for (what, tcp) in [("stalled", &mut stalled), ("silent", &mut silent)] {
        assert!(
            closed_within(tcp, Duration::from_secs(5)).await,
            "the {what} handshake was not closed"
        );
    }
    assert_eq!(server.call(Some(trusting(&ca))).await, Ok(true));
    eprintln!("transport: a TLS client served in {served_in:?} beside two stalled handshakes");
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
        &[
            "--config",
            callers.to_str().unwrap(),
            "--base-url",
            "http://localhost:3000",
        ],
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

/// Bad settings stop start-up long before this.
const START_UP: Duration = Duration::from_secs(30);

#[test]
fn a_certificate_caller_without_mutual_tls_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("callers.toml");
    std::fs::write(
        &file,
        "[[callers]]\nname = \"chat\"\nclient_cert_name = \"chat\"\n",
    )
    .unwrap();
    let mut c = process::command(dir.path());
    c.env("DATABASE_URL", "sqlite::memory:")
        .env("BETTER_AUTH_SECRET", SECRET)
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .arg("--config")
        .arg(&file);
    let out = process::output(c, START_UP);
    let stderr = &out.stderr;
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
        let mut c = process::command(work.path());
        c.env("DATABASE_URL", "sqlite::memory:")
            .env("BETTER_AUTH_SECRET", SECRET)
            .env("LISTEN_ADDR", "127.0.0.1:0");
        for (k, v) in env {
            c.env(k, v);
        }
        let out = process::output(c, START_UP);
        let stderr = &out.stderr;
        assert_eq!(out.status.code(), Some(2), "{env:?}: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{env:?}: want one line: {stderr}");
        assert!(
            lines[0].contains(&format!("{setting}:")),
            "{env:?}: want {setting}: {stderr}"
        );
    }
}
