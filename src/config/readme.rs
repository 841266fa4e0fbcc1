//! The README's settings tables document every setting clap declares, with the default clap
//! declares (none can be missed: the flags, variables, defaults and file keys all come from
//! `cli::SettingsArgs`).
use clap::CommandFactory;

use crate::cli::Cli;

/// The row that names the flag in its first cells (`--flag` or `--flag value`) and the
/// variable in full, or as `…_TAIL` after a row's first variable (`--snake-case` / `--plural`).
fn row<'r>(readme: &'r str, flag: &str, var: &str) -> Option<&'r str> {
    let tail = var.strip_prefix("BETTER_AUTH_GRPC").unwrap_or(var);
    readme
        .lines()
        .filter(|l| l.starts_with("| `--"))
        .find(|row| {
            let names_flag =
                row.contains(&format!("`{flag}`")) || row.contains(&format!("`{flag} "));
            names_flag && (row.contains(&format!("`{var}`")) || row.contains(&format!("…{tail}`")))
        })
}

/// The row's default cell (the third), without backticks.
fn default_cell(row: &str) -> String {
    row.split('|')
        .nth(3)
        .unwrap_or_default()
        .trim()
        .replace('`', "")
}

#[test]
fn every_setting_has_a_flag_a_variable_and_a_readme_row_with_its_default() {
    let readme = include_str!("../../README.md");
    assert!(row(readme, "--no-such-flag", "BETTER_AUTH_GRPC_NO_SUCH").is_none());
    for arg in Cli::command().get_arguments() {
        if arg.get_id() == "config" {
            continue; // The file itself: the README's prose introduces it, above the table.
        }
        let flag = format!("--{}", arg.get_long().expect("every setting has a flag"));
        let var = arg.get_env().expect("every setting has a variable");
        let var = var.to_str().expect("variables are ASCII");
        let found = row(readme, &flag, var);
        let found = found.unwrap_or_else(|| panic!("README's tables lack {flag} / {var}"));
        let declared: Vec<_> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy())
            .collect();
        let cell = default_cell(found);
        assert!(
            cell.starts_with(&declared.join(",")),
            "README gives {flag} the default {cell:?}, clap {declared:?}"
        );
    }
}
