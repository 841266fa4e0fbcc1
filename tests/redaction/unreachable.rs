//! An unreachable PostgreSQL server: the password of DATABASE_URL stays out of logs and statuses.
use better_auth_grpc::{
    auth::signature::sign, domain::model::random_id, proto::auth::v1::issue_token_request::Subject,
};
use tonic::Code;

use super::{
    binary::{config_file, Server},
    calls::{get_session, issue, validate, KEY},
    grep::{strip_ansi, Secret, Seen},
    API_KEY, DB_PASSWORD, ORIGIN, SECRET,
};

/// A PostgreSQL server that cannot be reached: start-up, health and every RPC log and answer
/// the outage without the password of DATABASE_URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_database_keeps_its_password_out_of_logs_and_statuses() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let config = config_file(d, "callers.toml", "");
    // Port 1 refuses connections at once.
    let pg_url = format!("postgres://app:{DB_PASSWORD}@127.0.0.1:1/app");
    let server = Server::start(
        d,
        &[
            ("DATABASE_URL", &pg_url),
            ("BETTER_AUTH_SECRET", SECRET),
            ("BETTER_AUTH_URL", ORIGIN),
            ("BETTER_AUTH_GRPC_CONFIG", config.to_str().unwrap()),
            ("BETTER_AUTH_GRPC_DB_TIMEOUT_MS", "300"),
        ],
    );
    let mut c = server.client().await;
    let mut seen = Seen::default();
    let token = random_id(32);
    let signed = sign(&token, SECRET.as_bytes());
    let r = validate(&mut c, &mut seen, "raw token", &token, "").await;
    assert_eq!(r.err().map(|s| s.code()), Some(Code::Unavailable));
    let r = get_session(&mut c, &mut seen, "signed token", &signed).await;
    assert_eq!(r.err().map(|s| s.code()), Some(Code::Unavailable));
    let subject = Some(Subject::SessionToken(signed.clone()));
    let r = issue(&mut c, &mut seen, "issue", KEY, subject, "", None).await;
    assert!(r.is_err(), "{r:?}");
    let log = server.stop();

    let mut secrets = Secret::default();
    secrets.add("the database password", DB_PASSWORD);
    secrets.add("BETTER_AUTH_SECRET", SECRET);
    secrets.add("the API key", API_KEY);
    secrets.add("a session token", token);
    secrets.add("a signed token", signed);
    secrets.assert_detects_planted(&log);
    assert!(strip_ansi(&log).contains("TRACE"), "{log}");
    assert!(seen.statuses >= 3);
    secrets.assert_absent("stderr with an unreachable database (TRACE)", &log);
    secrets.assert_absent("statuses with an unreachable database", &seen.text);
}
