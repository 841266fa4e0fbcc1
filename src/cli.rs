//! Command line. Every setting is declared once, as a field of `SettingsArgs`: its flag, its
//! environment variable, its `--help` text, its default and the parser that checks its value,
//! and (the field's name) its key in the optional TOML file. Clap carries the file too
//! (`config::file`): a key's value becomes its setting's default, so a flag or variable wins
//! over the file, and a file value passes the same parser as a flag's.
use std::{ffi::OsString, net::SocketAddr, path::PathBuf};

use clap::builder::RangedU64ValueParser;
use clap::{value_parser, ArgAction, Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::config::defaults::DEFAULT_LISTEN;
use crate::config::error::ConfigError;
use crate::config::file::{self, FileStructures};

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
    Migrate {
        /// Also install the change feed's triggers (PostgreSQL): each replica then drops a
        /// signed-out session, a changed user or a changed key from its caches at once.
        #[arg(long)]
        change_feed: bool,
    },
}

/// Why a command line cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Clap's own: a usage error, a value its parser refuses, or `--help`/`--version`.
    #[error(transparent)]
    Clap(#[from] clap::Error),
    /// The TOML file named by `--config`.
    #[error(transparent)]
    File(#[from] ConfigError),
}

impl Cli {
    /// The process's command line over the TOML file it names over each setting's default.
    /// A refused value is a `ConfigError` naming its setting, as every other bad setting is;
    /// clap's other errors (and `--help`) are printed and exit here, as `Parser::parse` does.
    pub fn parse_layered() -> Result<Self, ConfigError> {
        match Self::try_parse_layered(Self::command(), std::env::args_os()) {
            Ok(cli) => Ok(cli),
            Err(ParseError::Clap(e)) => match ConfigError::from_clap(&e, &Self::command()) {
                Some(refused) => Err(refused),
                None => e.exit(),
            },
            Err(ParseError::File(e)) => Err(e),
        }
    }

    /// `args` (program name first) parsed by `command` once to find `--config`, then again with
    /// that file's values as the settings' defaults.
    pub fn try_parse_layered<I>(command: clap::Command, args: I) -> Result<Self, ParseError>
    where
        I: IntoIterator,
        I::Item: Into<OsString>,
    {
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let first = Self::from_arg_matches(&command.clone().try_get_matches_from(&args)?)?;
        let Some(path) = first.settings.config.clone() else {
            return Ok(first);
        };
        let (command, structures) = file::apply(command, &path)?;
        let mut cli = Self::from_arg_matches(&command.try_get_matches_from(&args)?)?;
        cli.settings.file = structures;
        Ok(cli)
    }
}

/// The settings. A setting with a default is its plain type; one without is an `Option`.
// No Debug: it holds secrets and the database URL as given.
#[derive(Args, Clone)]
pub struct SettingsArgs {
    /// TOML file with any of the settings below.
    #[arg(long, env = "BETTER_AUTH_GRPC_CONFIG", global = true)]
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

    /// Address to serve gRPC on.
    #[arg(
        long,
        env = "LISTEN_ADDR",
        global = true,
        default_value = DEFAULT_LISTEN
    )]
    pub listen_addr: SocketAddr,

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
    // The file has a [tables] table instead, merged key by key under these.
    pub tables: Vec<String>,

    /// Column name override, model.field=column (e.g. user.emailVerified=email_verified).
    #[arg(
        long = "column",
        env = "BETTER_AUTH_GRPC_COLUMNS",
        global = true,
        value_delimiter = ','
    )]
    // The file has a [columns] table instead, merged key by key under these.
    pub columns: Vec<String>,

    /// Columns are snake_case (email_verified), as Prisma/Drizzle setups often map them.
    #[arg(long, env = "BETTER_AUTH_GRPC_SNAKE_CASE", global = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", default_value_t = false)]
    pub snake_case: bool,

    /// Tables are plural (users, sessions), like usePlural.
    #[arg(long, env = "BETTER_AUTH_GRPC_PLURAL", global = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", default_value_t = false)]
    pub plural: bool,

    /// Extra columns that are booleans stored as integers on SQLite, model.field (admin's user.banned is known).
    #[arg(
        long = "boolean-field",
        env = "BETTER_AUTH_GRPC_BOOLEAN_FIELDS",
        global = true,
        value_delimiter = ','
    )]
    pub boolean_fields: Vec<String>,

    /// Better Auth's advanced.cookiePrefix.
    #[arg(
        long,
        env = "BETTER_AUTH_GRPC_COOKIE_PREFIX",
        global = true,
        default_value = "better-auth"
    )]
    pub cookie_prefix: String,

    /// Full session cookie name, overriding prefix and __Secure- (advanced.cookies.session_token.name).
    #[arg(long, env = "BETTER_AUTH_GRPC_COOKIE_NAME", global = true)]
    pub cookie_name: Option<String>,

    /// __Secure- cookie prefix: auto (an https base URL), true or false.
    #[arg(long, env = "BETTER_AUTH_GRPC_SECURE_COOKIES", global = true, default_value = "auto", value_parser = ["auto", "true", "false"])]
    pub secure_cookies: String,

    /// Better Auth's session.expiresIn in seconds (at most ten years).
    #[arg(long, env = "BETTER_AUTH_GRPC_SESSION_EXPIRES_IN", global = true, default_value_t = 604_800, value_parser = value_parser!(i64).range(0..=TEN_YEARS))]
    pub session_expires_in: i64,

    /// Better Auth's session.updateAge in seconds (at most ten years).
    #[arg(long, env = "BETTER_AUTH_GRPC_SESSION_UPDATE_AGE", global = true, default_value_t = 86_400, value_parser = value_parser!(i64).range(0..=TEN_YEARS))]
    pub session_update_age: i64,

    /// Like session.disableSessionRefresh: GetSession never extends sessions.
    #[arg(long, env = "BETTER_AUTH_GRPC_DISABLE_SESSION_REFRESH", global = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", default_value_t = false)]
    pub disable_session_refresh: bool,

    /// Never write to the database (read replicas): no refresh, no deletion of expired rows.
    #[arg(long, env = "BETTER_AUTH_GRPC_READ_ONLY", global = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", default_value_t = false)]
    pub read_only: bool,

    /// Cache of ValidateToken's session lookups. auto: on PostgreSQL while the change feed is
    /// live (a sign-out is dropped from it at once; entries kept 10 min), else off. A number of
    /// ms: also a maximum staleness where no feed is installed (a signed-out session may be
    /// answered valid that long). 0 = off. Expiry is never stale; GetSession never uses it.
    #[arg(long, env = "BETTER_AUTH_GRPC_SESSION_CACHE_MS", global = true, default_value = "auto", value_parser = cache_ms)]
    pub session_cache_ms: CacheMs,

    /// Most sessions the session cache holds.
    #[arg(long, env = "BETTER_AUTH_GRPC_SESSION_CACHE_ENTRIES", global = true, default_value_t = 10_000, value_parser = value_parser!(u64).range(0..=10_000_000))]
    pub session_cache_entries: u64,

    /// Like bearer({ requireSignature: true }): refuse raw session tokens.
    #[arg(long, env = "BETTER_AUTH_GRPC_REQUIRE_SIGNATURE", global = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", default_value_t = false)]
    pub require_signature: bool,

    /// Largest credential accepted, in bytes.
    #[arg(long, env = "BETTER_AUTH_GRPC_MAX_TOKEN_BYTES", global = true, default_value_t = 8192, value_parser = usize_in(64..=1 << 20))]
    pub max_token_bytes: usize,

    /// Database connection pool size.
    #[arg(long, env = "BETTER_AUTH_GRPC_DB_MAX_CONNECTIONS", global = true, default_value_t = 10, value_parser = value_parser!(u32).range(1..=1000))]
    pub db_max_connections: u32,

    /// PostgreSQL: session lookups in flight at once (at most --db-max-connections); lookups
    /// that arrive while all are out go together in the next query.
    #[arg(long, env = "BETTER_AUTH_GRPC_DB_LOOKUP_LANES", global = true, default_value_t = 2, value_parser = value_parser!(u32).range(1..=1000))]
    pub db_lookup_lanes: u32,

    /// Upper bound for one database call, in milliseconds; past it the call answers UNAVAILABLE.
    #[arg(long, env = "BETTER_AUTH_GRPC_DB_TIMEOUT_MS", global = true, default_value_t = 3000, value_parser = value_parser!(u64).range(10..=600_000))]
    pub db_timeout_ms: u64,

    /// Named prepared statements, cached per connection. Set false behind a transaction-mode
    /// pooler (PgBouncer before 1.21, Supabase's pooler port 6543, RDS Proxy).
    #[arg(long, env = "BETTER_AUTH_GRPC_DB_PREPARED_STATEMENTS", global = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", default_value_t = true)]
    pub db_prepared_statements: bool,

    /// Log filter (tracing EnvFilter syntax).
    #[arg(
        long,
        env = "BETTER_AUTH_GRPC_LOG",
        global = true,
        default_value = "info"
    )]
    pub log: String,

    /// Alg of keys this service creates, and of jwks rows whose alg is NULL (jwks.keyPairConfig.alg).
    #[arg(long, env = "BETTER_AUTH_GRPC_JWT_ALG", global = true, default_value = "EdDSA", value_parser = ["EdDSA", "ES256", "ES512", "RS256", "PS256"])]
    pub jwt_alg: String,

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

    /// Lifetime of issued JWTs in seconds (jwt.expirationTime).
    #[arg(long, env = "BETTER_AUTH_GRPC_JWT_EXPIRATION", global = true, default_value_t = 900, value_parser = value_parser!(u64).range(1..=JWT_MAX_SECONDS))]
    pub jwt_expiration: u64,

    /// Longest lifetime an IssueToken request may ask for, in seconds.
    #[arg(long, env = "BETTER_AUTH_GRPC_JWT_MAX_LIFETIME", global = true, default_value_t = 3600, value_parser = value_parser!(u64).range(0..=JWT_MAX_SECONDS))]
    pub jwt_max_lifetime: u64,

    /// Clock skew allowed on exp/nbf, in seconds; Better Auth allows none.
    #[arg(long, env = "BETTER_AUTH_GRPC_JWT_LEEWAY", global = true, default_value_t = 0, value_parser = value_parser!(u64).range(0..=3600))]
    pub jwt_leeway: u64,

    /// jwks.rotationInterval in seconds: keys this service creates expire after it [default: none].
    #[arg(long, env = "BETTER_AUTH_GRPC_JWT_ROTATION_INTERVAL", global = true)]
    pub jwt_rotation_interval: Option<u64>,

    /// Store private keys this service creates unencrypted (jwks.disablePrivateKeyEncryption).
    #[arg(long, env = "BETTER_AUTH_GRPC_JWT_DISABLE_PRIVATE_KEY_ENCRYPTION", global = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", default_value_t = false)]
    pub jwt_disable_private_key_encryption: bool,

    /// Also accept HS256 JWTs signed with the Better Auth secret (apps minting their own).
    #[arg(long, env = "BETTER_AUTH_GRPC_JWT_HS256_SHARED_SECRET", global = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", default_value_t = false)]
    pub jwt_hs256_shared_secret: bool,

    /// Verified JWTs remembered by SHA-256 of the token, so a repeated token skips the signature
    /// check; entries end at the token's exp and are dropped when the jwks keys change. 0 = off.
    #[arg(
        long,
        env = "BETTER_AUTH_GRPC_JWT_VERIFIED_CACHE_ENTRIES",
        global = true,
        default_value_t = 10_000,
        value_parser = value_parser!(u64).range(0..=10_000_000)
    )]
    pub jwt_verified_cache_entries: u64,

    /// Least time between two reloads of the jwks table caused by unknown kids, in ms.
    #[arg(long, env = "BETTER_AUTH_GRPC_JWT_RELOAD_COOLDOWN_MS", global = true, default_value_t = 5000, value_parser = value_parser!(u64).range(0..=3_600_000))]
    pub jwt_reload_cooldown_ms: u64,

    /// After a JWT verifies, check that its user still exists and is not banned (admin plugin).
    #[arg(long, env = "BETTER_AUTH_GRPC_JWT_CHECK_USER", global = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", default_value_t = false)]
    pub jwt_check_user: bool,

    /// How long a user looked up by --jwt-check-user is reused: the maximum staleness of that
    /// check, in ms.
    // An hour at most, and so far below moka's limit, which panics at start-up instead of refusing.
    #[arg(long, env = "BETTER_AUTH_GRPC_JWT_USER_CACHE_MS", global = true, default_value_t = 5000, value_parser = value_parser!(u64).range(0..=3_600_000))]
    pub jwt_user_cache_ms: u64,

    /// Largest request message accepted, in bytes (at least max_token_bytes + 1024); a larger
    /// one is refused unread with RESOURCE_EXHAUSTED.
    #[arg(long, env = "BETTER_AUTH_GRPC_MAX_MESSAGE_BYTES", global = true, default_value_t = 64 << 10, value_parser = usize_in(1024..=64 << 20))]
    pub max_message_bytes: usize,

    /// AuthService calls served at once over all connections; beyond it calls are refused at once
    /// with RESOURCE_EXHAUSTED instead of queueing.
    #[arg(long, env = "BETTER_AUTH_GRPC_MAX_CONCURRENT_REQUESTS", global = true, default_value_t = 256, value_parser = usize_in(1..=100_000))]
    pub max_concurrent_requests: usize,

    /// Deadline of a call whose caller sends no grpc-timeout, and cap of one it sends, in ms.
    #[arg(long, env = "BETTER_AUTH_GRPC_REQUEST_TIMEOUT_MS", global = true, default_value_t = 5000, value_parser = value_parser!(u64).range(10..=HOUR_MS))]
    pub request_timeout_ms: u64,

    /// On SIGTERM, how long in-flight calls may finish before the process exits anyway, in ms.
    #[arg(long, env = "BETTER_AUTH_GRPC_DRAIN_TIMEOUT_MS", global = true, default_value_t = 10_000, value_parser = value_parser!(u64).range(0..=HOUR_MS))]
    pub drain_timeout_ms: u64,

    /// HTTP/2 streams (calls) one connection may have open at once, advertised in SETTINGS;
    /// more are refused with REFUSED_STREAM. RFC 9113 asks for at least 100.
    #[arg(long, env = "BETTER_AUTH_GRPC_MAX_CONCURRENT_STREAMS", global = true, default_value_t = 100, value_parser = value_parser!(u32).range(1..=10_000))]
    pub max_concurrent_streams: u32,

    /// Streams of one connection the server may reset for the client's protocol errors before it
    /// closes the connection with GOAWAY (MadeYouReset mitigation; hyper's default, which tonic
    /// turns off).
    #[arg(
        long,
        env = "BETTER_AUTH_GRPC_HTTP2_MAX_LOCAL_ERROR_RESET_STREAMS",
        global = true,
        default_value_t = 1024,
        value_parser = usize_in(1..=MAX_COUNT)
    )]
    pub http2_max_local_error_reset_streams: usize,

    /// Streams of one connection reset by the client before the server accepted them; beyond it
    /// the connection is closed with GOAWAY (Rapid Reset mitigation; h2's default).
    #[arg(
        long,
        env = "BETTER_AUTH_GRPC_HTTP2_MAX_PENDING_ACCEPT_RESET_STREAMS",
        global = true,
        default_value_t = 20,
        value_parser = usize_in(1..=MAX_COUNT)
    )]
    pub http2_max_pending_accept_reset_streams: usize,

    /// HTTP/2 PING sent after this long without a frame from the client, in ms; 0 = off.
    #[arg(long, env = "BETTER_AUTH_GRPC_HTTP2_KEEPALIVE_INTERVAL_MS", global = true, default_value_t = 60_000, value_parser = value_parser!(u64).range(0..=HOUR_MS))]
    pub http2_keepalive_interval_ms: u64,

    /// A connection whose client does not answer a keepalive PING within this is closed, in ms.
    #[arg(long, env = "BETTER_AUTH_GRPC_HTTP2_KEEPALIVE_TIMEOUT_MS", global = true, default_value_t = 20_000, value_parser = value_parser!(u64).range(10..=HOUR_MS))]
    pub http2_keepalive_timeout_ms: u64,

    /// Client connections open at once; a connection beyond it is closed as soon as it is
    /// accepted, and calls on the open ones go on.
    #[arg(long, env = "BETTER_AUTH_GRPC_MAX_CONNECTIONS", global = true, default_value_t = 4096, value_parser = usize_in(1..=MAX_COUNT))]
    pub max_connections: usize,

    /// A connection with no call in progress for this long is closed, in ms; 0 = never.
    #[arg(long, env = "BETTER_AUTH_GRPC_CONNECTION_IDLE_TIMEOUT_MS", global = true, default_value_t = 300_000, value_parser = value_parser!(u64).range(0..=HOUR_MS))]
    pub connection_idle_timeout_ms: u64,

    /// A client that has not sent the HTTP/2 preface (plaintext) or finished the TLS handshake
    /// this long after connecting is disconnected, in ms.
    #[arg(long, env = "BETTER_AUTH_GRPC_HANDSHAKE_TIMEOUT_MS", global = true, default_value_t = 10_000, value_parser = value_parser!(u64).range(10..=HOUR_MS))]
    pub handshake_timeout_ms: u64,

    /// Health Watch streams open at once over all connections; more are refused with
    /// RESOURCE_EXHAUSTED.
    #[arg(long, env = "BETTER_AUTH_GRPC_MAX_HEALTH_WATCH_STREAMS", global = true, default_value_t = 256, value_parser = usize_in(1..=MAX_COUNT))]
    pub max_health_watch_streams: usize,

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
    /// database: off, compact, jwt, jwe or auto (told by the value's shape).
    #[arg(long, env = "BETTER_AUTH_GRPC_COOKIE_CACHE", global = true, default_value = "off", value_parser = ["off", "compact", "jwt", "jwe", "auto"])]
    pub cookie_cache: String,

    /// The change feed: auto = PostgreSQL LISTENs to the triggers of `migrate --change-feed`
    /// once installed, SQLite polls data_version; off = no feed (caches as without triggers).
    #[arg(long, env = "BETTER_AUTH_GRPC_FOLLOW_CHANGES", global = true, default_value = "auto", value_parser = ["auto", "off"])]
    pub follow_changes: String,

    /// PostgreSQL URL the change feed LISTENs on (default DATABASE_URL). Must not go through a
    /// transaction-mode pooler (Neon: the direct, non -pooler endpoint).
    #[arg(long, env = "BETTER_AUTH_GRPC_LISTEN_DATABASE_URL", global = true)]
    pub listen_database_url: Option<String>,

    /// How often the change feed proves itself end to end; three missed beats count as lost.
    #[arg(long, env = "BETTER_AUTH_GRPC_CHANGE_FEED_HEARTBEAT_MS", global = true, default_value_t = 500, value_parser = value_parser!(u64).range(50..=60_000))]
    pub change_feed_heartbeat_ms: u64,

    /// Log lines on stderr: text (human-readable) or json (one JSON object per line, the same
    /// fields, for log shippers).
    #[arg(long, env = "BETTER_AUTH_GRPC_LOG_FORMAT", global = true, default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,

    /// Serve Prometheus metrics on this address at `/metrics`, its own listener [default: off].
    #[arg(long, env = "BETTER_AUTH_GRPC_METRICS_ADDR", global = true)]
    pub metrics_addr: Option<SocketAddr>,

    /// Serve the HTTP forward-auth endpoint (nginx auth_request, Caddy forward_auth, Traefik
    /// ForwardAuth, Envoy's HTTP ext_authz) on this address [default: off].
    #[arg(long, env = "BETTER_AUTH_GRPC_HTTP_AUTH_ADDR", global = true)]
    pub http_auth_addr: Option<SocketAddr>,

    /// Gateway mode's identity headers are <prefix>user-id, <prefix>user-email,
    /// <prefix>user-name and <prefix>session-id.
    #[arg(
        long,
        env = "BETTER_AUTH_GRPC_GATEWAY_HEADER_PREFIX",
        global = true,
        default_value = "x-"
    )]
    pub gateway_header_prefix: String,

    /// Gateway mode: also send the upstream `authorization: Bearer <JWT>`, minted as IssueToken
    /// mints, with this audience [default: off].
    #[arg(long, env = "BETTER_AUTH_GRPC_GATEWAY_JWT_AUDIENCE", global = true)]
    pub gateway_jwt_audience: Option<String>,

    /// Lifetime of that upstream JWT, in seconds (at most jwt_max_lifetime).
    #[arg(long, env = "BETTER_AUTH_GRPC_GATEWAY_JWT_LIFETIME", global = true, default_value_t = 60, value_parser = value_parser!(u64).range(1..=JWT_MAX_SECONDS))]
    pub gateway_jwt_lifetime: u64,

    /// A client connection open this long gets GOAWAY: its calls in progress finish and the
    /// client reconnects, reaching replicas added since, in ms; 0 = never.
    #[arg(long, env = "BETTER_AUTH_GRPC_MAX_CONNECTION_AGE_MS", global = true, default_value_t = 1_800_000, value_parser = value_parser!(u64).range(0..=DAY_MS))]
    pub max_connection_age_ms: u64,

    /// The file's `[tables]`, `[columns]` and `[[callers]]`, `[[policies]]`: structures no flag has.
    #[arg(skip)]
    pub file: FileStructures,
}

/// `--session-cache-ms`: `auto` or a number of milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CacheMs {
    #[default]
    Auto,
    Ms(u64),
}

/// The most a chosen staleness may be.
const MAX_CACHE_MS: u64 = 300_000;

fn cache_ms(v: &str) -> Result<CacheMs, String> {
    if v == "auto" {
        return Ok(CacheMs::Auto);
    }
    match v.parse::<u64>() {
        Ok(ms) if ms <= MAX_CACHE_MS => Ok(CacheMs::Ms(ms)),
        _ => Err(format!("expected auto or 0..={MAX_CACHE_MS} (ms)")),
    }
}

const TEN_YEARS: i64 = 10 * 365 * 86_400;
/// A JWT lives at most a leap year.
const JWT_MAX_SECONDS: u64 = 366 * 86_400;
const HOUR_MS: u64 = 3_600_000;
const DAY_MS: u64 = 24 * HOUR_MS;
/// Limits are counts of at least 1 (0 would refuse everything) and at most this.
const MAX_COUNT: u64 = 1_000_000;

/// A count held in a `usize`, within `range`.
fn usize_in(range: std::ops::RangeInclusive<u64>) -> RangedU64ValueParser<usize> {
    RangedU64ValueParser::new().range(range)
}
