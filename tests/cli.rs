//! The real binary, in a clean environment and a temporary working directory: `--help`, bad
//! settings stopping start-up with one line, `migrate`, and the embedded default.
mod common;

use std::{net::TcpListener, path::Path, time::Duration};

use common::process::{command, free_port, output, Ended, Running};

const SECRET: &str = "cli-test-secret-0123456789abcdefghijklmnop";
const PUBLIC_DEFAULT_SECRET: &str = "better-auth-secret-12345678901234567890";

#[test]
fn help_mentions_every_setting() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = command(dir.path());
    c.arg("--help");
    let out = output(c, Duration::from_secs(10));
    assert!(out.status.success(), "{out:?}");
    let help = &out.stdout;
    for word in [
        "DATABASE_URL",
        "BETTER_AUTH_SECRET",
        "BETTER_AUTH_SECRETS",
        "AUTH_SECRET",
        "BETTER_AUTH_URL",
        "LISTEN_ADDR",
        "BETTER_AUTH_GRPC_CONFIG",
        "--config",
        "--database-url",
        "--secret",
        "--secrets",
        "--auth-secret",
        "--base-url",
        "--listen-addr",
        "--read-only",
        "--table",
        "--column",
        "--snake-case",
        "--plural",
        "--boolean-field",
        "--session-expires-in",
        "--session-update-age",
        "--disable-session-refresh",
        "--require-signature",
        "--cookie-prefix",
        "--cookie-name",
        "--secure-cookies",
        "--pg-schema",
        "--max-token-bytes",
        "--db-max-connections",
        "--db-timeout-ms",
        "--log",
        "migrate",
        "serve",
    ] {
        assert!(
            help.contains(word),
            "--help does not mention {word}:\n{help}"
        );
    }
    // Every variable of the README's table.
    for var in [
        "BETTER_AUTH_GRPC_PG_SCHEMA",
        "BETTER_AUTH_GRPC_TABLES",
        "BETTER_AUTH_GRPC_COLUMNS",
        "BETTER_AUTH_GRPC_READ_ONLY",
        "BETTER_AUTH_GRPC_SESSION_EXPIRES_IN",
        "BETTER_AUTH_GRPC_DB_TIMEOUT_MS",
        "BETTER_AUTH_GRPC_COOKIE_PREFIX",
    ] {
        assert!(help.contains(var), "--help does not mention {var}");
    }
    assert!(
        dir.path().read_dir().unwrap().next().is_none(),
        "--help wrote files"
    );
}

struct BadCase {
    what: &'static str,
    env: Vec<(&'static str, String)>,
    args: Vec<String>,
    setting: &'static str,
    /// A value that must never appear in the output.
    secret: Option<&'static str>,
}

fn case(what: &'static str, env: &[(&'static str, &str)], setting: &'static str) -> BadCase {
    BadCase {
        what,
        env: env.iter().map(|(k, v)| (*k, v.to_string())).collect(),
        args: vec![],
        setting,
        secret: None,
    }
}

