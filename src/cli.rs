//! Command line. Every setting is declared once, as a field of `SettingsArgs`: its flag, its
//! environment variable and its `--help` text, and (the field's name) its key in the optional
//! TOML file, read by serde into the same struct; a flag or variable wins over the file.
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde::Deserialize;

use crate::config::layer::layered;

#[derive(Parser)]
#[command(
    name = "better-auth-grpc",
    version,
    about = "Validates Better Auth sessions and JWTs over gRPC, straight from Better Auth's database.",
    long_about = "Validates Better Auth sessions and JWTs over gRPC, straight from Better Auth's database.\n\n\
        With no DATABASE_URL it serves an embedded default: a SQLite file in the working directory with \
        Better Auth's schema, a demo user and a live session, and prints ready grpcurl lines.\n\n\
        Settings come from flags, environment variables (the same ones Better Auth reads: DATABASE_URL, \
        BETTER_AUTH_SECRET, BETTER_AUTH_SECRETS, AUTH_SECRET, BETTER_AUTH_URL) and an optional TOML file \
        (--config) whose keys are the flag names with '_' for '-'. Flags and variables win over the file.",
    after_help = "Example TOML file:\n  database_url = \"postgres://app@db/app?sslmode=require\"\n  \
        base_url = \"https://app.example.com\"\n  read_only = true\n  [tables]\n  user = \"users\"\n  \
        [columns]\n  \"user.emailVerified\" = \"email_verified\""
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub settings: SettingsArgs,
}

#[derive(Debug, Subcommand, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Serve gRPC (the default).
    Serve,
    /// Create Better Auth's schema (user, session, account, verification, jwks) in an empty database.
    Migrate,
}

