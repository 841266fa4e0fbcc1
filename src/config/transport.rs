//! Transport settings: message and concurrency limits, deadlines, the SIGTERM drain, HTTP/2 and
//! connection limits, the connection age, and TLS.
//! Certificates and keys are read and checked here, before any port is bound.
use std::{path::Path, sync::Arc, time::Duration};

use rustls_pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{
    crypto::aws_lc_rs, server::WebPkiClientVerifier, RootCertStore, ServerConfig,
};

use super::error::{bad, ConfigError};
use crate::cli::SettingsArgs;

/// Room for the other fields of a request around a credential of `max_token_bytes`.
const MESSAGE_OVERHEAD: usize = 1024;

#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// Largest request message decoded; a larger one is refused (RESOURCE_EXHAUSTED) unread.
    pub max_message_bytes: usize,
    /// AuthService calls in progress at once, over all connections; more are shed at once.
    pub max_concurrent_requests: usize,
    /// Upper bound of a call: applied when the caller sends no `grpc-timeout`, and caps one it sends.
    pub request_timeout: Duration,
    /// How long SIGTERM waits for in-flight calls before exiting anyway.
    pub drain_timeout: Duration,
    pub http2: Http2Config,
    pub connections: ConnectionConfig,
    /// Health Watch streams open at once over all connections; more are RESOURCE_EXHAUSTED.
    pub max_health_watch_streams: usize,
    pub tls: Option<TlsConfig>,
    /// A connection this old gets GOAWAY (hyper's graceful shutdown, as on SIGTERM: calls in
    /// progress finish, each within `request_timeout`); `None`: never.
    pub max_connection_age: Option<Duration>,
}

/// Per-connection HTTP/2 limits, which hyper leaves unlimited when tonic passes none.
#[derive(Debug, Clone)]
pub struct Http2Config {
    pub max_concurrent_streams: u32,
    pub max_local_error_reset_streams: usize,
    pub max_pending_accept_reset_streams: usize,
    /// PING after this long without a frame from the client; `None`: no keepalive.
    pub keepalive_interval: Option<Duration>,
    pub keepalive_timeout: Duration,
}

/// Limits on the TCP connections themselves, applied as they are accepted.
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    pub max_connections: usize,
    /// A connection with no call in progress this long is closed; `None`: never.
    pub idle_timeout: Option<Duration>,
    /// Until the HTTP/2 preface (plaintext) or the end of the TLS handshake.
    pub handshake_timeout: Duration,
}

/// A checked TLS setup for the gRPC listener.
#[derive(Debug, Clone)]
pub struct TlsConfig {
    /// rustls on aws-lc-rs, ALPN `h2`; the listener accepts with it (grpc/tls.rs).
    pub server: Arc<ServerConfig>,
    /// `--tls-client-ca`: client certificates are required and verified against it.
    pub mutual: bool,
}

pub fn build(s: &SettingsArgs, max_token_bytes: usize) -> Result<TransportConfig, ConfigError> {
    let handshake_timeout = Duration::from_millis(s.handshake_timeout_ms);
    Ok(TransportConfig {
        max_message_bytes: message_bytes(s, max_token_bytes)?,
        max_concurrent_requests: s.max_concurrent_requests,
        request_timeout: Duration::from_millis(s.request_timeout_ms),
        drain_timeout: Duration::from_millis(s.drain_timeout_ms),
        http2: http2(s),
        connections: ConnectionConfig {
            max_connections: s.max_connections,
            idle_timeout: nonzero_millis(s.connection_idle_timeout_ms),
            handshake_timeout,
        },
        max_health_watch_streams: s.max_health_watch_streams,
        tls: tls(
            s.tls_cert.clone(),
            s.tls_key.clone(),
            s.tls_client_ca.clone(),
        )?,
        max_connection_age: nonzero_millis(s.max_connection_age_ms),
    })
}

/// Room for the largest credential, so that one over `max_token_bytes` is answered TOO_LARGE
/// rather than refused unread.
fn message_bytes(s: &SettingsArgs, max_token_bytes: usize) -> Result<usize, ConfigError> {
    let least = max_token_bytes + MESSAGE_OVERHEAD;
    match s.max_message_bytes >= least {
        true => Ok(s.max_message_bytes),
        false => Err(bad(
            "max_message_bytes",
            format!(
                "must be at least max_token_bytes + {MESSAGE_OVERHEAD} ({least}), \
                 so that an oversized credential is answered TOO_LARGE"
            ),
        )),
    }
}

