//! Defaults that more than one concern (and the embedded default) names.

/// The embedded default's files, in the working directory.
pub const DEFAULT_SQLITE_FILE: &str = "better-auth-grpc.sqlite";
pub const DEFAULT_SECRET_FILE: &str = "better-auth-grpc.secret";
pub const DEFAULT_API_KEY_FILE: &str = "better-auth-grpc.api-key";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";