/// Each bad setting, in the environment, a config file or a flag; its files are written in `dir`.
fn bad_cases(dir: &Path) -> Vec<BadCase> {
    let unknown_key = dir.join("unknown-key.toml");
    std::fs::write(&unknown_key, "databse_url = \"sqlite://x\"\n").unwrap();
    let short_in_file = dir.join("short-secret.toml");
    std::fs::write(&short_in_file, "secret = \"file-s3cr3t-short\"\n").unwrap();
    let config = |p: &Path| p.to_str().unwrap().to_owned();

    let mut cases = vec![
        case(
            "LISTEN_ADDR=nope",
            &[("LISTEN_ADDR", "nope")],
            "listen_addr",
        ),
        BadCase {
            secret: Some("tiny-s3cr3t"),
            ..case(
                "short secret",
                &[("BETTER_AUTH_SECRET", "tiny-s3cr3t")],
                "secret",
            )
        },
        BadCase {
            secret: Some(PUBLIC_DEFAULT_SECRET),
            ..case(
                "public default secret",
                &[("BETTER_AUTH_SECRET", PUBLIC_DEFAULT_SECRET)],
                "secret",
            )
        },
        BadCase {
            secret: Some("auth-s3cr3t-short"),
            ..case(
                "short AUTH_SECRET",
                &[
                    ("BETTER_AUTH_SECRET", ""),
                    ("AUTH_SECRET", "auth-s3cr3t-short"),
                ],
                "secret",
            )
        },
        BadCase {
            secret: Some("no-version-s3cr3t-0123456789abcdefghijkl"),
            ..case(
                "BETTER_AUTH_SECRETS without a version",
                &[(
                    "BETTER_AUTH_SECRETS",
                    "no-version-s3cr3t-0123456789abcdefghijkl",
                )],
                "secret",
            )
        },
        case(
            "BETTER_AUTH_URL=ftp://x",
            &[("BETTER_AUTH_URL", "ftp://x")],
            "base_url",
        ),
        case(
            "mysql DATABASE_URL",
            &[("DATABASE_URL", "mysql://u@h/db")],
            "database_url",
        ),
        case(
            "config file with an unknown key (variable)",
            &[("BETTER_AUTH_GRPC_CONFIG", &config(&unknown_key))],
            "config",
        ),
        case(
            "missing config file",
            &[("BETTER_AUTH_GRPC_CONFIG", &config(&dir.join("absent.toml")))],
            "config",
        ),
        BadCase {
            secret: Some("file-s3cr3t-short"),
            ..case(
                "short secret in the config file",
                &[
                    ("BETTER_AUTH_SECRET", ""),
                    ("BETTER_AUTH_GRPC_CONFIG", &config(&short_in_file)),
                ],
                "secret",
            )
        },
        case(
            "db timeout 0",
            &[("BETTER_AUTH_GRPC_DB_TIMEOUT_MS", "0")],
            "db_timeout_ms",
        ),
        case(
            "secure cookies maybe",
            &[("BETTER_AUTH_GRPC_SECURE_COOKIES", "maybe")],
            "secure_cookies",
        ),
        case(
            "a user cache past moka's limit",
            &[("BETTER_AUTH_GRPC_JWT_USER_CACHE_MS", "99999999999999999")],
            "jwt_user_cache_ms",
        ),
        case(
            "bad column",
            &[("BETTER_AUTH_GRPC_COLUMNS", "emailVerified=x")],
            "columns",
        ),
    ];
    cases.push(BadCase {
        args: vec!["--config".into(), config(&unknown_key)],
        ..case("config file with an unknown key (flag)", &[], "config")
    });
    cases.push(BadCase {
        args: vec!["--table".into(), "account=x".into()],
        ..case("--table account=x", &[], "tables")
    });
    cases.push(BadCase {
        args: vec!["migrate".into(), "--table".into(), "account=x".into()],
        ..case("migrate --table account=x", &[], "tables")
    });
    cases
}

#[test]
fn bad_settings_stop_start_up_with_one_line_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let cases = bad_cases(dir.path());
    // A port held here: a binary that bound its port before checking the settings would
    // fail on it (naming listen_addr) instead of on the bad setting.
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let held_addr = held.local_addr().unwrap().to_string();
    // An existing (empty) file: serve refuses a missing SQLite file before anything else.
    let db_file = dir.path().join("app.sqlite");
    std::fs::File::create(&db_file).unwrap();
    let db_url = format!("sqlite://{}", db_file.display());
    for c in cases {
        let mut cmd = command(dir.path());
        cmd.env("DATABASE_URL", &db_url)
            .env("BETTER_AUTH_SECRET", SECRET)
            .env("LISTEN_ADDR", &held_addr)
            .args(&c.args);
        for (k, v) in &c.env {
            if v.is_empty() {
                cmd.env_remove(k);
            } else {
                cmd.env(k, v);
            }
        }
        assert_refused(&c, &output(cmd, Duration::from_secs(10)));
        let size = std::fs::metadata(&db_file).unwrap().len();
        assert_eq!(size, 0, "{}: the database file was written", c.what);
    }
    drop(held);
}

