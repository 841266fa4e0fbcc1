//! Transport settings: message and concurrency limits, deadlines, the SIGTERM drain and TLS.
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
/// A TLS handshake that has not finished by then is dropped (slow or stalled clients).
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
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
    pub tls: Option<TlsConfig>,
}

/// A checked TLS setup for the gRPC listener.
#[derive(Debug, Clone)]
pub struct TlsConfig {
    pub server: ServerTlsConfig,
    /// `--tls-client-ca`: client certificates are required and verified against it.
    pub mutual: bool,
}

pub fn build(s: &SettingsArgs, max_token_bytes: usize) -> Result<TransportConfig, ConfigError> {
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
    let max_concurrent_requests = s
        .max_concurrent_requests
        .unwrap_or(DEFAULT_MAX_CONCURRENT_REQUESTS);
    if !(1..=100_000).contains(&max_concurrent_requests) {
        return Err(bad(
            "max_concurrent_requests",
            "must be between 1 and 100000",
        ));
    }
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
        tls: tls(
            s.tls_cert.clone(),
            s.tls_key.clone(),
            s.tls_client_ca.clone(),
        )?,
    })
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
        .timeout(TLS_HANDSHAKE_TIMEOUT);
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

    /// Moved from tests/transport.rs: the file's transport keys apply through `Config::load`.
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
