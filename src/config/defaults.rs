//! Defaults that more than one concern (and the embedded default) names.

/// The embedded default's files, in the working directory.
pub const DEFAULT_SQLITE_FILE: &str = "better-auth-grpc.sqlite";
pub const DEFAULT_SECRET_FILE: &str = "better-auth-grpc.secret";
pub const DEFAULT_API_KEY_FILE: &str = "better-auth-grpc.api-key";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";

/// How long the session cache keeps an entry under `--session-cache-ms auto` with the change
/// feed live: changes drop entries sooner; this bounds what no trigger reports (a row edited
/// with the triggers disabled) and keeps idle sessions from holding memory.
pub const FEED_SESSION_CACHE: std::time::Duration = std::time::Duration::from_secs(600);
