//! The README's settings tables document every setting clap declares (none can be missed:
//! the flags, variables and file keys all come from `cli::SettingsArgs`).
use super::file::settings_command;

/// A row names the flag in its first cells (`--flag` or `--flag value`) and the variable in
/// full, or as `…_TAIL` after a row's first variable (`--snake-case` / `--plural`).
fn has_row(readme: &str, flag: &str, var: &str) -> bool {
    let tail = var.strip_prefix("BETTER_AUTH_GRPC").unwrap_or(var);
    readme
        .lines()
        .filter(|l| l.starts_with("| `--"))
        .any(|row| {
            let names_flag =
                row.contains(&format!("`{flag}`")) || row.contains(&format!("`{flag} "));
            names_flag && (row.contains(&format!("`{var}`")) || row.contains(&format!("…{tail}`")))
        })
}

#[test]
fn every_setting_has_a_flag_a_variable_and_a_readme_row() {
    let readme = include_str!("../../README.md");
    assert!(!has_row(
        readme,
        "--no-such-flag",
        "BETTER_AUTH_GRPC_NO_SUCH"
    ));
    for arg in settings_command().get_arguments() {
        let id = arg.get_id().as_str();
        if id == "config" {
            continue; // The file itself: the README's prose introduces it, above the table.
        }
        let flag = format!("--{}", arg.get_long().expect("every setting has a flag"));
        let var = arg.get_env().expect("every setting has a variable");
        let var = var.to_str().expect("variables are ASCII");
        assert!(
            has_row(readme, &flag, var),
            "README's tables lack {flag} / {var}"
        );
    }
}
