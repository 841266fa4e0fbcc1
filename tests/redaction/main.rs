//! Secrets never reach logs, error statuses or Debug output.
//!
//! The real binary runs with `BETTER_AUTH_GRPC_LOG=trace` (every crate at TRACE: tonic, h2,
//! hyper, sqlx...) and its stderr is kept. The test drives every failing path it can reach over
//! gRPC, restarts the server with a wrong secret and with bad settings, and then greps
//! everything the server wrote to stderr, and every status (message, details, metadata) and
//! every refusal it answered, for each secret the test used: BETTER_AUTH_SECRET, the API keys,
//! session tokens raw and signed, cookie values, JWTs and their signature segments, and the
//! private JWK's `d`. Valid answers are not checked: ValidateToken and GetSession return the
//! session row (token included) by design, like Better Auth's get-session.
#[path = "../common/mod.rs"]
mod common;

mod binary;
mod calls;
mod debug;
mod denied;
mod failing_paths;
mod grep;
mod jwts;
mod sessions;
mod settings;
mod tls;
mod unreachable;

const SECRET: &str = "redaction-SECRET-value-0123456789-abcdefghij";
const WRONG_SECRET: &str = "redaction-WRONG-secret-9876543210-zyxwvutsrq";
const API_KEY: &str = "redaction-API-KEY-5f2b9c0d1e-caller";
const WRONG_API_KEY: &str = "redaction-WRONG-API-KEY-77aa01";
const DB_PASSWORD: &str = "redaction-DB-PASSWORD-31c7";
const ORIGIN: &str = "http://localhost:3000";
const CALLER_AUDIENCE: &str = "redaction-aud";
const COOKIE: &str = "better-auth.session_token";
/// Better Auth's cookie cache, which this service ignores: its value is still a secret.
const SESSION_DATA: &str =
    "eyJzZXNzaW9uIjp7InRva2VuIjoiY29va2llLWNhY2hlLVNFQ1JFVCJ9fQ.c2lnbmF0dXJl";