fn http2(s: &SettingsArgs) -> Http2Config {
    Http2Config {
        max_concurrent_streams: s.max_concurrent_streams,
        max_local_error_reset_streams: s.http2_max_local_error_reset_streams,
        max_pending_accept_reset_streams: s.http2_max_pending_accept_reset_streams,
        keepalive_interval: nonzero_millis(s.http2_keepalive_interval_ms),
        keepalive_timeout: Duration::from_millis(s.http2_keepalive_timeout_ms),
    }
}

/// 0 means off.
fn nonzero_millis(ms: u64) -> Option<Duration> {
    (ms != 0).then(|| Duration::from_millis(ms))
}

fn tls(
    cert: Option<std::path::PathBuf>,
    key: Option<std::path::PathBuf>,
    client_ca: Option<std::path::PathBuf>,
) -> Result<Option<TlsConfig>, ConfigError> {
    let nonempty = |p: Option<std::path::PathBuf>| p.filter(|p| !p.as_os_str().is_empty());
    let (cert, key, client_ca) = (nonempty(cert), nonempty(key), nonempty(client_ca));
    let (cert, key) = match (cert, key) {
        (None, None) => {
            return match client_ca {
                Some(_) => Err(bad(
                    "tls_client_ca",
                    "needs tls_cert and tls_key (mutual TLS is TLS first)",
                )),
                None => Ok(None),
            };
        }
        (Some(_), None) => return Err(bad("tls_key", "tls_cert is set: set tls_key too")),
        (None, Some(_)) => return Err(bad("tls_cert", "tls_key is set: set tls_cert too")),
        (Some(c), Some(k)) => (c, k),
    };
    let cert_pem = read("tls_cert", &cert)?;
    let chain = certificates("tls_cert", &cert, &cert_pem)?;
    let key_pem = read("tls_key", &key)?;
    let private_key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        bad(
            "tls_key",
            format!("{}: no PEM private key ({e})", key.display()),
        )
    })?;
    let client_roots = match &client_ca {
        Some(path) => {
            let ca_pem = read("tls_client_ca", path)?;
            Some(certificates("tls_client_ca", path, &ca_pem)?)
        }
        None => None,
    };
    let mutual = client_roots.is_some();
    // rustls checks the rest (key matches the certificate, usable CA) as the config is built.
    let server = server_config(chain, private_key, client_roots).map_err(|e| {
        let setting = if mutual { "tls_client_ca" } else { "tls_key" };
        bad(setting, format!("unusable TLS setup: {}", error_chain(&*e)))
    })?;
    Ok(Some(TlsConfig {
        server: Arc::new(server),
        mutual,
    }))
}

