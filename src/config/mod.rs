//! The one typed configuration, merged from flags/env (clap) over the TOML file over defaults,
//! and validated before any port is bound. Each error is one line naming the setting.
//! Every setting is declared once, in `cli::SettingsArgs`; its default and checks live in the
//! module of its concern below, where its value is used.
use std::{net::SocketAddr, path::Path, sync::Arc, time::Duration};

use crate::auth::{credential::CredentialRules, session::SessionPolicy};
use crate::cli::SettingsArgs;
use crate::domain::secret::Secrets;
use crate::store::schema::SchemaNames;

mod callers;
mod cookie_cache;
mod database;
mod defaults;
mod error;
mod file;
mod jwt;
pub(crate) mod layer;
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
pub use file::FileConfig;

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
}

impl Config {
    /// Reads the file named by `--config` (if any) and merges it under the flags/variables.
    pub fn load(args: &SettingsArgs) -> Result<Self, ConfigError> {
        Self::build(args, FileConfig::of(args)?, Path::new("."))
    }

    /// Just the database settings: `migrate` needs no secret.
    pub fn load_database(args: &SettingsArgs) -> Result<DatabaseConfig, ConfigError> {
        let f = FileConfig::of(args)?;
        let s = args.clone().over(f.settings);
        if schema::names(&s, f.tables, f.columns)? != SchemaNames::default() {
            return Err(bad(
                "tables",
                "migrate creates Better Auth's default table and column names only; \
                 drop the name overrides, or create renamed tables with your ORM's migration",
            ));
        }
        database::database(&s, Path::new("."))
    }

    /// Checks run in this order, so that with several bad settings the same one is named.
    pub fn build(a: &SettingsArgs, f: FileConfig, workdir: &Path) -> Result<Self, ConfigError> {
        let s = a.clone().over(f.settings);
        let embedded_default = database::is_embedded_default(&s);
        let database = database::for_serve(&s, workdir)?;
        let base_origin = session::base_origin(&s)?;
        let credentials = session::credentials(&s, base_origin.as_deref())?;
        let cookie_reason = session::cookie_reason(&s, base_origin.as_deref());
        let cookie_cache = cookie_cache::build(&s, &credentials, base_origin.as_deref())?;
        let session = session::policy(&s)?;
        let names = schema::names(&s, f.tables, f.columns)?;
        let boolean_fields = schema::boolean_fields(&s)?;
        let listen_addr = listen_addr(&s)?;
        let transport = transport::build(&s, credentials.max_token_bytes)?;
        let callers = callers::callers(f.callers)?;
        let jwt = jwt::build(
            &s,
            jwt::Context {
                origin: base_origin.as_deref(),
                embedded_default,
                max_token_bytes: credentials.max_token_bytes,
                callers: &callers,
            },
        )?;
        // Last, so a bad setting elsewhere never leaves an embedded-default secret file behind.
        let secrets = secrets::secrets(&s, embedded_default, workdir)?;
        let mutual_tls = transport.tls.as_ref().is_some_and(|t| t.mutual);
        let (callers, demo_api_key) =
            callers::finish(callers, mutual_tls, embedded_default, workdir)?;
        Ok(Self {
            listen_addr,
            database,
            embedded_default,
            secrets,
            base_origin,
            credentials,
            cookie_reason,
            session,
            names,
            boolean_fields,
            log: s.log.unwrap_or_else(|| "info".into()),
            jwt: jwt.settings,
            jwt_check_user: jwt.check_user,
            jwt_max_lifetime: jwt.max_lifetime,
            callers,
            demo_api_key,
            transport,
            cookie_cache,
        })
    }
}

fn listen_addr(s: &SettingsArgs) -> Result<SocketAddr, ConfigError> {
    let listen = s.listen_addr.as_deref().unwrap_or(DEFAULT_LISTEN);
    listen
        .parse()
        .map_err(|e| bad("listen_addr", format!("{listen:?} is not host:port ({e})")))
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

    fn build(a: SettingsArgs, f: FileConfig) -> Result<Config, ConfigError> {
        Config::build(&a, f, Path::new("/nonexistent"))
    }

    #[test]
    fn defaults_match_better_auth() {
        let c = build(args(), FileConfig::default()).unwrap();
        assert_eq!(c.listen_addr.to_string(), DEFAULT_LISTEN);
        assert_eq!(c.credentials.session_cookie, "better-auth.session_token");
        assert_eq!(c.session.expires_in, TimeDelta::seconds(604_800));
        assert_eq!(c.database.kind, DbKind::Postgres);
        assert!(!c.embedded_default);
    }

    #[test]
    fn https_base_url_means_secure_cookie_and_origin_only() {
        let mut a = args();
        a.base_url = Some("https://app.example.com/api/auth".into());
        let c = build(a, FileConfig::default()).unwrap();
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
        let mut a = args();
        a.listen_addr = Some("127.0.0.1:7000".into());
        let f = FileConfig::parse(
            "listen_addr = \"127.0.0.1:8000\"\nread_only = true\n[tables]\nuser = \"users\"",
        )
        .unwrap();
        let c = build(a, f).unwrap();
        assert_eq!(c.listen_addr.port(), 7000);
        assert!(c.session.read_only);
        assert_eq!(c.names.tables["user"], "users");
    }

    #[test]
    fn bad_values_name_their_setting() {
        let cases: Vec<(SettingsArgs, &str)> = vec![
            (
                SettingsArgs {
                    listen_addr: Some("nope".into()),
                    ..args()
                },
                "listen_addr",
            ),
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
                    secure_cookies: Some("maybe".into()),
                    ..args()
                },
                "secure_cookies",
            ),
            (
                SettingsArgs {
                    max_token_bytes: Some(1),
                    ..args()
                },
                "max_token_bytes",
            ),
            (
                SettingsArgs {
                    session_expires_in: Some(-1),
                    ..args()
                },
                "session_expires_in",
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
            (
                SettingsArgs {
                    db_timeout_ms: Some(0),
                    ..args()
                },
                "db_timeout_ms",
            ),
        ];
        for (a, setting) in cases {
            let e = build(a, FileConfig::default()).unwrap_err();
            assert_eq!(e.setting, setting, "{e}");
        }
    }

    #[test]
    fn unknown_file_keys_are_refused() {
        assert!(FileConfig::parse("databse_url = \"x\"").is_err());
    }

    #[test]
    fn embedded_default_creates_and_reuses_a_secret() {
        let dir = tempfile::tempdir().unwrap();
        let a = SettingsArgs::default();
        let c1 = Config::build(&a, FileConfig::default(), dir.path()).unwrap();
        let c2 = Config::build(&a, FileConfig::default(), dir.path()).unwrap();
        assert!(c1.embedded_default);
        assert_eq!(c1.secrets.current(), c2.secrets.current());
        assert_eq!(c1.database.kind, DbKind::Sqlite);
    }
}
