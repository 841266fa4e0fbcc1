//! Where Better Auth's database is, and how this service connects to it.
use std::{path::Path, time::Duration};

use super::defaults::DEFAULT_SQLITE_FILE;
use super::error::{bad, ConfigError};
use super::private_file::write_private;
use crate::cli::SettingsArgs;

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
    /// Session lookup queries in flight at once (PostgreSQL), within `max_connections`.
    pub lookup_lanes: u32,
    pub timeout: Duration,
    pub prepared_statements: bool,
}

// The URL may carry a password: Debug shows it without.
impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &redact_url(&self.url))
            .field("kind", &self.kind)
            .field("pg_schema", &self.pg_schema)
            .field("max_connections", &self.max_connections)
            .field("lookup_lanes", &self.lookup_lanes)
            .field("timeout", &self.timeout)
            .field("prepared_statements", &self.prepared_statements)
            .finish()
    }
}

/// `scheme://user:***@host/db?password=***`: the password never reaches logs or debug output,
/// in the userinfo or in the `password` parameter sqlx also accepts.
pub fn redact_url(url: &str) -> String {
    let Ok(mut u) = url::Url::parse(url) else {
        return "[unparsable URL]".into();
    };
    if u.password().is_some() {
        let _ = u.set_password(Some("***"));
    }
    let secret = |k: &str| k.to_ascii_lowercase().contains("password");
    if u.query_pairs().any(|(k, _)| secret(&k)) {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| match secret(&k) {
                true => (k.into_owned(), "***".to_owned()),
                false => (k.into_owned(), v.into_owned()),
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    u.to_string()
}

/// An empty DATABASE_URL counts as unset: the embedded default.
pub fn is_embedded_default(s: &SettingsArgs) -> bool {
    s.database_url.as_deref().is_none_or(str::is_empty)
}

/// What `serve` connects to: as `database`, and a named SQLite file must already exist.
pub fn for_serve(s: &SettingsArgs, workdir: &Path) -> Result<DatabaseConfig, ConfigError> {
    let database = database(s, workdir)?;
    if database.kind == DbKind::Sqlite && !is_embedded_default(s) {
        sqlite_file_exists(&database.url)?;
    }
    Ok(database)
}

/// The database settings; the embedded default is a SQLite file in `workdir`.
pub fn database(s: &SettingsArgs, workdir: &Path) -> Result<DatabaseConfig, ConfigError> {
    let url = match is_embedded_default(s) {
        true => format!("sqlite://{}", workdir.join(DEFAULT_SQLITE_FILE).display()),
        false => s.database_url.clone().unwrap_or_default(),
    };
    let kind = kind(&url)?;
    Ok(DatabaseConfig {
        url,
        kind,
        pg_schema: s.pg_schema.clone().filter(|s| !s.is_empty()),
        max_connections: s.db_max_connections,
        lookup_lanes: s.db_lookup_lanes.min(s.db_max_connections),
        timeout: Duration::from_millis(s.db_timeout_ms),
        prepared_statements: s.db_prepared_statements,
    })
}

fn kind(url: &str) -> Result<DbKind, ConfigError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(DbKind::Postgres)
    } else if url.starts_with("sqlite:") {
        Ok(DbKind::Sqlite)
    } else {
        Err(bad(
            "database_url",
            "must start with postgres://, postgresql:// or sqlite:",
        ))
    }
}

impl DatabaseConfig {
    /// The embedded default's SQLite file holds the demo session token: it is created empty and
    /// owner-only before sqlx opens it (which would create it with the umask's mode). SQLite
    /// gives its -journal, -wal and -shm files the database file's mode.
    pub fn create_private_sqlite_file(&self) -> std::io::Result<()> {
        let Some((path, _)) = sqlite_path(&self.url) else {
            return Ok(());
        };
        match write_private(Path::new(path), "") {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            other => other,
        }
    }
}

/// The file of a SQLite URL and its query; `None` for an in-memory database.
fn sqlite_path(url: &str) -> Option<(&str, &str)> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let in_memory = path.is_empty() || path == ":memory:" || query.contains("mode=memory");
    (!in_memory).then_some((path, query))
}

/// `serve` never creates a database: a missing SQLite file is a wrong path, said plainly.
fn sqlite_file_exists(url: &str) -> Result<(), ConfigError> {
    let Some((path, query)) = sqlite_path(url) else {
        return Ok(());
    };
    if query.contains("mode=rwc") || Path::new(path).exists() {
        return Ok(());
    }
    Err(bad(
        "database_url",
        format!("SQLite file {path} does not exist; point at Better Auth's database, or create one with `better-auth-grpc migrate`"),
    ))
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn redacts_the_password_in_userinfo_and_in_the_query() {
        let shown = redact_url("postgres://u:hunter2@h/db?sslmode=require&password=s3cr3t");
        assert!(
            !shown.contains("hunter2") && !shown.contains("s3cr3t"),
            "{shown}"
        );
        assert!(shown.contains("sslmode=require"), "{shown}");
        assert!(shown.contains("password=***"), "{shown}");
        let plain = "postgres://u@h/db?sslmode=require";
        assert_eq!(redact_url(plain), plain);
    }
}
