//! TLS at TRACE: the server's private key stays out of stderr.
use better_auth_grpc::{
    domain::model::random_id,
    proto::auth::v1::{self as pb, auth_service_client::AuthServiceClient},
};

use super::{
    binary::{bin, migrate, run, Server},
    calls::{reason, validate},
    common::process::Ended,
    grep::{strip_ansi, Secret, Seen},
    SECRET,
};

/// TLS at TRACE (rustls, tokio-rustls, h2): the server's private key never reaches stderr, and
/// a key that does not match the certificate stops start-up naming tls_key, not printing it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_private_key_stays_out_of_logs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url = format!("sqlite://{}", d.join("auth.sqlite").display());
    migrate(d, &url);
    let server_names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let ours = rcgen::generate_simple_self_signed(server_names).unwrap();
    let other = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert_pem, key_pem) = (ours.cert.pem(), ours.signing_key.serialize_pem());
    let other_key_pem = other.signing_key.serialize_pem();
    let write = |name: &str, text: &str| {
        let p = d.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let (cert, key, other_key) = (
        write("cert.pem", &cert_pem),
        write("key.pem", &key_pem),
        write("other-key.pem", &other_key_pem),
    );

    let mut secrets = Secret::default();
    secrets.add("BETTER_AUTH_SECRET", SECRET);
    for (label, pem) in [
        ("the TLS key", &key_pem),
        ("the other TLS key", &other_key_pem),
    ] {
        let body: Vec<&str> = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        secrets.add(format!("{label} (whole)"), body.concat());
        // The first line is mostly the PKCS#8 prefix every key of this type shares.
        for (i, line) in body
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(_, l)| l.len() >= 16)
        {
            secrets.add(format!("{label}, line {i}"), *line);
        }
    }
    let token = random_id(32);
    secrets.add("a session token", token.clone());

    let server = Server::start(
        d,
        &[
            ("DATABASE_URL", &url),
            ("BETTER_AUTH_SECRET", SECRET),
            ("BETTER_AUTH_GRPC_TLS_CERT", &cert),
            ("BETTER_AUTH_GRPC_TLS_KEY", &key),
        ],
    );
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(&cert_pem))
        .domain_name("localhost");
    let channel = tonic::transport::Endpoint::from_shared(format!("https://{}", server.addr))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .expect("TLS connection");
    let mut c = AuthServiceClient::new(channel);
    let mut seen = Seen::default();
    let r = validate(&mut c, &mut seen, "over TLS", &token, "").await;
    assert_eq!(reason(&r), pb::Reason::SessionNotFound);
    // A plaintext client on the TLS port: a failed handshake, logged at TRACE.
    let mut plain = server.client().await;
    let r = validate(&mut plain, &mut seen, "plaintext on TLS", &token, "").await;
    assert!(r.is_err(), "{r:?}");
    let log = server.stop();
    secrets.assert_detects_planted(&log);
    assert!(strip_ansi(&log).contains("TRACE"));
    secrets.assert_absent("stderr with TLS (TRACE)", &log);
    secrets.assert_absent("statuses over TLS", &seen.text);

    let mut c = bin(d);
    c.env("LISTEN_ADDR", "127.0.0.1:0")
        .env("DATABASE_URL", &url)
        .env("BETTER_AUTH_SECRET", SECRET)
        .env("BETTER_AUTH_GRPC_TLS_CERT", &cert)
        .env("BETTER_AUTH_GRPC_TLS_KEY", &other_key);
    let Ended {
        status,
        stderr: err,
        ..
    } = run(c);
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("tls_key"), "{err}");
    secrets.assert_absent("a certificate/key mismatch", &err);
}
