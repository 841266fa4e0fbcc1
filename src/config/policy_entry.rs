//! The file's `[[policies]]` tables as read (checked into policies by `gateway`).
use serde::Deserialize;

/// One `[[policies]]` table of the TOML file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyEntry {
    pub(super) path_prefix: String,
    #[serde(default)]
    pub(super) methods: Vec<String>,
    /// `public`, `signed-in`, `verified-email` or `role`.
    pub(super) access: String,
    #[serde(default)]
    pub(super) roles: Vec<String>,
}