/// Exit 2, one stderr line naming the setting, nothing on stdout, no secret echoed.
fn assert_refused(c: &BadCase, out: &Ended) {
    let (stdout, stderr) = (&out.stdout, &out.stderr);
    let what = c.what;
    assert_eq!(out.status.code(), Some(2), "{what}: {out:?}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "{what}: want one stderr line, got {stderr:?}"
    );
    let prefix = format!("error: {}: ", c.setting);
    assert!(
        lines[0].starts_with(&prefix),
        "{what}: {:?} does not start with {prefix:?}",
        lines[0]
    );
    assert!(stdout.is_empty(), "{what}: stdout {stdout:?}");
    for s in c.secret.into_iter().chain([SECRET]) {
        assert!(
            !stderr.contains(s),
            "{what}: the secret value is echoed: {stderr:?}"
        );
    }
}

#[test]
fn serve_on_a_database_without_the_schema_stops_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let db_file = dir.path().join("empty.sqlite");
    std::fs::File::create(&db_file).unwrap();
    let mut c = command(dir.path());
    c.env("DATABASE_URL", format!("sqlite://{}", db_file.display()))
        .env("BETTER_AUTH_SECRET", SECRET)
        .env("LISTEN_ADDR", "127.0.0.1:0");
    let out = output(c, Duration::from_secs(15));
    let stderr = &out.stderr;
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(stderr.contains("table \"user\" does not exist"), "{stderr}");
    assert!(stderr.contains("better-auth-grpc migrate"), "{stderr}");
    assert_eq!(
        std::fs::metadata(&db_file).unwrap().len(),
        0,
        "serve altered the database"
    );
}

#[test]
fn migrate_creates_then_reports_present() {
    let dir = tempfile::tempdir().unwrap();
    let db_file = dir.path().join("new.sqlite");
    let migrate = || {
        let mut c = command(dir.path());
        c.arg("migrate")
            .env("DATABASE_URL", format!("sqlite://{}", db_file.display()))
            .env("BETTER_AUTH_SECRET", SECRET);
        output(c, Duration::from_secs(15))
    };
    let first = migrate();
    assert!(first.status.success(), "{first:?}");
    assert_eq!(
        first.stdout.trim(),
        "created Better Auth's schema (user, session, account, verification, jwks)"
    );
    assert!(db_file.is_file());
    let second = migrate();
    assert!(second.status.success(), "{second:?}");
    assert_eq!(
        second.stdout.trim(),
        "Better Auth's schema is already present; nothing to do"
    );
    assert!(
        !dir.path().join("better-auth-grpc.secret").exists(),
        "migrate wrote a secret file"
    );
}

/// A running embedded default and what it printed.
struct Embedded {
    running: Running,
    lines: Vec<String>,
}

impl Embedded {
    fn start(dir: &Path, port: u16) -> Self {
        let mut c = command(dir);
        c.env("LISTEN_ADDR", format!("127.0.0.1:{port}"));
        let mut running = Running::spawn(c);
        let lines = running.wait_for(Duration::from_secs(30), |stdout, _| {
            let lines: Vec<String> = stdout.lines().map(str::to_owned).collect();
            let grpcurl = lines.iter().filter(|l| l.starts_with("grpcurl ")).count();
            (grpcurl >= 3).then_some(lines)
        });
        // Nobody reads its stdout from here on: a reader that went away must not stop it.
        running.close_stdout();
        Embedded { running, lines }
    }

    /// The value after `label` on the line that starts with it.
    fn value(&self, label: &str) -> String {
        let line = self
            .lines
            .iter()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no {label:?} line in {:#?}", self.lines));
        line[label.len()..].trim().to_owned()
    }

    /// SIGTERM, then the exit status and stderr.
    fn terminate(self) -> (std::process::ExitStatus, String) {
        let ended = self.running.terminate(Duration::from_secs(10));
        (ended.status, ended.stderr)
    }
}

#[test]
fn embedded_default_prints_ready_grpcurl_lines() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let first = Embedded::start(dir.path(), port);

