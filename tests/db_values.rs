//! Values Better Auth's tables can hold but a calendar type may not: PostgreSQL's `infinity` and
//! `-infinity`, years past chrono's 262143, garbage text and huge integers in SQLite's date
//! columns. Every RPC still answers (OK, or a status with its ErrorInfo reason: never a dropped
//! call), the server keeps serving and health keeps following the database and the signing key
//! (docs/better-auth-compat.md §1.4).
mod common;

use std::time::{Duration, Instant};

use better_auth_grpc::proto::auth::v1::{
    issue_token_request::Subject, GetSessionRequest, IssueTokenRequest, Reason,
    ValidateTokenRequest,
};
use common::{db::Db, server::TestServer, sql::exec};
use tonic::{Code, Request, Status};
use tonic_health::pb::{
    health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
};
use tonic_types::StatusExt;

const SECRET: &str = "db-values-test-secret-0123456789abcdefgh";
const API_KEY: &str = "db-values-caller-key-0123456789";
const ISSUE_HEALTH: &str = "auth.v1.AuthService/IssueToken";
/// A well-formed JWT whose kid no row has: ValidateToken reloads the jwks table for it.
const UNKNOWN_KID_JWT: &str = "Bearer eyJhbGciOiJFZERTQSIsImtpZCI6Im5vLXN1Y2gta2lkIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4IiwiZXhwIjo0MTAyNDQ0ODAwfQ.c2ln";

/// PostgreSQL values chrono cannot hold: ±infinity and years past 262143 (PostgreSQL goes to 294276).
const PG_VALUES: &[&str] = &[
    "'infinity'",
    "'-infinity'",
    "'262144-01-01 00:00:00+00'",
    "'294276-12-31 23:59:59.999999+00'",
];
/// SQLite holds anything: the same words as text, an expanded year, garbage, huge epoch millis.
const SQLITE_VALUES: &[&str] = &[
    "'infinity'",
    "'-infinity'",
    "'+262144-01-01T00:00:00.000Z'",
    "'garbage'",
    "9223372036854775807",
];
/// (table, column, which rows) for every selected date column the tests can reach.
const COLUMNS: &[(&str, &str, Rows)] = &[
    ("session", "expiresAt", Rows::Session),
    ("session", "createdAt", Rows::Session),
    ("user", "createdAt", Rows::User),
    ("user", "banExpires", Rows::User),
    ("jwks", "expiresAt", Rows::All),
    ("jwks", "createdAt", Rows::All),
];

#[derive(Clone, Copy)]
enum Rows {
    Session,
    User,
    All,
}

/// A migrated database with the admin plugin's ban columns, and a server issuing JWTs on it.
async fn server(db: &Db, dir: &std::path::Path) -> TestServer {
    common::server::migrate(&db.url).await;
    let ban = match db.url.starts_with("sqlite:") {
        true => {
            r#"ALTER TABLE "user" ADD COLUMN "banned" integer; ALTER TABLE "user" ADD COLUMN "banExpires" date;"#
        }
        false => {
            r#"ALTER TABLE "user" ADD COLUMN "banned" boolean, ADD COLUMN "banExpires" timestamptz;"#
        }
    };
    exec(&db.url, ban).await;
    let callers = common::files::callers_file(dir, API_KEY, "");
    let mut args = common::server::settings_with_file(&db.url, SECRET, &callers);
    args.base_url = Some("http://127.0.0.1:3000".into());
    TestServer::start(args).await
}

fn with_key<T>(msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut()
        .insert("x-api-key", API_KEY.parse().unwrap());
    r
}

async fn issue(s: &TestServer, subject: Subject) -> Result<String, Status> {
    let req = IssueTokenRequest {
        subject: Some(subject),
        ..Default::default()
    };
    let r = s.client.clone().issue_token(with_key(req)).await;
    r.map(|r| r.into_inner().token)
}

async fn validate(s: &TestServer, token: &str) -> Result<(bool, Reason), Status> {
    let req = ValidateTokenRequest {
        token: token.into(),
        ..Default::default()
    };
    let r = s.client.clone().validate_token(req).await;
    r.map(|r| r.into_inner()).map(|r| (r.valid, r.reason()))
}

async fn get_session(s: &TestServer, token: &str) -> Result<prost_types::Timestamp, Status> {
    let req = GetSessionRequest {
        token: token.into(),
        disable_refresh: false,
    };
    let r = s.client.clone().get_session(req).await?.into_inner();
    Ok(r.session.and_then(|s| s.expires_at).unwrap_or_default())
}

