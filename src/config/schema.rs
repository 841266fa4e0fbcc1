//! Better Auth's table and column names as this deployment maps them.
use super::error::{bad, ConfigError};
use crate::cli::SettingsArgs;
use crate::store::schema::SchemaNames;

const MODELS: [&str; 3] = ["user", "session", "jwks"];

/// The file's `[tables]`/`[columns]` with the flags' `model=name` pairs over them, key by key.
pub fn names(s: &SettingsArgs) -> Result<SchemaNames, ConfigError> {
    let (mut tables, mut columns) = (s.file.tables.clone(), s.file.columns.clone());
    tables.extend(pairs("tables", &s.tables)?);
    if let Some(k) = tables.keys().find(|k| !MODELS.contains(&k.as_str())) {
        return Err(bad(
            "tables",
            format!("unknown model {k:?} (use user, session or jwks)"),
        ));
    }
    columns.extend(pairs("columns", &s.columns)?);
    fields("columns", columns.keys().cloned().collect())?;
    if let Some((k, _)) = tables
        .iter()
        .chain(columns.iter())
        .find(|(_, v)| v.is_empty())
    {
        return Err(bad("tables", format!("{k:?} maps to an empty name")));
    }
    Ok(SchemaNames {
        tables,
        columns,
        snake_case: s.snake_case,
        plural: s.plural,
    })
}

pub fn boolean_fields(s: &SettingsArgs) -> Result<Vec<String>, ConfigError> {
    fields("boolean_fields", s.boolean_fields.clone())
}

fn pairs(setting: &'static str, items: &[String]) -> Result<Vec<(String, String)>, ConfigError> {
    items
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.split_once('=')
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .ok_or_else(|| bad(setting, format!("{s:?} is not name=value")))
        })
        .collect()
}

/// `model.field` entries.
fn fields(setting: &'static str, items: Vec<String>) -> Result<Vec<String>, ConfigError> {
    for i in &items {
        let ok = i
            .split_once('.')
            .is_some_and(|(m, f)| MODELS.contains(&m) && !f.is_empty());
        if !ok {
            return Err(bad(
                setting,
                format!("{i:?} is not model.field (models: user, session, jwks)"),
            ));
        }
    }
    Ok(items)
}
