//! The one configuration error: a line naming the setting.
use clap::error::{ContextKind, ContextValue};

#[derive(Debug, thiserror::Error)]
#[error("{setting}: {message}")]
pub struct ConfigError {
    /// The setting's name as the TOML file spells it (its clap id).
    pub setting: String,
    pub message: String,
}

pub(super) fn bad(setting: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        setting: setting.to_owned(),
        message: message.into(),
    }
}

impl ConfigError {
    /// A value a setting's parser refused, as one line naming the setting like every other
    /// configuration error; `None` for clap's other errors (unknown flags, `--help`).
    pub fn from_clap(e: &clap::Error, command: &clap::Command) -> Option<Self> {
        let Some(ContextValue::String(flag)) = e.get(ContextKind::InvalidArg) else {
            return None;
        };
        let Some(ContextValue::String(value)) = e.get(ContextKind::InvalidValue) else {
            return None;
        };
        let long = flag.strip_prefix("--")?.split([' ', '=']).next()?;
        let arg = command
            .get_arguments()
            .find(|a| a.get_long() == Some(long))?;
        Some(bad(arg.get_id().as_str(), refusal(e, value)))
    }
}

/// The parser's own words, without clap's flag-centred framing.
pub(super) fn refusal(e: &clap::Error, value: &str) -> String {
    let why = std::error::Error::source(e).map(ToString::to_string);
    match (why, e.get(ContextKind::ValidValue)) {
        (Some(why), _) => format!("invalid value {value:?}: {why}"),
        (None, Some(valid)) => format!("{value:?} is not one of {valid}"),
        (None, None) => format!("invalid value {value:?}"),
    }
}
