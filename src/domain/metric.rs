//! The names and recorders of the domain's metrics, in one place (docs/observability.md lists
//! them). Recording goes through the `metrics` facade: a no-op until `--metrics-addr` installs
//! the Prometheus recorder, then atomic counters. Labels are `&'static str` only, so no token,
//! email or user id can become one and the hot path allocates nothing for them.

/// Per RPC, as go-grpc-prometheus names them (recorded by `grpc::metrics`).
pub const STARTED: &str = "grpc_server_started_total";
pub const HANDLED: &str = "grpc_server_handled_total";
pub const HANDLING_SECONDS: &str = "grpc_server_handling_seconds";

pub const VALIDATIONS: &str = "better_auth_grpc_validations_total";
pub const ISSUED: &str = "better_auth_grpc_issue_token_total";
pub const CACHE_HITS: &str = "better_auth_grpc_cache_hits_total";
pub const CACHE_MISSES: &str = "better_auth_grpc_cache_misses_total";
pub const CACHE_EVICTIONS: &str = "better_auth_grpc_cache_evictions_total";
pub const SHED: &str = "better_auth_grpc_shed_calls_total";
pub const DEADLINE_CUTS: &str = "better_auth_grpc_deadline_cuts_total";
pub const KEY_DECRYPTION_FAILURES: &str = "better_auth_grpc_key_decryption_failures_total";
pub const DB_QUERY_SECONDS: &str = "better_auth_grpc_db_query_duration_seconds";
pub const DB_UNAVAILABLE: &str = "better_auth_grpc_db_unavailable_total";

/// The caches whose lookups are counted.
pub const SESSION_CACHE: &str = "session";
pub const VERIFIED_JWT_CACHE: &str = "verified_jwt";
pub const USER_CACHE: &str = "jwt_user";

pub fn cache_lookup(cache: &'static str, hit: bool) {
    let name = if hit { CACHE_HITS } else { CACHE_MISSES };
    metrics::counter!(name, "cache" => cache).increment(1);
}

/// For moka's eviction listener: entries pushed out by size, not the ones expired or replaced.
pub fn cache_eviction(cache: &'static str, cause: moka::notification::RemovalCause) {
    if cause == moka::notification::RemovalCause::Size {
        metrics::counter!(CACHE_EVICTIONS, "cache" => cache).increment(1);
    }
}

/// A private key in the jwks table that no configured secret decrypts.
pub fn key_decryption_failed() {
    metrics::counter!(KEY_DECRYPTION_FAILURES).increment(1);
}

pub const DB_POOL_IN_USE: &str = "better_auth_grpc_db_pool_connections_in_use";
pub const DB_POOL_IDLE: &str = "better_auth_grpc_db_pool_connections_idle";

/// The store's connections: in use by a statement, and kept idle for the next one.
pub fn db_pool(in_use: usize, idle: usize) {
    metrics::gauge!(DB_POOL_IN_USE).set(in_use as f64);
    metrics::gauge!(DB_POOL_IDLE).set(idle as f64);
}

pub const FEED_LIVE: &str = "better_auth_grpc_change_feed_live";
pub const FEED_LOSSES: &str = "better_auth_grpc_change_feed_losses_total";
pub const FEED_EVENTS: &str = "better_auth_grpc_change_feed_events_total";
pub const FEED_LAG_SECONDS: &str = "better_auth_grpc_change_feed_lag_seconds";

/// The change feed's state: 1 while live (caches trusted), 0 otherwise; each loss counted.
pub fn feed_state(live: bool, lost: bool) {
    metrics::gauge!(FEED_LIVE).set(if live { 1.0 } else { 0.0 });
    if lost {
        metrics::counter!(FEED_LOSSES).increment(1);
    }
}

/// One change applied, by kind (`session`, `user`, `keys`, `any`).
pub fn feed_event(kind: &'static str) {
    metrics::counter!(FEED_EVENTS, "kind" => kind).increment(1);
}

/// From a heartbeat's NOTIFY to its arrival on the listening connection.
pub fn feed_lag(seconds: f64) {
    metrics::histogram!(FEED_LAG_SECONDS).record(seconds);
}
