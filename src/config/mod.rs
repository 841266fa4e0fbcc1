//! The one typed configuration, built from the parsed settings and validated before any port is
//! bound. Each error is one line naming the setting. Every setting is declared once, with its
//! default and its own check, in `cli::SettingsArgs` (clap carries the TOML file too:
//! `file`); the modules below check what spans settings and turn them into each concern's types.
use std::{net::SocketAddr, path::Path, sync::Arc, time::Duration};

use crate::auth::{credential::CredentialRules, session::SessionPolicy};
use crate::cli::SettingsArgs;
use crate::domain::secret::Secrets;
use crate::store::schema::SchemaNames;

mod callers;
mod cookie_cache;
mod database;
pub(crate) mod defaults;
pub(crate) mod error;
mod feed;
pub mod file;
pub mod gateway;
mod jwt;
pub mod observe;
mod policy_entry;
mod private_file;
#[cfg(test)]
mod readme;
mod schema;
mod secrets;
mod session;
pub mod transport;

pub use database::{redact_url, DatabaseConfig, DbKind};
pub use defaults::*;
use error::bad;
pub use error::ConfigError;
pub use feed::FeedConfig;

#[derive(Debug, Clone)]
pub struct Config {
    pub listen_addr: SocketAddr,
    pub database: DatabaseConfig,
    /// No DATABASE_URL: SQLite file in the working directory, schema created, demo user seeded.
    pub embedded_default: bool,
    pub secrets: Arc<Secrets>,
    /// Origin of BETTER_AUTH_URL (`https://host[:port]`), if set.
    pub base_origin: Option<String>,
    pub credentials: CredentialRules,
    /// Why the session cookie has its name (start-up log).
    pub cookie_reason: &'static str,
    pub session: SessionPolicy,
    pub names: SchemaNames,
    pub boolean_fields: Vec<String>,
    pub log: String,
    /// JWT validation and issuing; `None` when no issuer is known (no BETTER_AUTH_URL).
    pub jwt: Option<crate::token::JwtSettings>,
    /// `--jwt-check-user`: how long a looked-up user is reused (its maximum staleness).
    pub jwt_check_user: Option<Duration>,
    /// Longest lifetime an IssueToken request may ask for.
    pub jwt_max_lifetime: Duration,
    pub callers: crate::auth::callers::Callers,
    /// The embedded default's demo caller key (printed in its banner), when no callers are configured.
    pub demo_api_key: Option<secrecy::SecretString>,
    /// Message and concurrency limits, deadlines, drain, TLS.
    pub transport: transport::TransportConfig,
    /// `--cookie-cache`: Better Auth's session_data cookie is read; `None` when off.
    pub cookie_cache: Option<crate::auth::cookie_cache::CookieCacheRules>,
    /// `--change-feed`, `--listen-database-url`, the heartbeat.
    pub feed: FeedConfig,
    /// `--log-format`, `--metrics-addr`.
    pub observe: observe::ObserveConfig,
    /// Gateway mode: policies, identity headers, upstream JWT, HTTP forward-auth listener.
    pub gateway: gateway::GatewayConfig,
}

impl Config {
    /// The configuration of the settings as parsed, in the working directory.
    pub fn load(s: &SettingsArgs) -> Result<Self, ConfigError> {
        Self::build(s, Path::new("."))
    }

    /// Just the database settings: `migrate` needs no secret.
    pub fn load_database(s: &SettingsArgs) -> Result<DatabaseConfig, ConfigError> {
        file_was_read(s)?;
        if schema::names(s)? != SchemaNames::default() {
            return Err(bad(
                "tables",
                "migrate creates Better Auth's default table and column names only; \
                 drop the name overrides, or create renamed tables with your ORM's migration",
            ));
        }
        database::database(s, Path::new("."))
    }