    let token = first.value("session token:");
    assert!(
        token.len() >= 32 && token.chars().all(|c| c.is_ascii_alphanumeric()),
        "token {token:?}"
    );
    let cookie = first.value("cookie header:");
    let signed = cookie
        .strip_prefix("better-auth.session_token=")
        .unwrap_or_else(|| panic!("cookie header {cookie:?}"));
    let (cookie_token, signature) = signed.split_once('.').expect("a signed cookie value");
    assert_eq!(cookie_token, token);
    // HMAC-SHA256, padded base64, URL-encoded as Better Auth sends it (…%3D).
    assert!(signature.ends_with("%3D"), "signature {signature:?}");
    let grpcurl: Vec<&String> = first
        .lines
        .iter()
        .filter(|l| l.starts_with("grpcurl "))
        .collect();
    assert_eq!(grpcurl[0], &format!("grpcurl -plaintext {addr} list"));
    assert!(
        grpcurl[1].contains(&token)
            && grpcurl[1].ends_with(&format!("{addr} auth.v1.AuthService/ValidateToken"))
    );
    assert!(
        grpcurl[2].contains(&cookie)
            && grpcurl[2].ends_with(&format!("{addr} auth.v1.AuthService/GetSession"))
    );
    assert!(first.value("demo user:").starts_with("demo@example.com"));

    let sqlite = dir.path().join("better-auth-grpc.sqlite");
    let secret_file = dir.path().join("better-auth-grpc.secret");
    assert!(sqlite.is_file(), "no {}", sqlite.display());
    let secret = std::fs::read_to_string(&secret_file).expect("the secret file exists");
    assert!(
        secret.trim().len() >= 32,
        "secret of {} bytes",
        secret.trim().len()
    );
    // The database holds the demo session token: owner only, like the key files.
    for file in [
        &secret_file,
        &sqlite,
        &dir.path().join("better-auth-grpc.api-key"),
    ] {
        let mode = mode_of(file);
        assert_eq!(mode, 0o600, "{} mode {mode:o}", file.display());
    }

    let (status, stderr) = first.terminate();
    assert!(
        status.success(),
        "SIGTERM should stop it cleanly: {status:?}\n{stderr}"
    );
    assert!(
        stderr.contains("session cookie: better-auth.session_token ("),
        "no cookie line: {stderr}"
    );
    assert!(
        !stderr
            .lines()
            .any(|l| l.contains("WARN") && l.contains("BETTER_AUTH_URL")),
        "the demo warns about BETTER_AUTH_URL: {stderr}"
    );
    assert!(
        !stderr.contains(&token),
        "the log holds the session token: {stderr}"
    );
    assert!(
        !stderr.contains(secret.trim()),
        "the log holds the secret: {stderr}"
    );

    // A second start in the same directory keeps the secret, the user and the live session.
    let second = Embedded::start(dir.path(), free_port());
    assert_eq!(second.value("session token:"), token);
    assert_eq!(second.value("cookie header:"), cookie);
    assert_eq!(std::fs::read_to_string(&secret_file).unwrap(), secret);
    drop(second);
}

fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The embedded default in `dir`, expected to stop at once on one of its key files.
fn refused_on_key_file(dir: &Path, setting: &str, file: &str) -> String {
    let mut c = command(dir);
    c.env("LISTEN_ADDR", "127.0.0.1:0");
    let out = output(c, Duration::from_secs(15));
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "want one stderr line: {:?}", out.stderr);
    assert!(
        lines[0].starts_with(&format!("error: {setting}: ")) && lines[0].contains(file),
        "{:?} names neither {setting} nor {file}",
        lines[0]
    );
    assert!(out.stdout.is_empty(), "{out:?}");
    assert!(
        !dir.join("better-auth-grpc.sqlite").exists(),
        "the database was created anyway"
    );
    lines[0].to_owned()
}

