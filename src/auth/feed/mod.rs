//! The change feed's consumer: applies each committed change to every cache that depends on
//! it, then passes it on to WatchSessions subscribers, in that order. The feed itself (triggers,
//! LISTEN, SQLite's data_version) lives in `store::feed`.
pub mod apply;
pub mod gate;

pub use apply::{Caches, Feed};
pub use gate::{FeedState, Gate};
