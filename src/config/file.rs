//! The optional TOML file (`--config`). Its plain keys are the settings' own names (the fields
//! of `SettingsArgs`, which serde fills); `[tables]`, `[columns]` and `[[callers]]` are
//! structures only the file has. An unknown key is refused by name.
use std::{collections::HashMap, path::Path};

use clap::Args;
use serde::de::DeserializeOwned;

use super::callers::CallerEntry;
use super::error::{bad, ConfigError};
use crate::cli::SettingsArgs;

/// Flag-only: the file cannot name another file.
const FLAG_ONLY: &str = "config";
/// Keys of the file's own structures; `tables` and `columns` are also flags.
const TABLES: &str = "tables";
const COLUMNS: &str = "columns";
const CALLERS: &str = "callers";

// No Debug: it holds secrets and the database URL as written in the file.
#[derive(Default)]
pub struct FileConfig {
    pub(super) settings: SettingsArgs,
    pub(super) tables: HashMap<String, String>,
    pub(super) columns: HashMap<String, String>,
    pub(super) callers: Vec<CallerEntry>,
}

impl FileConfig {
    /// The file named by `--config`, if any.
    pub fn of(args: &SettingsArgs) -> Result<Self, ConfigError> {
        match &args.config {
            Some(path) => Self::read(path),
            None => Ok(Self::default()),
        }
    }

    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| bad("config", format!("cannot read {}: {e}", path.display())))?;
        Self::parse(&text).map_err(|e| bad("config", format!("{}: {e}", path.display())))
    }

    /// Errors are toml's or serde's message, without position.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut table: toml::Table = toml::from_str(text).map_err(message)?;
        refuse_unknown(&table)?;
        Ok(Self {
            tables: take(&mut table, TABLES)?,
            columns: take(&mut table, COLUMNS)?,
            callers: take(&mut table, CALLERS)?,
            settings: toml::Value::Table(table).try_into().map_err(message)?,
        })
    }
}

fn message(e: toml::de::Error) -> String {
    e.message().to_owned()
}

fn take<T: DeserializeOwned + Default>(table: &mut toml::Table, key: &str) -> Result<T, String> {
    table
        .remove(key)
        .map_or_else(|| Ok(T::default()), |v| v.try_into().map_err(message))
}

/// Worded as serde's `deny_unknown_fields`, naming the key and every known one.
fn refuse_unknown(table: &toml::Table) -> Result<(), String> {
    let known = keys();
    match table.keys().find(|k| !known.contains(k)) {
        None => Ok(()),
        Some(k) => {
            let list: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
            Err(format!(
                "unknown field `{k}`, expected one of {}",
                list.join(", ")
            ))
        }
    }
}

/// Every key the file may hold: each setting's clap id (its field name), then `callers`.
pub fn keys() -> Vec<String> {
    settings_command()
        .get_arguments()
        .map(|a| a.get_id().as_str().to_owned())
        .filter(|id| id != FLAG_ONLY)
        .chain([CALLERS.to_owned()])
        .collect()
}

/// The settings as clap declares them: flag, variable and help of each.
pub fn settings_command() -> clap::Command {
    SettingsArgs::augment_args(clap::Command::new("settings"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_refused_by_name() {
        for key in ["databse_url", FLAG_ONLY] {
            let e = FileConfig::parse(&format!("{key} = \"x\"")).err().unwrap();
            assert!(
                e.starts_with(&format!(
                    "unknown field `{key}`, expected one of `database_url`, `secret`,"
                )),
                "{e}"
            );
            assert!(e.ends_with("`cookie_cache`, `callers`"), "{e}");
        }
    }

    /// No key is lost between clap's list and serde's fields.
    #[test]
    fn every_key_is_read_by_serde() {
        for key in keys() {
            let e = FileConfig::parse(&format!("{key} = 1.5")).err().unwrap();
            assert!(
                e.starts_with("invalid type: floating point `1.5`"),
                "{key}: {e}"
            );
        }
    }

    #[test]
    fn plain_keys_fill_the_settings_and_structures_their_own() {
        let f = FileConfig::parse(
            "read_only = true\njwt_audience = [\"a\", \"b\"]\n[tables]\nuser = \"users\"\n\
             [[callers]]\nname = \"svc\"\n",
        )
        .unwrap();
        assert_eq!(f.settings.read_only, Some(true));
        assert_eq!(f.settings.jwt_audience, ["a", "b"]);
        assert_eq!(f.tables["user"], "users");
        assert_eq!(f.callers.len(), 1);
        let e = FileConfig::parse("read_only = \"yes\"").err().unwrap();
        assert_eq!(e, "invalid type: string \"yes\", expected a boolean");
    }
}