/// As ssh treats private keys: the key files must be the process user's and private to it.
#[test]
fn key_files_others_can_read_or_write_are_refused() {
    let secret = "s".repeat(48);
    for (mode, fix) in [
        (0o644, "chmod 600"),
        (0o660, "chmod 600"),
        (0o602, "chmod 600"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("better-auth-grpc.secret");
        std::fs::write(&file, &secret).unwrap();
        set_mode(&file, mode);
        let line = refused_on_key_file(dir.path(), "secret", "better-auth-grpc.secret");
        assert!(line.contains(fix), "{mode:o}: {line}");
        assert!(!line.contains(&secret), "the secret is echoed: {line}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), secret);
    }
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("better-auth-grpc.secret");
    std::fs::write(&secret_file, &secret).unwrap();
    set_mode(&secret_file, 0o600);
    let key_file = dir.path().join("better-auth-grpc.api-key");
    std::fs::write(&key_file, "k".repeat(40)).unwrap();
    set_mode(&key_file, 0o620);
    refused_on_key_file(dir.path(), "callers", "better-auth-grpc.api-key");
}

#[test]
fn a_key_file_of_another_user_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("better-auth-grpc.secret");
    std::fs::write(&file, "s".repeat(48)).unwrap();
    set_mode(&file, 0o600);
    // Only root can give a file away; elsewhere there is nothing to test.
    if std::os::unix::fs::chown(&file, Some(65_534), None).is_err() {
        eprintln!("skipped: not allowed to chown");
        return;
    }
    let line = refused_on_key_file(dir.path(), "secret", "better-auth-grpc.secret");
    assert!(line.contains("owned by uid 65534"), "{line}");
}

/// Serves `db_url` with `base_url` (if any) until it is ready; returns its stderr.
fn start_up_log(dir: &Path, db_url: &str, base_url: Option<&str>) -> String {
    let mut c = command(dir);
    c.env("DATABASE_URL", db_url)
        .env("BETTER_AUTH_SECRET", SECRET)
        .env("LISTEN_ADDR", "127.0.0.1:0");
    if let Some(u) = base_url {
        c.env("BETTER_AUTH_URL", u);
    }
    let mut running = Running::spawn(c);
    running.serving(Duration::from_secs(30));
    running.terminate(Duration::from_secs(10)).stderr
}

/// Better Auth without a base URL uses `__Secure-` in production (NODE_ENV=production) and
/// not elsewhere: the log says which name is read and why, and warns when it is a guess.
#[test]
fn start_up_says_which_session_cookie_is_read_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let db_file = dir.path().join("app.sqlite");
    let db_url = format!("sqlite://{}", db_file.display());
    let mut m = command(dir.path());
    m.arg("migrate").env("DATABASE_URL", &db_url);
    assert!(output(m, Duration::from_secs(15)).status.success());
    let cases = [
        (
            None,
            "better-auth.session_token",
            "NODE_ENV=production",
            true,
        ),
        (
            Some("http://app.example.com"),
            "better-auth.session_token",
            "BETTER_AUTH_URL is http",
            false,
        ),
        (
            Some("https://app.example.com"),
            "__Secure-better-auth.session_token",
            "BETTER_AUTH_URL is https",
            false,
        ),
    ];
    for (base_url, cookie, why, warns) in cases {
        let log = start_up_log(dir.path(), &db_url, base_url);
        let line = log
            .lines()
            .find(|l| l.contains("session cookie:"))
            .unwrap_or_else(|| panic!("{base_url:?}: no cookie line in {log}"));
        assert!(
            line.contains(&format!("session cookie: {cookie} (")),
            "{line}"
        );
        assert!(line.contains(why), "{base_url:?}: {line}");
        let warning = log
            .lines()
            .any(|l| l.contains("WARN") && l.contains("no BETTER_AUTH_URL"));
        assert_eq!(warning, warns, "{base_url:?}: {log}");
    }
}
