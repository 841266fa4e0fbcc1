//! The pure domain: credentials, signatures, sessions. No tonic, no sqlx.
pub mod callers;
pub mod cookie;
pub mod cookie_cache;
pub mod credential;
pub mod error;
pub mod feed;
pub mod fresh_user;
pub mod gateway;
pub mod issue;
pub mod policy;
pub mod session;
pub mod session_cache;
pub mod signature;
pub mod validate;