    /// Checks run in this order, so that with several bad settings the same one is named.
    pub fn build(s: &SettingsArgs, workdir: &Path) -> Result<Self, ConfigError> {
        file_was_read(s)?;
        let embedded_default = database::is_embedded_default(s);
        let database = database::for_serve(s, workdir)?;
        let feed = feed::build(s, &database)?;
        let base_origin = session::base_origin(s)?;
        let credentials = session::credentials(s, base_origin.as_deref())?;
        let cookie_reason = session::cookie_reason(s, base_origin.as_deref());
        let cookie_cache = cookie_cache::build(s, &credentials, base_origin.as_deref());
        let session = session::policy(s, database.kind);
        let names = schema::names(s)?;
        let boolean_fields = schema::boolean_fields(s)?;
        let transport = transport::build(s, credentials.max_token_bytes)?;
        let callers = callers::callers(&s.file.callers)?;
        let jwt = jwt::build(
            s,
            jwt::Context {
                origin: base_origin.as_deref(),
                embedded_default,
                max_token_bytes: credentials.max_token_bytes,
                callers: &callers,
            },
        )?;
        let gateway = gateway::build(
            s,
            gateway::JwtBounds {
                max_lifetime: jwt.max_lifetime,
                audiences: jwt.settings.as_ref().map(|j| j.audience.values()),
            },
        )?;
        // Last, so a bad setting elsewhere never leaves an embedded-default secret file behind.
        let secrets = secrets::secrets(s, embedded_default, workdir)?;
        let mutual_tls = transport.tls.as_ref().is_some_and(|t| t.mutual);
        let (callers, demo_api_key) =
            callers::finish(callers, mutual_tls, embedded_default, workdir)?;
        Ok(Self {
            listen_addr: s.listen_addr,
            database,
            embedded_default,
            secrets,
            base_origin,
            credentials,
            cookie_reason,
            session,
            names,
            boolean_fields,
            log: s.log.clone(),
            jwt: jwt.settings,
            jwt_check_user: jwt.check_user,
            jwt_max_lifetime: jwt.max_lifetime,
            callers,
            demo_api_key,
            transport,
            cookie_cache,
            feed,
            observe: observe::build(s),
            gateway,
        })
    }
}

