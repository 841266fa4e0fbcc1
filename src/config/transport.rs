//! Transport settings: message and concurrency limits, deadlines, the SIGTERM drain, HTTP/2 and
//! connection limits, and TLS.
//! Certificates and keys are read and checked here, before any port is bound.
use std::{path::Path, time::Duration};

use rustls_pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
use tonic::transport::{Certificate, Identity, ServerTlsConfig};

use super::error::{bad, ConfigError};
use crate::cli::SettingsArgs;

pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 64 * 1024;
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 256;
pub const DEFAULT_REQUEST_TIMEOUT_MS: u64 = 5000;
pub const DEFAULT_DRAIN_TIMEOUT_MS: u64 = 10_000;
/// RFC 9113 asks for at least 100; grpc-go and Envoy also sit at about 100.
pub const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 100;
/// hyper's own default, which tonic replaces with "no limit".
pub const DEFAULT_MAX_LOCAL_ERROR_RESET_STREAMS: usize = 1024;
/// h2's own default (the Rapid Reset fix), set here so that it is a visible setting.
pub const DEFAULT_MAX_PENDING_ACCEPT_RESET_STREAMS: usize = 20;
pub const DEFAULT_KEEPALIVE_INTERVAL_MS: u64 = 60_000;
pub const DEFAULT_KEEPALIVE_TIMEOUT_MS: u64 = 20_000;
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;
pub const DEFAULT_CONNECTION_IDLE_TIMEOUT_MS: u64 = 300_000;
pub const DEFAULT_HANDSHAKE_TIMEOUT_MS: u64 = 10_000;
pub const DEFAULT_MAX_HEALTH_WATCH_STREAMS: usize = 256;
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
    pub server: ServerTlsConfig,
    /// `--tls-client-ca`: client certificates are required and verified against it.
    pub mutual: bool,
}

pub fn build(s: &SettingsArgs, max_token_bytes: usize) -> Result<TransportConfig, ConfigError> {
    let max_message_bytes = message_bytes(s, max_token_bytes)?;
    let max_concurrent_requests = concurrent_requests(s)?;
    let handshake_timeout = millis(
        "handshake_timeout_ms",
        s.handshake_timeout_ms,
        DEFAULT_HANDSHAKE_TIMEOUT_MS,
        10,
    )?;
    Ok(TransportConfig {
        max_message_bytes,
        max_concurrent_requests,
        request_timeout: millis(
            "request_timeout_ms",
            s.request_timeout_ms,
            DEFAULT_REQUEST_TIMEOUT_MS,
            10,
        )?,
        drain_timeout: millis(
            "drain_timeout_ms",
            s.drain_timeout_ms,
            DEFAULT_DRAIN_TIMEOUT_MS,
            0,
        )?,
        http2: http2(s)?,
        connections: connections(s, handshake_timeout)?,
        max_health_watch_streams: count(
            "max_health_watch_streams",
            s.max_health_watch_streams,
            DEFAULT_MAX_HEALTH_WATCH_STREAMS,
        )?,
        tls: tls(
            s.tls_cert.clone(),
            s.tls_key.clone(),
            s.tls_client_ca.clone(),
            handshake_timeout,
        )?,
    })
}

/// `max_message_bytes`: bounded, and room for the largest credential so that one over
/// `max_token_bytes` is answered TOO_LARGE rather than refused unread.
fn message_bytes(s: &SettingsArgs, max_token_bytes: usize) -> Result<usize, ConfigError> {
    let max_message_bytes = s.max_message_bytes.unwrap_or(DEFAULT_MAX_MESSAGE_BYTES);
    if !(1024..=64 << 20).contains(&max_message_bytes) {
        return Err(bad(
            "max_message_bytes",
            "must be between 1024 and 67108864",
        ));
    }
    if max_message_bytes < max_token_bytes + MESSAGE_OVERHEAD {
        return Err(bad(
            "max_message_bytes",
            format!(
                "must be at least max_token_bytes + {MESSAGE_OVERHEAD} ({}), \
                 so that an oversized credential is answered TOO_LARGE",
                max_token_bytes + MESSAGE_OVERHEAD
            ),
        ));
    }
    Ok(max_message_bytes)
}

