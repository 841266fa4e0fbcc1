//! The one typed configuration, merged from flags/env (clap) over the TOML file over defaults,
//! and validated before any port is bound. Each error is one line naming the setting.
use std::{
    collections::HashMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use chrono::TimeDelta;
use serde::Deserialize;

use crate::auth::{credential::CredentialRules, session::SessionPolicy};
use crate::cli::SettingsArgs;
use crate::domain::secret::Secrets;
use crate::store::schema::SchemaNames;

mod jwt;
pub mod transport;

/// The embedded default's files, in the working directory.
pub const DEFAULT_SQLITE_FILE: &str = "better-auth-grpc.sqlite";
pub const DEFAULT_SECRET_FILE: &str = "better-auth-grpc.secret";
pub const DEFAULT_API_KEY_FILE: &str = "better-auth-grpc.api-key";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";

#[derive(Debug, thiserror::Error)]
#[error("{setting}: {message}")]
pub struct ConfigError {
    pub setting: &'static str,
    pub message: String,
}

fn bad(setting: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        setting,
        message: message.into(),
    }
}

/// The TOML file: the flag names with `_` for `-`.
// No Debug: it holds secrets and the database URL as written in the file.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    database_url: Option<String>,
    secret: Option<String>,
    secrets: Option<String>,
    auth_secret: Option<String>,
    base_url: Option<String>,
    listen_addr: Option<String>,
    pg_schema: Option<String>,
    #[serde(default)]
    tables: HashMap<String, String>,
    #[serde(default)]
    columns: HashMap<String, String>,
    snake_case: Option<bool>,
    plural: Option<bool>,
    #[serde(default)]
    boolean_fields: Vec<String>,
    cookie_prefix: Option<String>,
    cookie_name: Option<String>,
    secure_cookies: Option<String>,
    session_expires_in: Option<i64>,
    session_update_age: Option<i64>,
    disable_session_refresh: Option<bool>,
    read_only: Option<bool>,
    session_cache_ms: Option<u64>,
    session_cache_entries: Option<u64>,
    require_signature: Option<bool>,
    max_token_bytes: Option<usize>,
    db_max_connections: Option<u32>,
    db_timeout_ms: Option<u64>,
    log: Option<String>,
    jwt_alg: Option<String>,
    jwt_issuer: Option<String>,
    #[serde(default)]
    jwt_audience: Vec<String>,
    jwt_expiration: Option<u64>,
    jwt_max_lifetime: Option<u64>,
    jwt_leeway: Option<u64>,
    jwt_rotation_interval: Option<u64>,
    jwt_disable_private_key_encryption: Option<bool>,
    jwt_hs256_shared_secret: Option<bool>,
    jwt_verified_cache_entries: Option<u64>,
    jwt_reload_cooldown_ms: Option<u64>,
    jwt_check_user: Option<bool>,
    jwt_user_cache_ms: Option<u64>,
    max_message_bytes: Option<usize>,
    max_concurrent_requests: Option<usize>,
    request_timeout_ms: Option<u64>,
    drain_timeout_ms: Option<u64>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    tls_client_ca: Option<PathBuf>,
    /// IssueToken callers: `[[callers]]` tables (file only).
    #[serde(default)]
    callers: Vec<jwt::CallerEntry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    Postgres,
    Sqlite,
}

#[derive(Clone)]
pub struct DatabaseConfig {
    pub url: String,
    pub kind: DbKind,
    pub pg_schema: Option<String>,
    pub max_connections: u32,
    pub timeout: Duration,
}

// The URL may carry a password: Debug shows it without.
impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &redact_url(&self.url))
            .field("kind", &self.kind)
            .field("pg_schema", &self.pg_schema)
            .field("max_connections", &self.max_connections)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// `scheme://user:***@host/db`: the password never reaches logs or debug output.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "[unparsable URL]".into(),
    }
}

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
}