/// A `config` set after the command line was parsed would silently not apply.
fn file_was_read(s: &SettingsArgs) -> Result<(), ConfigError> {
    match s.config == s.file.source {
        true => Ok(()),
        false => Err(bad(
            "config",
            "set after parsing, so never read: parse it with Cli::try_parse_layered",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    const S: &str = "0123456789abcdef0123456789abcdef";

    fn args() -> SettingsArgs {
        SettingsArgs {
            database_url: Some("postgres://x@localhost/db".into()),
            secret: Some(S.into()),
            ..Default::default()
        }
    }

    fn build(a: SettingsArgs) -> Result<Config, ConfigError> {
        Config::build(&a, Path::new("/nonexistent"))
    }

    #[test]
    fn defaults_match_better_auth() {
        let c = build(args()).unwrap();
        assert_eq!(c.listen_addr.to_string(), DEFAULT_LISTEN);
        assert_eq!(c.credentials.session_cookie, "better-auth.session_token");
        assert_eq!(c.session.expires_in, TimeDelta::seconds(604_800));
        assert_eq!(c.database.kind, DbKind::Postgres);
        assert!(!c.embedded_default);
    }

    #[test]
    fn lookup_lanes_stay_within_the_pool() {
        let c = build(args()).unwrap();
        assert_eq!(c.database.lookup_lanes, 2);
        let mut a = args();
        (a.db_lookup_lanes, a.db_max_connections) = (8, 3);
        assert_eq!(build(a).unwrap().database.lookup_lanes, 3);
    }

    #[test]
    fn https_base_url_means_secure_cookie_and_origin_only() {
        let mut a = args();
        a.base_url = Some("https://app.example.com/api/auth".into());
        let c = build(a).unwrap();
        assert_eq!(c.base_origin.as_deref(), Some("https://app.example.com"));
        assert_eq!(
            c.credentials.session_cookie,
            "__Secure-better-auth.session_token"
        );
        assert_eq!(
            c.credentials.dont_remember_cookie,
            "__Secure-better-auth.dont_remember"
        );
    }

    #[test]
    fn flags_win_over_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        let text = "listen_addr = \"127.0.0.1:8000\"\nread_only = true\n[tables]\nuser = \"users\"";
        std::fs::write(&file, text).unwrap();
        let a = SettingsArgs::from_flags([
            "--config".as_ref(),
            file.as_os_str(),
            "--listen-addr".as_ref(),
            "127.0.0.1:7000".as_ref(),
            "--database-url".as_ref(),
            "postgres://x@localhost/db".as_ref(),
            "--secret".as_ref(),
            S.as_ref(),
        ]);
        let c = build(a).unwrap();
        assert_eq!(c.listen_addr.port(), 7000);
        assert!(c.session.read_only);
        assert_eq!(c.names.tables["user"], "users");
    }

    /// Each setting's own parser refuses a bad value, naming the flag and what it takes.
    #[test]
    fn bad_flag_values_are_refused_by_their_parser() {
        let cases = [
            ("--listen-addr", "nope", "invalid socket address"),
            (
                "--secure-cookies",
                "maybe",
                "[possible values: auto, true, false]",
            ),
            (
                "--jwt-alg",
                "HS512",
                "[possible values: EdDSA, ES256, ES512, RS256, PS256]",
            ),
            ("--max-token-bytes", "1", "1 is not in 64..=1048576"),
            ("--session-expires-in", "-1", "-1 is not in 0..=315360000"),
            ("--db-timeout-ms", "0", "0 is not in 10..=600000"),
            ("--db-max-connections", "0", "0 is not in 1..=1000"),
            ("--max-message-bytes", "10", "10 is not in 1024..=67108864"),
            ("--max-concurrent-requests", "0", "0 is not in 1..=100000"),
            ("--request-timeout-ms", "0", "0 is not in 10..=3600000"),
            (
                "--drain-timeout-ms",
                "3600001",
                "3600001 is not in 0..=3600000",
            ),
            ("--max-concurrent-streams", "0", "0 is not in 1..=10000"),
            (
                "--http2-max-local-error-reset-streams",
                "0",
                "0 is not in 1..=1000000",
            ),
            (
                "--http2-max-pending-accept-reset-streams",
                "0",
                "0 is not in 1..=1000000",
            ),
            ("--max-connections", "0", "0 is not in 1..=1000000"),
            ("--max-health-watch-streams", "0", "0 is not in 1..=1000000"),
            ("--handshake-timeout-ms", "0", "0 is not in 10..=3600000"),
            ("--jwt-expiration", "0", "0 is not in 1..=31622400"),
            ("--read-only", "yes", "[possible values: true, false]"),
            (
                "--cookie-cache",
                "JWT",
                "[possible values: off, compact, jwt, jwe, auto]",
            ),
        ];
        for (flag, value, why) in cases {
            let e = SettingsArgs::try_from_flags([format!("{flag}={value}")]);
            let e = e.err().map(|e| e.to_string()).unwrap_or_default();
            assert!(e.contains(flag) && e.contains(why), "{flag}={value}: {e}");
        }
    }

    #[test]
    fn bad_values_name_their_setting() {
        let cases: Vec<(SettingsArgs, &str)> = vec![
            (
                SettingsArgs {
                    database_url: Some("mysql://x".into()),
                    ..args()
                },
                "database_url",
            ),
            (
                SettingsArgs {
                    secret: Some("short".into()),
                    ..args()
                },
                "secret",
            ),
            (
                SettingsArgs {
                    secret: Some(crate::domain::secret::PUBLIC_DEFAULT_SECRET.into()),
                    ..args()
                },
                "secret",
            ),
            (
                SettingsArgs {
                    base_url: Some("ftp://x".into()),
                    ..args()
                },
                "base_url",
            ),
            (
                SettingsArgs {
                    tables: vec!["account=x".into()],
                    ..args()
                },
                "tables",
            ),
            (
                SettingsArgs {
                    columns: vec!["emailVerified=x".into()],
                    ..args()
                },
                "columns",
            ),
        ];
        for (a, setting) in cases {
            let e = build(a).unwrap_err();
            assert_eq!(e.setting, setting, "{e}");
        }
    }

    #[test]
    fn embedded_default_creates_and_reuses_a_secret() {
        let dir = tempfile::tempdir().unwrap();
        let a = SettingsArgs::default();
        let c1 = Config::build(&a, dir.path()).unwrap();
        let c2 = Config::build(&a, dir.path()).unwrap();
        assert!(c1.embedded_default);
        assert_eq!(c1.secrets.current(), c2.secrets.current());
        assert_eq!(c1.database.kind, DbKind::Sqlite);
    }
}