/// What tonic's own acceptor builds (safe default versions, client certificates verified
/// against `client_roots` when given, ALPN `h2`), on aws-lc-rs named rather than taken from a
/// process default.
fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    client_roots: Option<Vec<CertificateDer<'static>>>,
) -> Result<ServerConfig, Box<dyn std::error::Error>> {
    let provider = Arc::new(aws_lc_rs::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let builder = match client_roots {
        None => builder.with_no_client_auth(),
        Some(certs) => {
            let mut roots = RootCertStore::empty();
            roots.add_parsable_certificates(certs);
            let verifier =
                WebPkiClientVerifier::builder_with_provider(roots.into(), provider).build()?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

fn read(setting: &'static str, path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|e| bad(setting, format!("cannot read {}: {e}", path.display())))
}

fn certificates(
    setting: &'static str,
    path: &Path,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(setting, format!("{}: bad PEM ({e})", path.display())))?;
    if certs.is_empty() {
        return Err(bad(
            setting,
            format!("{}: no PEM certificate in it", path.display()),
        ));
    }
    Ok(certs)
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build_with(a: SettingsArgs) -> Result<TransportConfig, ConfigError> {
        build(&a, 8192)
    }

    #[test]
    fn defaults() {
        let t = build_with(SettingsArgs::default()).unwrap();
        assert_eq!(t.max_message_bytes, 64 * 1024);
        assert_eq!(t.max_concurrent_requests, 256);
        assert_eq!(t.request_timeout, Duration::from_secs(5));
        assert_eq!(t.drain_timeout, Duration::from_secs(10));
        assert!(t.tls.is_none());
    }

    #[test]
    fn http2_and_connection_defaults_are_limits() {
        let t = build_with(SettingsArgs::default()).unwrap();
        assert_eq!(t.http2.max_concurrent_streams, 100);
        assert_eq!(t.http2.max_local_error_reset_streams, 1024);
        assert_eq!(t.http2.max_pending_accept_reset_streams, 20);
        assert_eq!(t.http2.keepalive_interval, Some(Duration::from_secs(60)));
        assert_eq!(t.http2.keepalive_timeout, Duration::from_secs(20));
        assert_eq!(t.connections.max_connections, 4096);
        assert_eq!(t.connections.idle_timeout, Some(Duration::from_secs(300)));
        assert_eq!(t.connections.handshake_timeout, Duration::from_secs(10));
        assert_eq!(t.max_health_watch_streams, 256);
        let off = build_with(SettingsArgs {
            http2_keepalive_interval_ms: 0,
            connection_idle_timeout_ms: 0,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(off.http2.keepalive_interval, None);
        assert_eq!(off.connections.idle_timeout, None);
    }

    #[test]
    fn connections_are_aged_out_after_half_an_hour_unless_off() {
        let t = build_with(SettingsArgs::default()).unwrap();
        assert_eq!(t.max_connection_age, Some(Duration::from_secs(1800)));
        let off = build_with(SettingsArgs {
            max_connection_age_ms: 0,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(off.max_connection_age, None);
    }

    #[test]
    fn bad_values_name_their_setting() {
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "not a pem").unwrap();
        let missing = dir.path().join("missing.pem");
        let cases = [
            (
                SettingsArgs {
                    max_message_bytes: 4096,
                    ..Default::default()
                },
                "max_message_bytes",
            ),
            (
                SettingsArgs {
                    tls_cert: Some(garbage.clone()),
                    ..Default::default()
                },
                "tls_key",
            ),
            (
                SettingsArgs {
                    tls_key: Some(garbage.clone()),
                    ..Default::default()
                },
                "tls_cert",
            ),
            (
                SettingsArgs {
                    tls_client_ca: Some(garbage.clone()),
                    ..Default::default()
                },
                "tls_client_ca",
            ),
            (
                SettingsArgs {
                    tls_cert: Some(missing.clone()),
                    tls_key: Some(garbage.clone()),
                    ..Default::default()
                },
                "tls_cert",
            ),
            (
                SettingsArgs {
                    tls_cert: Some(garbage.clone()),
                    tls_key: Some(garbage.clone()),
                    ..Default::default()
                },
                "tls_cert",
            ),
        ];
        for (a, setting) in cases {
            let e = build_with(a).unwrap_err();
            assert_eq!(e.setting, setting, "{e}");
        }
    }

    /// The file's transport keys apply through `Config::load`.
    #[test]
    fn file_keys_apply_through_load_and_flags_win() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(
            &file,
            "max_message_bytes = 100000\nmax_concurrent_requests = 7\nrequest_timeout_ms = 1234\n\
             drain_timeout_ms = 0\ntls_cert = \"\"\ntls_key = \"\"\ntls_client_ca = \"\"\n",
        )
        .unwrap();
        let flags = [
            "--config",
            file.to_str().unwrap(),
            "--database-url",
            "sqlite::memory:",
            "--secret",
            "0123456789abcdef0123456789abcdef",
        ];
        let t = crate::config::Config::load(&SettingsArgs::from_flags(flags))
            .unwrap()
            .transport;
        assert_eq!(t.max_message_bytes, 100_000);
        assert_eq!(t.max_concurrent_requests, 7);
        assert_eq!(t.request_timeout, Duration::from_millis(1234));
        assert_eq!(t.drain_timeout, Duration::ZERO);
        assert!(t.tls.is_none());
        let args =
            SettingsArgs::from_flags(flags.into_iter().chain(["--max-concurrent-requests", "9"]));
        let t = crate::config::Config::load(&args).unwrap().transport;
        assert_eq!(t.max_concurrent_requests, 9);
    }
}
