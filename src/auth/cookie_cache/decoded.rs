//! What each strategy hands to get-session's acceptance rules.
use serde_json::{Map, Value};

/// A cookie cache that decoded and verified, before Better Auth's acceptance rules.
pub struct Decoded {
    /// `{session, user, updatedAt, version}` (plus a JWT's own claims).
    pub payload: Map<String, Value>,
    /// Milliseconds: compact's `expiresAt`, or a JWT's `exp * 1000` (now when it has none).
    pub expires_at_ms: f64,
}