layered! {
// No Debug: it holds secrets and the database URL as given.
// Serde reads the TOML file's plain keys; unknown keys are refused there by name.
#[derive(Args, Default, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SettingsArgs {
    /// TOML file with any of the settings below.
    #[arg(long, env = "BETTER_AUTH_GRPC_CONFIG", global = true)]
    #[serde(skip)]
    pub config: Option<PathBuf>,

    /// postgres://… (Neon: add ?sslmode=require) or sqlite://path. Unset: the embedded SQLite default.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Better Auth's secret (at least 32 bytes; the public default is refused). Prefer the variable.
    #[arg(
        long,
        env = "BETTER_AUTH_SECRET",
        global = true,
        hide_env_values = true
    )]
    pub secret: Option<String>,

    /// Versioned secrets "<version>:<secret>,…", first = current; wins over BETTER_AUTH_SECRET.
    #[arg(
        long,
        env = "BETTER_AUTH_SECRETS",
        global = true,
        hide_env_values = true
    )]
    pub secrets: Option<String>,

    /// Fallback secret when BETTER_AUTH_SECRET is unset (Better Auth reads it too).
    #[arg(long, env = "AUTH_SECRET", global = true, hide_env_values = true)]
    pub auth_secret: Option<String>,

    /// Better Auth's base URL; its origin is the JWT issuer/audience and https means __Secure- cookies.
    #[arg(long, env = "BETTER_AUTH_URL", global = true)]
    pub base_url: Option<String>,

    /// Address to serve gRPC on [default: 127.0.0.1:50051].
    #[arg(long, env = "LISTEN_ADDR", global = true)]
    pub listen_addr: Option<String>,

    /// PostgreSQL schema holding Better Auth's tables [default: the server's search_path].
    #[arg(long, env = "BETTER_AUTH_GRPC_PG_SCHEMA", global = true)]
    pub pg_schema: Option<String>,

    /// Table name override, model=table (models: user, session, jwks). Repeatable or comma-separated.
    #[arg(
        long = "table",
        env = "BETTER_AUTH_GRPC_TABLES",
        global = true,
        value_delimiter = ','
    )]
    // The file has a [tables] table instead (file-only structure, read apart).
    #[serde(skip)]
    pub tables: Vec<String>,

    /// Column name override, model.field=column (e.g. user.emailVerified=email_verified).
    #[arg(
        long = "column",
        env = "BETTER_AUTH_GRPC_COLUMNS",
        global = true,
        value_delimiter = ','
    )]
    // The file has a [columns] table instead (file-only structure, read apart).
    #[serde(skip)]
    pub columns: Vec<String>,

    /// Columns are snake_case (email_verified), as Prisma/Drizzle setups often map them [default: false].
    #[arg(long, env = "BETTER_AUTH_GRPC_SNAKE_CASE", global = true, num_args = 0..=1, default_missing_value = "true")]
    pub snake_case: Option<bool>,

    /// Tables are plural (users, sessions), like usePlural [default: false].
    #[arg(long, env = "BETTER_AUTH_GRPC_PLURAL", global = true, num_args = 0..=1, default_missing_value = "true")]
    pub plural: Option<bool>,

    /// Extra columns that are booleans stored as integers on SQLite, model.field (admin's user.banned is known).
    #[arg(
        long = "boolean-field",
        env = "BETTER_AUTH_GRPC_BOOLEAN_FIELDS",
        global = true,
        value_delimiter = ','
    )]
    pub boolean_fields: Vec<String>,

    /// Better Auth's advanced.cookiePrefix [default: better-auth].
    #[arg(long, env = "BETTER_AUTH_GRPC_COOKIE_PREFIX", global = true)]
    pub cookie_prefix: Option<String>,

    /// Full session cookie name, overriding prefix and __Secure- (advanced.cookies.session_token.name).
    #[arg(long, env = "BETTER_AUTH_GRPC_COOKIE_NAME", global = true)]
    pub cookie_name: Option<String>,

    /// __Secure- cookie prefix: auto (https base URL), true or false [default: auto].
    #[arg(long, env = "BETTER_AUTH_GRPC_SECURE_COOKIES", global = true)]
    pub secure_cookies: Option<String>,

    /// Better Auth's session.expiresIn in seconds [default: 604800].
    #[arg(long, env = "BETTER_AUTH_GRPC_SESSION_EXPIRES_IN", global = true)]
    pub session_expires_in: Option<i64>,

    /// Better Auth's session.updateAge in seconds [default: 86400].
    #[arg(long, env = "BETTER_AUTH_GRPC_SESSION_UPDATE_AGE", global = true)]
    pub session_update_age: Option<i64>,

    /// Like session.disableSessionRefresh: GetSession never extends sessions [default: false].
    #[arg(long, env = "BETTER_AUTH_GRPC_DISABLE_SESSION_REFRESH", global = true, num_args = 0..=1, default_missing_value = "true")]
    pub disable_session_refresh: Option<bool>,

    /// Never write to the database (read replicas): no refresh, no deletion of expired rows [default: false].
    #[arg(long, env = "BETTER_AUTH_GRPC_READ_ONLY", global = true, num_args = 0..=1, default_missing_value = "true")]
    pub read_only: Option<bool>,

    /// Opt-in cache of ValidateToken's session lookups: a found session is reused for this long,
    /// so a signed-out session may still be answered valid for up to this long (its maximum
    /// staleness; expiry is never stale). GetSession never uses it. 0 = off [default: 0, max 300000].
    #[arg(long, env = "BETTER_AUTH_GRPC_SESSION_CACHE_MS", global = true)]
    pub session_cache_ms: Option<u64>,

    /// Most sessions the session cache holds [default: 10000].
    #[arg(long, env = "BETTER_AUTH_GRPC_SESSION_CACHE_ENTRIES", global = true)]
    pub session_cache_entries: Option<u64>,

    /// Like bearer({ requireSignature: true }): refuse raw session tokens [default: false].
    #[arg(long, env = "BETTER_AUTH_GRPC_REQUIRE_SIGNATURE", global = true, num_args = 0..=1, default_missing_value = "true")]
    pub require_signature: Option<bool>,

    /// Largest credential accepted, in bytes [default: 8192].
    #[arg(long, env = "BETTER_AUTH_GRPC_MAX_TOKEN_BYTES", global = true)]
    pub max_token_bytes: Option<usize>,

    /// Database connection pool size [default: 10].
    #[arg(long, env = "BETTER_AUTH_GRPC_DB_MAX_CONNECTIONS", global = true)]
    pub db_max_connections: Option<u32>,

    /// Upper bound for one database call, in milliseconds; past it the call answers UNAVAILABLE [default: 3000].
    #[arg(long, env = "BETTER_AUTH_GRPC_DB_TIMEOUT_MS", global = true)]
    pub db_timeout_ms: Option<u64>,

    /// Named prepared statements, cached per connection. Set false behind a transaction-mode
    /// pooler (PgBouncer before 1.21, Supabase's pooler port 6543, RDS Proxy) [default: true].
    #[arg(long, env = "BETTER_AUTH_GRPC_DB_PREPARED_STATEMENTS", global = true, num_args = 0..=1, default_missing_value = "true")]
    pub db_prepared_statements: Option<bool>,

    /// Log filter (tracing EnvFilter syntax) [default: info].
    #[arg(long, env = "BETTER_AUTH_GRPC_LOG", global = true)]
    pub log: Option<String>,

    /// Alg of keys this service creates, and of jwks rows whose alg is NULL: EdDSA, ES256, ES512,
    /// RS256, PS256 (jwks.keyPairConfig.alg) [default: EdDSA].
    #[arg(long, env = "BETTER_AUTH_GRPC_JWT_ALG", global = true)]
    pub jwt_alg: Option<String>,

    /// JWT issuer (jwt.issuer) [default: the origin of BETTER_AUTH_URL].
    #[arg(long, env = "BETTER_AUTH_GRPC_JWT_ISSUER", global = true)]
    pub jwt_issuer: Option<String>,

    /// JWT audience(s) (jwt.audience); several make an array as in Better Auth [default: the origin].
    #[arg(
        long,
        env = "BETTER_AUTH_GRPC_JWT_AUDIENCE",
        global = true,
        value_delimiter = ','
    )]
    pub jwt_audience: Vec<String>,

    /// Lifetime of issued JWTs in seconds (jwt.expirationTime) [default: 900].
    #[arg(long, env = "BETTER_AUTH_GRPC_JWT_EXPIRATION", global = true)]
    pub jwt_expiration: Option<u64>,

    /// Longest lifetime an IssueToken request may ask for, in seconds [default: 3600].
    #[arg(long, env = "BETTER_AUTH_GRPC_JWT_MAX_LIFETIME", global = true)]
    pub jwt_max_lifetime: Option<u64>,

    /// Clock skew allowed on exp/nbf, in seconds; Better Auth allows none [default: 0].
    #[arg(long, env = "BETTER_AUTH_GRPC_JWT_LEEWAY", global = true)]
    pub jwt_leeway: Option<u64>,

    /// jwks.rotationInterval in seconds: keys this service creates expire after it [default: none].
    #[arg(long, env = "BETTER_AUTH_GRPC_JWT_ROTATION_INTERVAL", global = true)]
    pub jwt_rotation_interval: Option<u64>,

    /// Store private keys this service creates unencrypted (jwks.disablePrivateKeyEncryption) [default: false].
    #[arg(long, env = "BETTER_AUTH_GRPC_JWT_DISABLE_PRIVATE_KEY_ENCRYPTION", global = true, num_args = 0..=1, default_missing_value = "true")]
    pub jwt_disable_private_key_encryption: Option<bool>,

    /// Also accept HS256 JWTs signed with the Better Auth secret (apps minting their own) [default: false].
    #[arg(long, env = "BETTER_AUTH_GRPC_JWT_HS256_SHARED_SECRET", global = true, num_args = 0..=1, default_missing_value = "true")]
    pub jwt_hs256_shared_secret: Option<bool>,

    /// Verified JWTs remembered by SHA-256 of the token, so a repeated token skips the signature
    /// check; entries end at the token's exp and are dropped when the jwks keys change. 0 = off
    /// [default: 10000].
    #[arg(
        long,
        env = "BETTER_AUTH_GRPC_JWT_VERIFIED_CACHE_ENTRIES",
        global = true
    )]
    pub jwt_verified_cache_entries: Option<u64>,

    /// Least time between two reloads of the jwks table caused by unknown kids, in ms [default: 5000].
    #[arg(long, env = "BETTER_AUTH_GRPC_JWT_RELOAD_COOLDOWN_MS", global = true)]
    pub jwt_reload_cooldown_ms: Option<u64>,

    /// After a JWT verifies, check that its user still exists and is not banned (admin plugin) [default: false].
    #[arg(long, env = "BETTER_AUTH_GRPC_JWT_CHECK_USER", global = true, num_args = 0..=1, default_missing_value = "true")]
    pub jwt_check_user: Option<bool>,

    /// How long a user looked up by --jwt-check-user is reused: the maximum staleness of that check, in ms, at most 3600000 [default: 5000].
    #[arg(long, env = "BETTER_AUTH_GRPC_JWT_USER_CACHE_MS", global = true)]
    pub jwt_user_cache_ms: Option<u64>,

    /// Largest request message accepted, in bytes; a larger one is refused unread with
    /// RESOURCE_EXHAUSTED [default: 65536].
    #[arg(long, env = "BETTER_AUTH_GRPC_MAX_MESSAGE_BYTES", global = true)]
    pub max_message_bytes: Option<usize>,

    /// AuthService calls served at once over all connections; beyond it calls are refused at once
    /// with RESOURCE_EXHAUSTED instead of queueing [default: 256].
    #[arg(long, env = "BETTER_AUTH_GRPC_MAX_CONCURRENT_REQUESTS", global = true)]
    pub max_concurrent_requests: Option<usize>,

    /// Deadline of a call whose caller sends no grpc-timeout, and cap of one it sends, in ms [default: 5000].
    #[arg(long, env = "BETTER_AUTH_GRPC_REQUEST_TIMEOUT_MS", global = true)]
    pub request_timeout_ms: Option<u64>,

    /// On SIGTERM, how long in-flight calls may finish before the process exits anyway, in ms [default: 10000].
    #[arg(long, env = "BETTER_AUTH_GRPC_DRAIN_TIMEOUT_MS", global = true)]
    pub drain_timeout_ms: Option<u64>,

    /// HTTP/2 streams (calls) one connection may have open at once, advertised in SETTINGS;
    /// more are refused with REFUSED_STREAM [default: 100].
    #[arg(long, env = "BETTER_AUTH_GRPC_MAX_CONCURRENT_STREAMS", global = true)]
    pub max_concurrent_streams: Option<u32>,

    /// Streams of one connection the server may reset for the client's protocol errors before it
    /// closes the connection with GOAWAY (MadeYouReset mitigation) [default: 1024].
    #[arg(
        long,
        env = "BETTER_AUTH_GRPC_HTTP2_MAX_LOCAL_ERROR_RESET_STREAMS",
        global = true
    )]
    pub http2_max_local_error_reset_streams: Option<usize>,

    /// Streams of one connection reset by the client before the server accepted them; beyond it
    /// the connection is closed with GOAWAY (Rapid Reset mitigation) [default: 20].
    #[arg(
        long,
        env = "BETTER_AUTH_GRPC_HTTP2_MAX_PENDING_ACCEPT_RESET_STREAMS",
        global = true
    )]
    pub http2_max_pending_accept_reset_streams: Option<usize>,

    /// HTTP/2 PING sent after this long without a frame from the client, in ms; 0 = off [default: 60000].
    #[arg(long, env = "BETTER_AUTH_GRPC_HTTP2_KEEPALIVE_INTERVAL_MS", global = true)]
    pub http2_keepalive_interval_ms: Option<u64>,

    /// A connection whose client does not answer a keepalive PING within this is closed, in ms [default: 20000].
    #[arg(long, env = "BETTER_AUTH_GRPC_HTTP2_KEEPALIVE_TIMEOUT_MS", global = true)]
    pub http2_keepalive_timeout_ms: Option<u64>,

    /// Client connections open at once; a connection beyond it is closed as soon as it is
    /// accepted, and calls on the open ones go on [default: 4096].
    #[arg(long, env = "BETTER_AUTH_GRPC_MAX_CONNECTIONS", global = true)]
    pub max_connections: Option<usize>,

    /// A connection with no call in progress for this long is closed, in ms; 0 = never [default: 300000].
    #[arg(long, env = "BETTER_AUTH_GRPC_CONNECTION_IDLE_TIMEOUT_MS", global = true)]
    pub connection_idle_timeout_ms: Option<u64>,

    /// A client that has not sent the HTTP/2 preface (plaintext) or finished the TLS handshake
    /// this long after connecting is disconnected, in ms [default: 10000].
    #[arg(long, env = "BETTER_AUTH_GRPC_HANDSHAKE_TIMEOUT_MS", global = true)]
    pub handshake_timeout_ms: Option<u64>,

    /// Health Watch streams open at once over all connections; more are refused with
    /// RESOURCE_EXHAUSTED [default: 256].
    #[arg(long, env = "BETTER_AUTH_GRPC_MAX_HEALTH_WATCH_STREAMS", global = true)]
    pub max_health_watch_streams: Option<usize>,

    /// PEM certificate chain: serve gRPC over TLS (with --tls-key) [default: plaintext].
    #[arg(long, env = "BETTER_AUTH_GRPC_TLS_CERT", global = true)]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of --tls-cert.
    #[arg(long, env = "BETTER_AUTH_GRPC_TLS_KEY", global = true)]
    pub tls_key: Option<PathBuf>,

    /// PEM CA certificate(s): mutual TLS, clients must present a certificate it signed.
    #[arg(long, env = "BETTER_AUTH_GRPC_TLS_CLIENT_CA", global = true)]
    pub tls_client_ca: Option<PathBuf>,

    /// Better Auth's session.cookieCache: answer from a valid session_data cookie without the
    /// database: off, compact, jwt, jwe or auto (told by the value's shape) [default: off].
    #[arg(long, env = "BETTER_AUTH_GRPC_COOKIE_CACHE", global = true)]
    pub cookie_cache: Option<String>,
}
}
