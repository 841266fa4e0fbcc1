//! The optional TOML file (`--config`), carried by clap. Each plain key is a setting's clap id
//! (its field name in `cli::SettingsArgs`); its value is checked by that setting's own parser
//! and becomes the setting's default, so flags and variables win over it. `[tables]`,
//! `[columns]`, `[[callers]]` and `[[policies]]` are structures only the file has. An unknown
//! key is refused by name.
use std::any::TypeId;
use std::{collections::HashMap, net::SocketAddr, path::Path, path::PathBuf};

use clap::{Arg, ArgAction, Command};
use serde::de::DeserializeOwned;

use super::callers::CallerEntry;
use super::error::{bad, refusal, ConfigError};
use super::policy_entry::PolicyEntry;

/// Flag-only: the file cannot name another file.
const FLAG_ONLY: &str = "config";
const TABLES: &str = "tables";
const COLUMNS: &str = "columns";
const CALLERS: &str = "callers";
const POLICIES: &str = "policies";

/// What the file holds beyond plain settings.
#[derive(Default, Clone)]
pub struct FileStructures {
    /// The file these came from: `Config::build` refuses settings whose `config` names
    /// another (one set after parsing would silently not apply).
    pub source: Option<PathBuf>,
    pub tables: HashMap<String, String>,
    pub columns: HashMap<String, String>,
    pub callers: Vec<CallerEntry>,
    /// Gateway mode's `[[policies]]`.
    pub policies: Vec<PolicyEntry>,
}

/// `command` with the file's plain keys as defaults, and the file's structures.
pub fn apply(command: Command, path: &Path) -> Result<(Command, FileStructures), ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad("config", format!("cannot read {}: {e}", path.display())))?;
    let (command, mut structures) =
        parse(command, &text).map_err(|e| bad("config", format!("{}: {e}", path.display())))?;
    structures.source = Some(path.to_owned());
    Ok((command, structures))
}

/// Errors name the key, without position.
pub fn parse(mut command: Command, text: &str) -> Result<(Command, FileStructures), String> {
    let mut table: toml::Table = toml::from_str(text).map_err(|e| e.message().to_owned())?;
    let structures = FileStructures {
        source: None,
        tables: take(&mut table, TABLES)?,
        columns: take(&mut table, COLUMNS)?,
        callers: take(&mut table, CALLERS)?,
        policies: take(&mut table, POLICIES)?,
    };
    for (key, value) in table {
        let arg = setting(&command, &key)?;
        if value.as_str() == Some("") {
            continue; // No value, as clap takes an empty variable.
        }
        let values = values(arg, &value).map_err(|e| format!("{key}: {e}"))?;
        let hide = arg.is_hide_env_values_set();
        command = command.mut_arg(&key, |a| a.default_values(values).hide_default_value(hide));
    }
    Ok((command, structures))
}

fn take<T: DeserializeOwned + Default>(table: &mut toml::Table, key: &str) -> Result<T, String> {
    table.remove(key).map_or_else(
        || Ok(T::default()),
        |v| {
            v.try_into()
                .map_err(|e: toml::de::Error| format!("{key}: {}", e.message()))
        },
    )
}

/// The setting a key names; worded as serde's `deny_unknown_fields` otherwise.
fn setting<'c>(command: &'c Command, key: &str) -> Result<&'c Arg, String> {
    let known = keys(command);
    match command
        .get_arguments()
        .find(|a| a.get_id() == key && key != FLAG_ONLY)
    {
        Some(arg) => Ok(arg),
        None => {
            let list: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
            Err(format!(
                "unknown field `{key}`, expected one of {}",
                list.join(", ")
            ))
        }
    }
}

/// Every key the file may hold: each setting's clap id (`tables` and `columns` are tables in
/// the file), then `callers`.
pub fn keys(command: &Command) -> Vec<String> {
    command
        .get_arguments()
        .map(|a| a.get_id().as_str().to_owned())
        .filter(|id| id != FLAG_ONLY)
        .chain([CALLERS.to_owned(), POLICIES.to_owned()])
        .collect()
}

/// A key's value as clap's strings, each checked by the setting's parser. A list is for a
/// setting that takes several values; the TOML type must be the setting's own.
fn values(arg: &Arg, value: &toml::Value) -> Result<Vec<String>, String> {
    let items = match value {
        toml::Value::Array(items) if matches!(arg.get_action(), ArgAction::Append) => items,
        toml::Value::Array(_) => return Err("takes one value, not a list".into()),
        one => std::slice::from_ref(one),
    };
    items.iter().map(|v| checked(arg, v)).collect()
}

fn checked(arg: &Arg, value: &toml::Value) -> Result<String, String> {
    let text = scalar(arg, value)?;
    let Some(long) = arg.get_long() else {
        return Err("is not a flag".into());
    };
    // The setting alone, as a flag on a command of its own: its parser, no environment.
    let probe = Command::new("file")
        .no_binary_name(true)
        .arg(arg.clone().env(None::<&str>).global(false));
    match probe.try_get_matches_from([format!("--{long}={text}")]) {
        Ok(_) => Ok(text),
        Err(e) => Err(refusal(&e, &text)),
    }
}

/// The TOML type a setting takes, from the type its parser gives.
#[derive(PartialEq)]
enum Kind {
    Text,
    Boolean,
    Integer,
}

fn kind(arg: &Arg) -> Kind {
    let ty = arg.get_value_parser().type_id();
    let text = [
        TypeId::of::<String>(),
        TypeId::of::<PathBuf>(),
        TypeId::of::<SocketAddr>(),
    ];
    match ty {
        _ if text.iter().any(|t| ty == *t) => Kind::Text,
        _ if ty == TypeId::of::<bool>() => Kind::Boolean,
        _ => Kind::Integer,
    }
}

/// The value as clap would read it from a flag, if its TOML type is the setting's.
fn scalar(arg: &Arg, value: &toml::Value) -> Result<String, String> {
    match (kind(arg), value) {
        (Kind::Text, toml::Value::String(s)) => Ok(s.clone()),
        (Kind::Boolean, toml::Value::Boolean(b)) => Ok(b.to_string()),
        (Kind::Integer, toml::Value::Integer(i)) => Ok(i.to_string()),
        (Kind::Text, v) => Err(format!("expected a string, found {}", v.type_str())),
        (Kind::Boolean, v) => Err(format!("expected a boolean, found {}", v.type_str())),
        (Kind::Integer, v) => Err(format!("expected an integer, found {}", v.type_str())),
    }
}

#[cfg(test)]
mod tests;
