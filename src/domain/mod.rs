//! Shared domain types: rows as Better Auth writes them, refusal reasons, secrets, and the
//! millisecond clock arithmetic JavaScript dates impose. A leaf: it imports nothing from the
//! crate, so every layer (grpc, auth, token, store) may use it.
pub mod change;
pub mod metric;
pub mod model;
pub mod reason;
pub mod secret;
pub mod time;
