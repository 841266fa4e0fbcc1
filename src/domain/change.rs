//! What the change feed reports: rows of Better Auth's tables that changed, and the feed's own
//! state. Caches act on these; WatchSessions passes them on.

/// A committed change of a row a cached answer depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A session row was deleted or updated; keyed by SHA-256 of its token, never the token.
    Session {
        token_sha256: [u8; 32],
        user_id: String,
    },
    /// A user row was deleted or updated.
    User { user_id: String },
    /// The jwks table changed.
    Keys,
    /// Some row changed and the feed cannot say which (SQLite).
    Any,
}

/// What the feed tells its consumer, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedSignal {
    /// Subscribed and confirmed end to end: from now on every change is reported.
    Live,
    /// The feed works but the database has no triggers: nothing will be reported.
    NotInstalled,
    /// The feed's connection or heartbeat was lost: changes may have been missed.
    Lost,
    Changed(Change),
}
