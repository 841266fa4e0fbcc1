//! Settings that stop start-up name the setting, never its value.
use std::fmt::Write as _;

use super::{
    binary::{bin, migrate, run},
    common::process::Ended,
    grep::Secret,
    API_KEY, DB_PASSWORD, ORIGIN, SECRET,
};

/// Settings that stop start-up (exit 2): the one error line names the setting, never its value.
#[test]
fn bad_settings_never_echo_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = d.join("auth.sqlite");
    let url = format!("sqlite://{}", db.display());
    migrate(d, &url);
    let file = |name: &str, text: &str| {
        let p = d.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let short = "sh0rt-S3CRET-value";
    let versioned = "no-version-S3CRET-0123456789abcdefghijkl";
    let unterminated = file(
        "unterminated.toml",
        &format!("secret = \"{SECRET}\nbase_url = \"{ORIGIN}\"\n"),
    );
    let key_not_hash = file(
        "key-not-hash.toml",
        &format!("[[callers]]\nname = \"svc\"\nkey_sha256 = \"{API_KEY}\"\n"),
    );
    let wrong_type = file("wrong-type.toml", &format!("secrets = [\"1:{SECRET}\"]\n"));
    let misspelt = file("misspelt.toml", &format!("secert = \"{SECRET}\"\n"));
    let mysql_url = format!("mysql://app:{DB_PASSWORD}@127.0.0.1/app");

    let mut secrets = Secret::default();
    secrets.add("BETTER_AUTH_SECRET", SECRET);
    secrets.add("the short secret", short);
    secrets.add("an unversioned BETTER_AUTH_SECRETS", versioned);
    secrets.add("the API key", API_KEY);
    secrets.add("the database password", DB_PASSWORD);

    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, Vec<&'a str>, &'a str);
    let cases: Vec<Case> = vec![
        (
            "short BETTER_AUTH_SECRET",
            vec![("BETTER_AUTH_SECRET", short)],
            vec![],
            "secret",
        ),
        ("short --secret", vec![], vec!["--secret", short], "secret"),
        (
            "short AUTH_SECRET",
            vec![("AUTH_SECRET", short)],
            vec![],
            "secret",
        ),
        (
            "BETTER_AUTH_SECRETS without a version",
            vec![("BETTER_AUTH_SECRETS", versioned)],
            vec![],
            "secret",
        ),
        (
            "a short versioned secret",
            vec![("BETTER_AUTH_SECRETS", "1:sh0rt-S3CRET-value")],
            vec![],
            "secret",
        ),
        (
            "unterminated string in the file",
            vec![("BETTER_AUTH_GRPC_CONFIG", &unterminated)],
            vec![],
            "config",
        ),
        (
            "the API key instead of its hash",
            vec![
                ("BETTER_AUTH_SECRET", SECRET),
                ("BETTER_AUTH_GRPC_CONFIG", &key_not_hash),
            ],
            vec![],
            "callers",
        ),
        (
            "secrets of the wrong type",
            vec![("BETTER_AUTH_GRPC_CONFIG", &wrong_type)],
            vec![],
            "config",
        ),
        (
            "misspelt key",
            vec![("BETTER_AUTH_GRPC_CONFIG", &misspelt)],
            vec![],
            "config",
        ),
        (
            "mysql URL with a password",
            vec![("DATABASE_URL", &mysql_url), ("BETTER_AUTH_SECRET", SECRET)],
            vec![],
            "database_url",
        ),
    ];
    let mut all = String::new();
    for (what, env, args, setting) in cases {
        let mut c = bin(d);
        c.env("LISTEN_ADDR", "127.0.0.1:0")
            .env("DATABASE_URL", &url)
            .envs(env)
            .args(args);
        let Ended {
            status,
            stderr: err,
            ..
        } = run(c);
        assert_eq!(status.code(), Some(2), "{what}: {status}\n{err}");
        let last = err.lines().last().unwrap_or_default().to_owned();
        assert!(
            last.starts_with("error: ") && last.contains(setting),
            "{what}: the error line names {setting}: {err}"
        );
        secrets.assert_absent(what, &err);
        let _ = writeln!(all, "{what}: {err}");
    }
    secrets.assert_detects_planted(&all);
}