impl Config {
    /// Reads the file named by `--config` (if any) and merges it under the flags/variables.
    pub fn load(args: &SettingsArgs) -> Result<Self, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        Self::build(args, file, Path::new("."))
    }

    /// Just the database settings: `migrate` needs no secret.
    pub fn load_database(args: &SettingsArgs) -> Result<DatabaseConfig, ConfigError> {
        let f = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let url = args
            .database_url
            .clone()
            .or(f.database_url)
            .filter(|s| !s.is_empty());
        let names = names(args, f.tables, f.columns, f.snake_case, f.plural)?;
        if names != SchemaNames::default() {
            return Err(bad(
                "tables",
                "migrate creates Better Auth's default table and column names only; \
                 drop the name overrides, or create renamed tables with your ORM's migration",
            ));
        }
        database(
            args,
            &f.pg_schema,
            &f.db_max_connections,
            f.db_timeout_ms,
            url,
            Path::new("."),
        )
    }

    pub fn build(a: &SettingsArgs, mut f: FileConfig, workdir: &Path) -> Result<Self, ConfigError> {
        let fj = jwt::take(&mut f);
        let ft = transport::take(&mut f);
        let database_url = a
            .database_url
            .clone()
            .or(f.database_url)
            .filter(|s| !s.is_empty());
        let embedded_default = database_url.is_none();
        let database = database(
            a,
            &f.pg_schema,
            &f.db_max_connections,
            f.db_timeout_ms,
            database_url,
            workdir,
        )?;
        if database.kind == DbKind::Sqlite && !embedded_default {
            sqlite_file_exists(&database.url)?;
        }
        let (f_versioned, f_secret, f_auth) =
            (f.secrets.take(), f.secret.take(), f.auth_secret.take());
        let base_origin = a
            .base_url
            .clone()
            .or(f.base_url)
            .filter(|s| !s.is_empty())
            .map(|u| origin(&u))
            .transpose()?;
        let secure = secure_cookies(
            a.secure_cookies.clone().or(f.secure_cookies),
            base_origin.as_deref(),
        )?;
        let prefix = a
            .cookie_prefix
            .clone()
            .or(f.cookie_prefix)
            .unwrap_or_else(|| "better-auth".into());
        let credentials = CredentialRules {
            session_cookie: a
                .cookie_name
                .clone()
                .or(f.cookie_name)
                .unwrap_or_else(|| cookie(secure, &prefix, "session_token")),
            dont_remember_cookie: cookie(secure, &prefix, "dont_remember"),
            max_token_bytes: max_token_bytes(a.max_token_bytes.or(f.max_token_bytes))?,
            require_signature: a.require_signature.or(f.require_signature).unwrap_or(false),
        };
        let session = SessionPolicy {
            expires_in: seconds(
                "session_expires_in",
                a.session_expires_in.or(f.session_expires_in),
                604_800,
            )?,
            update_age: seconds(
                "session_update_age",
                a.session_update_age.or(f.session_update_age),
                86_400,
            )?,
            disable_refresh: a
                .disable_session_refresh
                .or(f.disable_session_refresh)
                .unwrap_or(false),
            read_only: a.read_only.or(f.read_only).unwrap_or(false),
            cache_ttl: Duration::from_millis(bounded(
                "session_cache_ms",
                a.session_cache_ms.or(f.session_cache_ms),
                0,
                300_000,
            )?),
            cache_entries: bounded(
                "session_cache_entries",
                a.session_cache_entries.or(f.session_cache_entries),
                10_000,
                10_000_000,
            )?,
        };
        let names = names(a, f.tables, f.columns, f.snake_case, f.plural)?;
        let boolean_fields = fields(
            "boolean_fields",
            if a.boolean_fields.is_empty() {
                f.boolean_fields
            } else {
                a.boolean_fields.clone()
            },
        )?;
        let listen = a
            .listen_addr
            .clone()
            .or(f.listen_addr)
            .unwrap_or_else(|| DEFAULT_LISTEN.into());
        let listen_addr = listen
            .parse()
            .map_err(|e| bad("listen_addr", format!("{listen:?} is not host:port ({e})")))?;
        let log = a.log.clone().or(f.log).unwrap_or_else(|| "info".into());
        let transport = transport::build(a, ft, credentials.max_token_bytes)?;
        let jwt = jwt::build(
            a,
            fj,
            base_origin.as_deref(),
            embedded_default,
            credentials.max_token_bytes,
        )?;
        // Last, so a bad setting elsewhere never leaves an embedded-default secret file behind.
        let secrets = secrets(a, f_versioned, f_secret, f_auth, embedded_default, workdir)?;
        let mut callers = jwt.callers;
        let mutual_tls = transport.tls.as_ref().is_some_and(|t| t.mutual);
        if callers.any_by_certificate() && !mutual_tls {
            return Err(bad(
                "callers",
                "client_cert_name needs mutual TLS: set tls_cert, tls_key and tls_client_ca",
            ));
        }
        let demo_api_key = match embedded_default && callers.is_empty() {
            true => Some(demo_caller(&mut callers, workdir)?),
            false => None,
        };
        Ok(Self {
            listen_addr,
            database,
            embedded_default,
            secrets,
            base_origin,
            credentials,
            session,
            names,
            boolean_fields,
            log,
            jwt: jwt.settings,
            jwt_check_user: jwt.check_user,
            jwt_max_lifetime: jwt.max_lifetime,
            callers,
            demo_api_key,
            transport,
        })
    }
}

