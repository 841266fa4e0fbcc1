//! Settings as the binary parses them, for tests: from flags (and the `--config` file they
//! name), with the environment ignored so that a variable set around the tests changes nothing.
use std::ffi::OsString;

use clap::CommandFactory;

use crate::cli::{Cli, ParseError, SettingsArgs};

impl Default for SettingsArgs {
    /// Every setting at its declared default.
    fn default() -> Self {
        Self::from_flags::<_, &str>([])
    }
}

impl SettingsArgs {
    /// As the binary would parse `flags`; panics on a bad one.
    pub fn from_flags<I, S>(flags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Self::try_from_flags(flags).unwrap_or_else(|e| panic!("test flags: {e}"))
    }

    pub fn try_from_flags<I, S>(flags: I) -> Result<Self, ParseError>
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        let command = Cli::command().mut_args(|a| a.env(None::<&'static str>));
        let args = std::iter::once(OsString::from("better-auth-grpc"))
            .chain(flags.into_iter().map(Into::into));
        Cli::try_parse_layered(command, args).map(|cli| cli.settings)
    }
}
