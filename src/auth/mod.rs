//! The pure domain: credentials, signatures, sessions. No tonic, no sqlx.
pub mod cookie;
pub mod credential;
pub mod error;
pub mod model;
pub mod reason;
pub mod secret;
pub mod session;
pub mod signature;
pub mod validate;