fn concurrent_requests(s: &SettingsArgs) -> Result<usize, ConfigError> {
    let max_concurrent_requests = s
        .max_concurrent_requests
        .unwrap_or(DEFAULT_MAX_CONCURRENT_REQUESTS);
    if !(1..=100_000).contains(&max_concurrent_requests) {
        return Err(bad(
            "max_concurrent_requests",
            "must be between 1 and 100000",
        ));
    }
    Ok(max_concurrent_requests)
}

fn http2(s: &SettingsArgs) -> Result<Http2Config, ConfigError> {
    let streams = s
        .max_concurrent_streams
        .unwrap_or(DEFAULT_MAX_CONCURRENT_STREAMS);
    if !(1..=10_000).contains(&streams) {
        return Err(bad("max_concurrent_streams", "must be between 1 and 10000"));
    }
    let interval = millis(
        "http2_keepalive_interval_ms",
        s.http2_keepalive_interval_ms,
        DEFAULT_KEEPALIVE_INTERVAL_MS,
        0,
    )?;
    Ok(Http2Config {
        max_concurrent_streams: streams,
        max_local_error_reset_streams: count(
            "http2_max_local_error_reset_streams",
            s.http2_max_local_error_reset_streams,
            DEFAULT_MAX_LOCAL_ERROR_RESET_STREAMS,
        )?,
        max_pending_accept_reset_streams: count(
            "http2_max_pending_accept_reset_streams",
            s.http2_max_pending_accept_reset_streams,
            DEFAULT_MAX_PENDING_ACCEPT_RESET_STREAMS,
        )?,
        keepalive_interval: (!interval.is_zero()).then_some(interval),
        keepalive_timeout: millis(
            "http2_keepalive_timeout_ms",
            s.http2_keepalive_timeout_ms,
            DEFAULT_KEEPALIVE_TIMEOUT_MS,
            10,
        )?,
    })
}

fn connections(
    s: &SettingsArgs,
    handshake_timeout: Duration,
) -> Result<ConnectionConfig, ConfigError> {
    let idle = millis(
        "connection_idle_timeout_ms",
        s.connection_idle_timeout_ms,
        DEFAULT_CONNECTION_IDLE_TIMEOUT_MS,
        0,
    )?;
    Ok(ConnectionConfig {
        max_connections: count(
            "max_connections",
            s.max_connections,
            DEFAULT_MAX_CONNECTIONS,
        )?,
        idle_timeout: (!idle.is_zero()).then_some(idle),
        handshake_timeout,
    })
}

/// A limit of at least 1 (0 would refuse everything) and at most 1000000.
fn count(setting: &'static str, v: Option<usize>, default: usize) -> Result<usize, ConfigError> {
    let n = v.unwrap_or(default);
    match (1..=1_000_000).contains(&n) {
        true => Ok(n),
        false => Err(bad(setting, "must be between 1 and 1000000")),
    }
}

fn millis(
    setting: &'static str,
    v: Option<u64>,
    default: u64,
    min: u64,
) -> Result<Duration, ConfigError> {
    let ms = v.unwrap_or(default);
    if !(min..=3_600_000).contains(&ms) {
        return Err(bad(
            setting,
            format!("must be between {min} and 3600000 milliseconds"),
        ));
    }
    Ok(Duration::from_millis(ms))
}

fn tls(
    cert: Option<std::path::PathBuf>,
    key: Option<std::path::PathBuf>,
    client_ca: Option<std::path::PathBuf>,
    handshake_timeout: Duration,
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
    certificates("tls_cert", &cert, &cert_pem)?;
    let key_pem = read("tls_key", &key)?;
    PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        bad(
            "tls_key",
            format!("{}: no PEM private key ({e})", key.display()),
        )
    })?;
    let mut server = ServerTlsConfig::new()
        .identity(Identity::from_pem(&cert_pem, &key_pem))
        .timeout(handshake_timeout);
    let mutual = match &client_ca {
        Some(path) => {
            let ca_pem = read("tls_client_ca", path)?;
            certificates("tls_client_ca", path, &ca_pem)?;
            server = server.client_ca_root(Certificate::from_pem(ca_pem));
            true
        }
        None => false,
    };
    // rustls checks the rest (key matches the certificate, usable CA) when the acceptor is built.
    tonic::transport::Server::builder()
        .tls_config(server.clone())
        .map_err(|e| {
            let setting = if mutual { "tls_client_ca" } else { "tls_key" };
            bad(setting, format!("unusable TLS setup: {}", error_chain(&e)))
        })?;
    Ok(Some(TlsConfig { server, mutual }))
}

