use clap::CommandFactory;

use super::*;
use crate::cli::{Cli, SettingsArgs};

/// The settings of `text` under `flags`, as `Cli::try_parse_layered` makes them.
fn layered(text: &str, flags: &[&str]) -> Result<SettingsArgs, String> {
    let (command, file) = parse(Cli::command().mut_args(|a| a.env(None::<&str>)), text)?;
    let args = std::iter::once("better-auth-grpc").chain(flags.iter().copied());
    let matches = command
        .try_get_matches_from(args)
        .map_err(|e| e.to_string())?;
    let mut s = <Cli as clap::FromArgMatches>::from_arg_matches(&matches)
        .map_err(|e| e.to_string())?
        .settings;
    s.file = file;
    Ok(s)
}

fn refused(text: &str) -> String {
    layered(text, &[]).err().unwrap_or_default()
}

#[test]
fn unknown_keys_are_refused_by_name() {
    for key in ["databse_url", FLAG_ONLY] {
        let e = refused(&format!("{key} = \"x\""));
        let head = format!("unknown field `{key}`, expected one of `database_url`, `secret`,");
        assert!(e.starts_with(&head), "{e}");
        // The last setting changes with each new one; the file's structures come after them.
        assert!(e.ends_with("`, `callers`"), "{e}");
    }
}

/// Every key's TOML type is checked against its setting's: no key is read loosely.
#[test]
fn every_key_is_typed() {
    for key in keys(&Cli::command()) {
        let e = refused(&format!("{key} = 1.5"));
        let typed = e.ends_with("found float") || e.contains("invalid type: floating point");
        assert!(typed, "{key}: {e}");
    }
    assert_eq!(
        refused("read_only = \"yes\""),
        "read_only: expected a boolean, found string"
    );
    assert_eq!(
        refused("db_timeout_ms = \"50\""),
        "db_timeout_ms: expected an integer, found string"
    );
    assert_eq!(refused("log = [\"a\"]"), "log: takes one value, not a list");
}

/// A file value passes the parser a flag's would, and the error names the key and the bound.
#[test]
fn file_values_are_checked_as_flags_are() {
    assert_eq!(
        refused("db_timeout_ms = 0"),
        "db_timeout_ms: invalid value \"0\": 0 is not in 10..=600000"
    );
    assert_eq!(
        refused("secure_cookies = \"maybe\""),
        "secure_cookies: \"maybe\" is not one of auto, true, false"
    );
    assert!(refused("listen_addr = \"nope\"").starts_with("listen_addr: invalid value \"nope\""));
}

#[test]
fn plain_keys_fill_the_settings_and_structures_their_own() {
    let s = layered(
        "read_only = true\njwt_audience = [\"a\", \"b\"]\ndb_timeout_ms = 50\n\
         [tables]\nuser = \"users\"\n[[callers]]\nname = \"svc\"\n",
        &[],
    )
    .unwrap();
    assert!(s.read_only);
    assert_eq!(s.jwt_audience, ["a", "b"]);
    assert_eq!(s.db_timeout_ms, 50);
    assert_eq!(s.file.tables["user"], "users");
    assert_eq!(s.file.callers.len(), 1);
}

#[test]
fn flags_win_over_the_file_and_the_file_over_defaults() {
    let text = "db_timeout_ms = 50\nread_only = true\njwt_audience = [\"a\"]\n";
    let s = layered(text, &["--db-timeout-ms", "70", "--read-only", "false"]).unwrap();
    assert_eq!((s.db_timeout_ms, s.read_only), (70, false));
    assert_eq!(s.jwt_audience, ["a"]);
    assert_eq!(layered("", &[]).unwrap().db_timeout_ms, 3000);
}

/// A setting given before or after `migrate`, or by the file, reaches the settings: clap's
/// global arguments carry defaults, which must not mask a given value.
#[test]
fn settings_around_the_subcommand_keep_their_layers() {
    for flags in [
        &["--db-timeout-ms", "70", "migrate"][..],
        &["migrate", "--db-timeout-ms", "70"][..],
    ] {
        assert_eq!(layered("", flags).unwrap().db_timeout_ms, 70, "{flags:?}");
        assert_eq!(
            layered("db_timeout_ms = 50", flags).unwrap().db_timeout_ms,
            70
        );
    }
    let s = layered("db_timeout_ms = 50", &["migrate"]).unwrap();
    assert_eq!(s.db_timeout_ms, 50);
}
