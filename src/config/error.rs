//! The one configuration error: a line naming the setting.

#[derive(Debug, thiserror::Error)]
#[error("{setting}: {message}")]
pub struct ConfigError {
    pub setting: &'static str,
    pub message: String,
}

pub(super) fn bad(setting: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        setting,
        message: message.into(),
    }
}

/// An optional number with a default and an upper bound.
pub(super) fn bounded(
    setting: &'static str,
    v: Option<u64>,
    default: u64,
    max: u64,
) -> Result<u64, ConfigError> {
    let n = v.unwrap_or(default);
    match n <= max {
        true => Ok(n),
        false => Err(bad(setting, format!("must be at most {max}"))),
    }
}