fn read(setting: &'static str, path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|e| bad(setting, format!("cannot read {}: {e}", path.display())))
}

fn certificates(setting: &'static str, path: &Path, pem: &[u8]) -> Result<(), ConfigError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(setting, format!("{}: bad PEM ({e})", path.display())))?;
    if certs.is_empty() {
        return Err(bad(
            setting,
            format!("{}: no PEM certificate in it", path.display()),
        ));
    }
    Ok(())
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
            http2_keepalive_interval_ms: Some(0),
            connection_idle_timeout_ms: Some(0),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(off.http2.keepalive_interval, None);
        assert_eq!(off.connections.idle_timeout, None);
    }

    #[test]
    fn zero_limits_are_refused_by_name() {
        let cases = [
            SettingsArgs {
                max_concurrent_streams: Some(0),
                ..Default::default()
            },
            SettingsArgs {
                http2_max_local_error_reset_streams: Some(0),
                ..Default::default()
            },
            SettingsArgs {
                http2_max_pending_accept_reset_streams: Some(0),
                ..Default::default()
            },
            SettingsArgs {
                max_connections: Some(0),
                ..Default::default()
            },
            SettingsArgs {
                max_health_watch_streams: Some(0),
                ..Default::default()
            },
            SettingsArgs {
                handshake_timeout_ms: Some(0),
                ..Default::default()
            },
        ];
        let names = [
            "max_concurrent_streams",
            "http2_max_local_error_reset_streams",
            "http2_max_pending_accept_reset_streams",
            "max_connections",
            "max_health_watch_streams",
            "handshake_timeout_ms",
        ];
        for (a, setting) in cases.into_iter().zip(names) {
            assert_eq!(build_with(a).unwrap_err().setting, setting);
        }
    }

    #[test]
    fn file_values_apply_and_flags_win() {
        let f = SettingsArgs {
            max_concurrent_requests: Some(3),
            drain_timeout_ms: Some(0),
            ..Default::default()
        };
        let a = SettingsArgs {
            max_concurrent_requests: Some(4),
            ..Default::default()
        };
        let t = build(&a.over(f), 8192).unwrap();
        assert_eq!(t.max_concurrent_requests, 4);
        assert_eq!(t.drain_timeout, Duration::ZERO);
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
                    max_message_bytes: Some(10),
                    ..Default::default()
                },
                "max_message_bytes",
            ),
            (
                SettingsArgs {
                    max_message_bytes: Some(4096),
                    ..Default::default()
                },
                "max_message_bytes",
            ),
            (
                SettingsArgs {
                    max_concurrent_requests: Some(0),
                    ..Default::default()
                },
                "max_concurrent_requests",
            ),
            (
                SettingsArgs {
                    request_timeout_ms: Some(0),
                    ..Default::default()
                },
                "request_timeout_ms",
            ),
            (
                SettingsArgs {
                    drain_timeout_ms: Some(3_600_001),
                    ..Default::default()
                },
                "drain_timeout_ms",
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
        let mut args = SettingsArgs {
            config: Some(file),
            database_url: Some("sqlite::memory:".into()),
            secret: Some("0123456789abcdef0123456789abcdef".into()),
            ..Default::default()
        };
        let t = crate::config::Config::load(&args).unwrap().transport;
        assert_eq!(t.max_message_bytes, 100_000);
        assert_eq!(t.max_concurrent_requests, 7);
        assert_eq!(t.request_timeout, Duration::from_millis(1234));
        assert_eq!(t.drain_timeout, Duration::ZERO);
        assert!(t.tls.is_none());
        args.max_concurrent_requests = Some(9);
        let t = crate::config::Config::load(&args).unwrap().transport;
        assert_eq!(t.max_concurrent_requests, 9);
    }
}
