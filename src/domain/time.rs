//! Time as Better Auth stores it.
use chrono::{DateTime, Utc};

/// JavaScript dates have millisecond precision; keep ours comparable with Better Auth's rows.
pub fn millis(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}