/// A status this service made (it always attaches a reason), not a call lost to a panic.
fn answered<T: std::fmt::Debug>(what: &str, r: &Result<T, Status>) {
    if let Err(s) = r {
        let has_reason = s.get_error_details().error_info().is_some();
        assert!(has_reason, "{what}: no ErrorInfo, the call died: {s:?}");
        assert!(
            !s.message().contains("panic"),
            "{what}: {s:?} tells of a panic"
        );
    }
}

async fn health(s: &TestServer, service: &str) -> Option<ServingStatus> {
    let channel = tonic::transport::Endpoint::from_shared(s.channel_url()).ok()?;
    let mut client = HealthClient::new(channel.connect().await.ok()?);
    let req = HealthCheckRequest {
        service: service.into(),
    };
    let r = client.check(req).await.ok()?;
    Some(r.into_inner().status())
}

/// Polls the health entry until it is `want`.
async fn wait_health(s: &TestServer, service: &str, want: ServingStatus) {
    let started = Instant::now();
    while health(s, service).await != Some(want) {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{service:?} health never turned {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every RPC once, on a session whose rows hold the odd value.
async fn every_rpc_answers(s: &TestServer, what: &str, user_id: &str, token: &str) {
    answered(what, &validate(s, token).await);
    answered(what, &get_session(s, token).await);
    answered(what, &issue(s, Subject::SessionToken(token.into())).await);
    answered(what, &issue(s, Subject::UserId(user_id.into())).await);
    answered(what, &validate(s, UNKNOWN_KID_JWT).await);
    assert!(health(s, "").await.is_some(), "{what}: health answers");
    assert!(health(s, ISSUE_HEALTH).await.is_some(), "{what}: health");
}

fn target(table: &str, column: &str, rows: Rows, user_id: &str, token: &str) -> String {
    let filter = match rows {
        Rows::Session => format!(r#"WHERE "token" = '{token}'"#),
        Rows::User => format!(r#"WHERE "id" = '{user_id}'"#),
        Rows::All => String::new(),
    };
    format!(r#"UPDATE "{table}" SET "{column}" = {{}} {filter}"#)
}

/// Each value in each date column in turn, on a fresh session; jwks rows are put back after.
async fn odd_values_never_drop_a_call(db: Db, values: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let s = server(&db, dir.path()).await;
    let (user_id, token) = common::fixtures::live_session(s.store.as_ref(), "Seed").await;
    issue(&s, Subject::SessionToken(token)).await.unwrap();
    let good = common::sql::date(&common::fixtures::now_millis());
    for &(table, column, rows) in COLUMNS {
        for value in values {
            let what = format!("{table}.{column} = {value}");
            let (user_id, token) = common::fixtures::live_session(s.store.as_ref(), "Odd").await;
            let update = target(table, column, rows, &user_id, &token);
            exec(&db.url, &update.replace("{}", value)).await;
            let ban = format!(r#"UPDATE "user" SET "banned" = {}"#, ban_true(&db));
            exec(&db.url, &ban).await;
            every_rpc_answers(&s, &what, &user_id, &token).await;
            exec(&db.url, &reset(table, column, &good)).await;
        }
    }
    still_serving(&s, &user_id).await;
    s.stop().await;
}

fn ban_true(db: &Db) -> &'static str {
    if db.url.starts_with("sqlite:") {
        "1"
    } else {
        "true"
    }
}

/// No user banned, and a `jwks` column back to a good value (`expiresAt` NULL: live).
fn reset(table: &str, column: &str, good: &str) -> String {
    let unban = r#"UPDATE "user" SET "banned" = NULL"#;
    match (table, column) {
        ("jwks", "createdAt") => format!(r#"{unban}; UPDATE "jwks" SET "createdAt" = {good}"#),
        ("jwks", _) => format!(r#"{unban}; UPDATE "jwks" SET "{column}" = NULL"#),
        _ => unban.to_owned(),
    }
}

async fn still_serving(s: &TestServer, user_id: &str) {
    let (_, token) = common::fixtures::live_session(s.store.as_ref(), "After").await;
    assert_eq!(
        validate(s, &token).await.unwrap(),
        (true, Reason::Unspecified)
    );
    assert!(get_session(s, &token).await.is_ok());
    issue(s, Subject::UserId(user_id.into())).await.unwrap();
    wait_health(s, "", ServingStatus::Serving).await;
    wait_health(s, ISSUE_HEALTH, ServingStatus::Serving).await;
}

/// The issuing health watcher survives a key row it cannot read: after it, a broken key still
/// turns health NOT_SERVING.
async fn health_watcher_survives(db: Db, value: &str) {
    let dir = tempfile::tempdir().unwrap();
    let s = server(&db, dir.path()).await;
    let (_, token) = common::fixtures::live_session(s.store.as_ref(), "Seed").await;
    issue(&s, Subject::SessionToken(token)).await.unwrap();
    wait_health(&s, ISSUE_HEALTH, ServingStatus::Serving).await;
    exec(
        &db.url,
        &format!(r#"UPDATE "jwks" SET "createdAt" = {value}"#),
    )
    .await;
    // Two probe periods: long enough for the watcher to read the odd row.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let good = common::sql::date(&common::fixtures::now_millis());
    exec(
        &db.url,
        &format!(
            r#"UPDATE "jwks" SET "createdAt" = {good}, "id" = 'new-kid', "privateKey" = '"00"'"#
        ),
    )
    .await;
    wait_health(&s, ISSUE_HEALTH, ServingStatus::NotServing).await;
    assert_eq!(health(&s, "").await, Some(ServingStatus::Serving));
    s.stop().await;
}

/// Better Auth's reading of PostgreSQL's infinities (`postgres-date` gives ±Infinity): an
/// `infinity` session never expires and is never refreshed, a `-infinity` one is expired
/// (and deleted by GetSession). The Timestamp sent is the end of protobuf's range.
async fn pg_infinity_is_better_auths_reading() {
    let db = Db::postgres().await;
    let dir = tempfile::tempdir().unwrap();
    let s = server(&db, dir.path()).await;
    let (_, live) = common::fixtures::live_session(s.store.as_ref(), "Forever").await;
    let (_, dead) = common::fixtures::live_session(s.store.as_ref(), "Never").await;
    let set = |token: &str, v: &str| {
        format!(r#"UPDATE "session" SET "expiresAt" = '{v}' WHERE "token" = '{token}'"#)
    };
    exec(&db.url, &set(&live, "infinity")).await;
    exec(&db.url, &set(&dead, "-infinity")).await;
    assert_eq!(
        validate(&s, &live).await.unwrap(),
        (true, Reason::Unspecified)
    );
    let end = get_session(&s, &live).await.unwrap();
    assert_eq!((end.seconds, end.nanos), (253_402_300_799, 999_999_999));
    assert_eq!(get_session(&s, &live).await.unwrap(), end, "not refreshed");
    assert_eq!(
        validate(&s, &dead).await.unwrap(),
        (false, Reason::SessionExpired)
    );
    let e = get_session(&s, &dead).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    assert_eq!(
        validate(&s, &dead).await.unwrap(),
        (false, Reason::SessionNotFound)
    );
    s.stop().await;
}

/// A database error whose text echoes the request (a `uuid` id column given a non-uuid) reaches
/// the caller as a fixed message; the text goes to the log only.
async fn pg_error_text_is_not_echoed() {
    let db = Db::postgres().await;
    common::server::migrate(&db.url).await;
    exec(&db.url, UUID_IDS).await;
    let dir = tempfile::tempdir().unwrap();
    let callers = common::files::callers_file(dir.path(), API_KEY, "");
    let mut args = common::server::settings_with_file(&db.url, SECRET, &callers);
    args.base_url = Some("http://127.0.0.1:3000".into());
    let s = TestServer::start(args).await;
    let e = issue(&s, Subject::UserId("not-a-uuid' OR 1=1".into()))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Internal, "{e:?}");
    assert_eq!(e.message(), "database error");
    let info = e.get_error_details().error_info().map(|i| i.reason.clone());
    assert_eq!(info.as_deref(), Some("DATABASE_ERROR"));
    s.stop().await;
}

const UUID_IDS: &str = r#"ALTER TABLE "session" DROP CONSTRAINT "session_userId_fkey";
ALTER TABLE "account" DROP CONSTRAINT "account_userId_fkey";
ALTER TABLE "session" ALTER COLUMN "userId" TYPE uuid USING "userId"::uuid;
ALTER TABLE "user" ALTER COLUMN "id" TYPE uuid USING "id"::uuid;"#;

/// `timestamp without time zone` columns (Prisma's, Drizzle's) hold UTC wall-clock time here,
/// read and written the same whatever the database's TimeZone: sqlx opens every session with
/// TimeZone=UTC (over the server's, the database's and a URL's `options=-c TimeZone=…`), and
/// timestamps travel as binary microseconds, never as text in a zone.
async fn pg_naive_timestamps_are_utc() {
    let db = Db::postgres().await;
    common::server::migrate(&db.url).await;
    exec(&db.url, NAIVE_SESSION_DATES).await;
    let url = at_utc_plus_14(&db.url);
    assert_eq!(
        database_time_zone(&url).await,
        "TimeZone=Pacific/Kiritimati"
    );
    assert_eq!(time_zone(&url).await, "UTC");
    let s = TestServer::start(common::server::settings(&url, SECRET)).await;
    let (_, token) = common::fixtures::live_session(s.store.as_ref(), "Naive").await;
    let set = format!(
        r#"UPDATE "session" SET "expiresAt" = '2030-01-01 12:00:00' WHERE "token" = '{token}'"#
    );
    exec(&db.url, &set).await;
    let req = GetSessionRequest {
        token: token.clone(),
        disable_refresh: true,
    };
    let r = s
        .client
        .clone()
        .get_session(req)
        .await
        .unwrap()
        .into_inner();
    let expires = r.session.unwrap().expires_at.unwrap();
    assert_eq!(expires.seconds, 1_893_499_200, "2030-01-01T12:00:00Z");
    refresh_writes_utc(&db, &s, &token).await;
    s.stop().await;
}

/// Naive session dates, in a database whose default zone is UTC+14.
const NAIVE_SESSION_DATES: &str = r#"ALTER TABLE "session" ALTER COLUMN "expiresAt" TYPE timestamp,
    ALTER COLUMN "createdAt" TYPE timestamp, ALTER COLUMN "updatedAt" TYPE timestamp;
DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET TimeZone = %L', current_database(),
    'Pacific/Kiritimati'); END $$;"#;

fn at_utc_plus_14(url: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20TimeZone%3DPacific%2FKiritimati")
}

async fn database_time_zone(url: &str) -> String {
    let sql = "SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting \
               WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())";
    scalar(url, sql).await
}

/// A refresh due (an hour left) writes now + 7 days as UTC wall-clock time.
async fn refresh_writes_utc(db: &Db, s: &TestServer, token: &str) {
    let utc_now = "(now() AT TIME ZONE 'UTC')";
    let set = format!(
        r#"UPDATE "session" SET "expiresAt" = {utc_now} + interval '1 hour' WHERE "token" = '{token}'"#
    );
    exec(&db.url, &set).await;
    get_session(s, token).await.unwrap();
    let left = format!(
        r#"SELECT extract(epoch FROM "expiresAt" - {utc_now})::text FROM "session" WHERE "token" = '{token}'"#
    );
    let left: f64 = scalar(&db.url, &left).await.parse().unwrap();
    assert!(
        (left - 604_800.0).abs() < 60.0,
        "{left} s left, want 7 days"
    );
}

async fn time_zone(url: &str) -> String {
    scalar(url, "SHOW TimeZone").await
}

async fn scalar(url: &str, sql: &str) -> String {
    let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(url)
        .await
        .unwrap();
    sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
}

mod postgres {
    use super::*;

    #[tokio::test]
    async fn odd_values_never_drop_a_call() {
        super::odd_values_never_drop_a_call(Db::postgres().await, PG_VALUES).await;
    }

    #[tokio::test]
    async fn health_watcher_survives() {
        super::health_watcher_survives(Db::postgres().await, "'infinity'").await;
    }

    #[tokio::test]
    async fn infinity_is_better_auths_reading() {
        super::pg_infinity_is_better_auths_reading().await;
    }

    #[tokio::test]
    async fn error_text_is_not_echoed() {
        super::pg_error_text_is_not_echoed().await;
    }

    #[tokio::test]
    async fn naive_timestamps_are_utc() {
        super::pg_naive_timestamps_are_utc().await;
    }
}

mod sqlite {
    use super::*;

    #[tokio::test]
    async fn odd_values_never_drop_a_call() {
        super::odd_values_never_drop_a_call(Db::sqlite().await, SQLITE_VALUES).await;
    }

    #[tokio::test]
    async fn health_watcher_survives() {
        super::health_watcher_survives(Db::sqlite().await, "'garbage'").await;
    }
}