/// An optional number with a default and an upper bound.
fn bounded(
    setting: &'static str,
    v: Option<u64>,
    default: u64,
    max: u64,
) -> Result<u64, ConfigError> {
    let n = v.unwrap_or(default);
    match n <= max {
        true => Ok(n),
        false => Err(bad(setting, format!("must be at most {max}"))),
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad("config", format!("cannot read {}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| bad("config", format!("{}: {}", path.display(), e.message())))
}

/// `serve` never creates a database: a missing SQLite file is a wrong path, said plainly.
fn sqlite_file_exists(url: &str) -> Result<(), ConfigError> {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let in_memory = path.is_empty() || path == ":memory:" || query.contains("mode=memory");
    if in_memory || query.contains("mode=rwc") || Path::new(path).exists() {
        return Ok(());
    }
    Err(bad(
        "database_url",
        format!("SQLite file {path} does not exist; point at Better Auth's database, or create one with `better-auth-grpc migrate`"),
    ))
}

fn database(
    a: &SettingsArgs,
    schema: &Option<String>,
    max: &Option<u32>,
    timeout_ms: Option<u64>,
    url: Option<String>,
    workdir: &Path,
) -> Result<DatabaseConfig, ConfigError> {
    let url =
        url.unwrap_or_else(|| format!("sqlite://{}", workdir.join(DEFAULT_SQLITE_FILE).display()));
    let kind = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        DbKind::Postgres
    } else if url.starts_with("sqlite:") {
        DbKind::Sqlite
    } else {
        return Err(bad(
            "database_url",
            "must start with postgres://, postgresql:// or sqlite:",
        ));
    };
    let max_connections = a.db_max_connections.or(*max).unwrap_or(10);
    if !(1..=1000).contains(&max_connections) {
        return Err(bad("db_max_connections", "must be between 1 and 1000"));
    }
    let ms = a.db_timeout_ms.or(timeout_ms).unwrap_or(3000);
    if !(10..=600_000).contains(&ms) {
        return Err(bad("db_timeout_ms", "must be between 10 and 600000"));
    }
    let pg_schema = a
        .pg_schema
        .clone()
        .or(schema.clone())
        .filter(|s| !s.is_empty());
    Ok(DatabaseConfig {
        url,
        kind,
        pg_schema,
        max_connections,
        timeout: Duration::from_millis(ms),
    })
}

fn secrets(
    a: &SettingsArgs,
    f_versioned: Option<String>,
    f_secret: Option<String>,
    f_auth: Option<String>,
    embedded_default: bool,
    workdir: &Path,
) -> Result<Arc<Secrets>, ConfigError> {
    let versioned = a.secrets.clone().or(f_versioned);
    let secret = a.secret.clone().or(f_secret);
    let auth = a.auth_secret.clone().or(f_auth);
    let none_given = [&versioned, &secret, &auth]
        .iter()
        .all(|s| s.as_deref().is_none_or(str::is_empty));
    if none_given && embedded_default {
        let s = embedded_secret(&workdir.join(DEFAULT_SECRET_FILE))?;
        return Secrets::from_secret(&s)
            .map(Arc::new)
            .map_err(|e| bad("secret", e.to_string()));
    }
    Secrets::resolve(versioned.as_deref(), secret.as_deref(), auth.as_deref())
        .map(Arc::new)
        .map_err(|e| bad("secret", e.to_string()))
}

/// The embedded default keeps a random secret in a file beside its database, so the demo
/// cookie printed on first start stays valid across restarts.
fn embedded_secret(path: &PathBuf) -> Result<String, ConfigError> {
    if let Ok(s) = std::fs::read_to_string(path) {
        return Ok(s.trim().to_owned());
    }
    let s = crate::domain::model::random_id(48);
    write_private(path, &s)
        .map_err(|e| bad("secret", format!("cannot write {}: {e}", path.display())))?;
    Ok(s)
}

/// The embedded default lets one demo caller use IssueToken, with a key kept beside its database.
fn demo_caller(
    callers: &mut crate::auth::callers::Callers,
    workdir: &Path,
) -> Result<secrecy::SecretString, ConfigError> {
    use crate::auth::callers::{key_sha256_hex, Caller};
    let path = workdir.join(DEFAULT_API_KEY_FILE);
    let key = match std::fs::read_to_string(&path) {
        Ok(k) => k.trim().to_owned(),
        Err(_) => {
            let k = crate::domain::model::random_id(40);
            write_private(&path, &k)
                .map_err(|e| bad("callers", format!("cannot write {}: {e}", path.display())))?;
            k
        }
    };
    let caller = Caller::new("demo".into(), &key_sha256_hex(&key), true, vec![])
        .map_err(|e| bad("callers", e.to_string()))?;
    *callers = crate::auth::callers::Callers::new(vec![caller]);
    Ok(secrecy::SecretString::from(key))
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)?.write_all(contents.as_bytes())
}

/// Better Auth keeps only the origin of its base URL (COMPAT.md §5).
fn origin(u: &str) -> Result<String, ConfigError> {
    let url =
        url::Url::parse(u).map_err(|e| bad("base_url", format!("{u:?} is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("base_url", "must be an http:// or https:// URL"));
    }
    Ok(url.origin().ascii_serialization())
}

fn secure_cookies(v: Option<String>, origin: Option<&str>) -> Result<bool, ConfigError> {
    match v.as_deref().unwrap_or("auto") {
        "auto" => Ok(origin.is_some_and(|o| o.starts_with("https://"))),
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(bad(
            "secure_cookies",
            format!("{other:?} is not auto, true or false"),
        )),
    }
}

fn cookie(secure: bool, prefix: &str, name: &str) -> String {
    format!("{}{prefix}.{name}", if secure { "__Secure-" } else { "" })
}

fn max_token_bytes(v: Option<usize>) -> Result<usize, ConfigError> {
    let n = v.unwrap_or(8192);
    if !(64..=1 << 20).contains(&n) {
        return Err(bad("max_token_bytes", "must be between 64 and 1048576"));
    }
    Ok(n)
}

fn seconds(setting: &'static str, v: Option<i64>, default: i64) -> Result<TimeDelta, ConfigError> {
    let n = v.unwrap_or(default);
    if !(0..=10 * 365 * 86_400).contains(&n) {
        return Err(bad(
            setting,
            "must be a number of seconds between 0 and ten years",
        ));
    }
    Ok(TimeDelta::seconds(n))
}

fn names(
    a: &SettingsArgs,
    f_tables: HashMap<String, String>,
    f_columns: HashMap<String, String>,
    snake: Option<bool>,
    plural: Option<bool>,
) -> Result<SchemaNames, ConfigError> {
    let mut tables = f_tables;
    tables.extend(pairs("tables", &a.tables)?);
    if let Some(k) = tables
        .keys()
        .find(|k| !["user", "session", "jwks"].contains(&k.as_str()))
    {
        return Err(bad(
            "tables",
            format!("unknown model {k:?} (use user, session or jwks)"),
        ));
    }
    let mut columns = f_columns;
    columns.extend(pairs("columns", &a.columns)?);
    fields("columns", columns.keys().cloned().collect())?;
    if let Some((k, _)) = tables
        .iter()
        .chain(columns.iter())
        .find(|(_, v)| v.is_empty())
    {
        return Err(bad("tables", format!("{k:?} maps to an empty name")));
    }
    Ok(SchemaNames {
        tables,
        columns,
        snake_case: a.snake_case.or(snake).unwrap_or(false),
        plural: a.plural.or(plural).unwrap_or(false),
    })
}

fn pairs(setting: &'static str, items: &[String]) -> Result<Vec<(String, String)>, ConfigError> {
    items
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.split_once('=')
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .ok_or_else(|| bad(setting, format!("{s:?} is not name=value")))
        })
        .collect()
}

/// `model.field` entries.
fn fields(setting: &'static str, items: Vec<String>) -> Result<Vec<String>, ConfigError> {
    for i in &items {
        let ok = i
            .split_once('.')
            .is_some_and(|(m, f)| ["user", "session", "jwks"].contains(&m) && !f.is_empty());
        if !ok {
            return Err(bad(
                setting,
                format!("{i:?} is not model.field (models: user, session, jwks)"),
            ));
        }
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let f: FileConfig = toml::from_str(
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
        assert!(toml::from_str::<FileConfig>("databse_url = \"x\"").is_err());
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
