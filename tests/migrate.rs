//! `better-auth-grpc migrate` and the start-up schema check, on both engines: the schema it
//! creates is the one Better Auth's own migration creates (catalog by catalog), Better Auth runs
//! on it, it refuses partial databases, and `serve` names what is missing.
mod common;

use std::sync::Arc;

use better_auth_grpc::{
    app::{self, App, MigrateOutcome},
    clock::SystemClock,
    proto::auth::v1::ValidateTokenRequest,
};
use common::{
    better_auth::{BetterAuth, BetterAuthOptions, DEFAULT_SECRET},
    db::Db,
    server::{self, TestServer},
};
use sqlx::{Connection, PgConnection, SqliteConnection};

/// Runs `sql` (statements, no parameters) on either engine.
async fn exec(url: &str, sql: &str) {
    if url.starts_with("sqlite:") {
        let mut c = SqliteConnection::connect(url)
            .await
            .expect("sqlite connects");
        sqlx::raw_sql(sql).execute(&mut c).await.expect("sql runs");
        c.close().await.expect("close");
    } else {
        let mut c = PgConnection::connect(url).await.expect("postgres connects");
        sqlx::raw_sql(sql).execute(&mut c).await.expect("sql runs");
        c.close().await.expect("close");
    }
}

/// One catalog query, each row flattened to one text column.
async fn pg_rows(c: &mut PgConnection, sql: &str) -> Vec<String> {
    sqlx::query_scalar::<_, String>(sql)
        .fetch_all(&mut *c)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Everything PostgreSQL knows about the schema, by section, with the schema name removed.
async fn pg_catalog(url: &str) -> Vec<(&'static str, Vec<String>)> {
    let mut c = PgConnection::connect(url).await.expect("postgres connects");
    let schema: String = sqlx::query_scalar("SELECT current_schema()::text")
        .fetch_one(&mut c)
        .await
        .unwrap();
    let queries = [
        (
            "tables",
            "SELECT concat_ws(' | ', table_name, table_type) FROM information_schema.tables \
             WHERE table_schema = current_schema() ORDER BY 1",
        ),
        (
            "columns",
            "SELECT concat_ws(' | ', table_name, ordinal_position::text, column_name, data_type, \
             is_nullable, coalesce(column_default, '<no default>')) \
             FROM information_schema.columns WHERE table_schema = current_schema() \
             ORDER BY table_name, ordinal_position",
        ),
        (
            "constraints",
            "SELECT concat_ws(' | ', conrelid::regclass::text, conname::text, contype::text, \
             pg_get_constraintdef(oid), confdeltype::text, confupdtype::text) FROM pg_constraint \
             WHERE connamespace = current_schema()::regnamespace ORDER BY 1",
        ),
        (
            "indexes",
            "SELECT concat_ws(' | ', tablename, indexname, indexdef) FROM pg_indexes \
             WHERE schemaname = current_schema() ORDER BY 1",
        ),
        (
            "relations",
            "SELECT concat_ws(' | ', relname::text, relkind::text) FROM pg_class \
             WHERE relnamespace = current_schema()::regnamespace ORDER BY 1",
        ),
    ];
    let mut out = Vec::new();
    for (name, sql) in queries {
        let rows = pg_rows(&mut c, sql)
            .await
            .into_iter()
            .map(|r| r.replace(&format!("{schema}."), "<schema>."))
            .collect();
        out.push((name, rows));
    }
    c.close().await.unwrap();
    out
}

async fn sqlite_master(url: &str) -> Vec<(String, String, String, Option<String>)> {
    let mut c = SqliteConnection::connect(url)
        .await
        .expect("sqlite connects");
    let rows = sqlx::query_as("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name")
        .fetch_all(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
    rows
}

async fn our_migrate(url: &str) -> Result<MigrateOutcome, String> {
    let c = server::config(&server::settings(url, DEFAULT_SECRET));
    app::migrate(&c.database).await.map_err(|e| e.to_string())
}

async fn build_app(url: &str) -> Result<App, String> {
    let c = server::config(&server::settings(url, DEFAULT_SECRET));
    App::build(c, Arc::new(SystemClock))
        .await
        .map_err(|e| e.to_string())
}

/// Better Auth's options for a database of either engine (a SQLite file is given by path).
fn ba_options(db: &Db) -> BetterAuthOptions {
    match db.sqlite_path() {
        Some(path) => BetterAuthOptions::sqlite(path),
        None => BetterAuthOptions::new(db.url.clone()),
    }
}

const TABLES: [&str; 5] = ["account", "jwks", "session", "user", "verification"];

#[tokio::test]
async fn postgres_schema_is_identical_to_better_auths() {
    let (ours, theirs) = (Db::postgres().await, Db::postgres().await);
    assert_eq!(our_migrate(&ours.url).await, Ok(MigrateOutcome::Created));
    BetterAuth::migrate_only(BetterAuthOptions::new(theirs.url.clone())).await;

    let (ours, theirs) = (pg_catalog(&ours.url).await, pg_catalog(&theirs.url).await);
    for ((section, mine), (_, want)) in ours.iter().zip(&theirs) {
        assert_eq!(mine, want, "{section} differ from Better Auth's migration");
    }
    // The comparison is not between two empty catalogs.
    let section = |name: &str| &ours.iter().find(|(s, _)| *s == name).unwrap().1;
    let tables: Vec<String> = TABLES.iter().map(|t| format!("{t} | BASE TABLE")).collect();
    assert_eq!(section("tables"), &tables);
    assert_eq!(section("columns").len(), 7 + 8 + 13 + 6 + 7);
    assert!(section("columns").contains(
        &"session | 2 | expiresAt | timestamp with time zone | NO | <no default>".into()
    ));
    assert!(section("columns").contains(
        &"user | 6 | createdAt | timestamp with time zone | NO | CURRENT_TIMESTAMP".into()
    ));
    let constraints = section("constraints").join("\n");
    for want in [
        "session | session_userId_fkey | f | FOREIGN KEY (\"userId\") REFERENCES \"user\"(id) ON DELETE CASCADE | c | a",
        "account | account_userId_fkey | f | FOREIGN KEY (\"userId\") REFERENCES \"user\"(id) ON DELETE CASCADE | c | a",
        "session | session_token_key | u | UNIQUE (token)",
        "\"user\" | user_email_key | u | UNIQUE (email)",
        "jwks | jwks_pkey | p | PRIMARY KEY (id)",
    ] {
        assert!(constraints.contains(want), "missing {want:?} in\n{constraints}");
    }
    let indexes = section("indexes").join("\n");
    for want in [
        "session_userId_idx",
        "account_userId_idx",
        "verification_identifier_idx",
        "session_token_key",
    ] {
        assert!(indexes.contains(want), "missing index {want} in\n{indexes}");
    }
}

#[tokio::test]
async fn sqlite_schema_is_identical_to_better_auths() {
    let (ours, theirs) = (Db::sqlite().await, Db::sqlite().await);
    assert_eq!(our_migrate(&ours.url).await, Ok(MigrateOutcome::Created));
    BetterAuth::migrate_only(ba_options(&theirs)).await;

    let (mine, want) = (
        sqlite_master(&ours.url).await,
        sqlite_master(&theirs.url).await,
    );
    assert_eq!(
        mine, want,
        "sqlite_master differs from Better Auth's migration"
    );
    let tables: Vec<&str> = mine
        .iter()
        .filter(|r| r.0 == "table")
        .map(|r| r.1.as_str())
        .collect();
    assert_eq!(tables, TABLES);
    let session = mine
        .iter()
        .find(|r| r.1 == "session")
        .and_then(|r| r.3.clone())
        .unwrap();
    assert!(session.contains("\"expiresAt\" date not null"), "{session}");
    assert!(
        session.contains("references \"user\" (\"id\") on delete cascade"),
        "{session}"
    );
    let indexes: Vec<&str> = mine
        .iter()
        .filter(|r| r.0 == "index" && r.3.is_some())
        .map(|r| r.1.as_str())
        .collect();
    assert_eq!(
        indexes,
        [
            "account_userId_idx",
            "session_userId_idx",
            "verification_identifier_idx"
        ]
    );
}

/// Better Auth signs a user up on a database made by our migrate, and this service then
/// recognises the cookie Better Auth set.
async fn better_auth_runs_on_our_schema(db: Db) {
    assert_eq!(our_migrate(&db.url).await, Ok(MigrateOutcome::Created));
    let mut opts = ba_options(&db);
    opts.migrate = false;
    let ba = BetterAuth::start(opts).await;
    let signed = ba
        .sign_up("ada@example.com", "correct horse battery", "Ada")
        .await;
    let (status, body, _) = ba.get_session_cookie(&signed.cookie_header).await;
    assert_eq!(status, 200);
    assert_eq!(body["user"]["id"], signed.user_id.as_str(), "{body}");
    assert_eq!(body["session"]["token"], signed.token.as_str(), "{body}");

    let server = TestServer::start(server::settings(&db.url, DEFAULT_SECRET)).await;
    for credential in [
        signed.cookie_header.clone(),
        signed.token.clone(),
        format!("Bearer {}", signed.set_auth_token.clone().unwrap()),
    ] {
        let req = ValidateTokenRequest {
            token: credential.clone(),
            ..Default::default()
        };
        let r = server
            .client
            .clone()
            .validate_token(req)
            .await
            .expect("status OK")
            .into_inner();
        assert!(r.valid, "{credential}: {r:?}");
        assert_eq!(r.user.as_ref().unwrap().id, signed.user_id);
        assert_eq!(r.user.as_ref().unwrap().email, "ada@example.com");
        assert_eq!(r.session.as_ref().unwrap().token, signed.token);
    }
    server.stop().await;
}

#[tokio::test]
async fn better_auth_runs_on_our_postgres_schema() {
    better_auth_runs_on_our_schema(Db::postgres().await).await;
}

#[tokio::test]
async fn better_auth_runs_on_our_sqlite_schema() {
    better_auth_runs_on_our_schema(Db::sqlite().await).await;
}

async fn second_migrate_is_a_no_op(db: Db) {
    assert_eq!(our_migrate(&db.url).await, Ok(MigrateOutcome::Created));
    assert_eq!(
        our_migrate(&db.url).await,
        Ok(MigrateOutcome::AlreadyPresent)
    );
    // And the schema it left is served.
    build_app(&db.url)
        .await
        .expect("serve accepts the migrated schema");
}

#[tokio::test]
async fn postgres_second_migrate_is_a_no_op() {
    second_migrate_is_a_no_op(Db::postgres().await).await;
}

#[tokio::test]
async fn sqlite_second_migrate_is_a_no_op() {
    second_migrate_is_a_no_op(Db::sqlite().await).await;
}

const USER_PG: &str = r#"create table "user" ("id" text not null primary key, "name" text not null, "email" text not null unique, "emailVerified" boolean not null, "image" text, "createdAt" timestamptz default CURRENT_TIMESTAMP not null, "updatedAt" timestamptz default CURRENT_TIMESTAMP not null);"#;
const USER_SQLITE: &str = r#"create table "user" ("id" text not null primary key, "name" text not null, "email" text not null unique, "emailVerified" integer not null, "image" text, "createdAt" date not null, "updatedAt" date not null);"#;
/// Better Auth's session table without "expiresAt".
const SESSION_PG: &str = r#"create table "session" ("id" text not null primary key, "token" text not null unique, "createdAt" timestamptz default CURRENT_TIMESTAMP not null, "updatedAt" timestamptz not null, "ipAddress" text, "userAgent" text, "userId" text not null references "user" ("id") on delete cascade);"#;
const SESSION_SQLITE: &str = r#"create table "session" ("id" text not null primary key, "token" text not null unique, "createdAt" date not null, "updatedAt" date not null, "ipAddress" text, "userAgent" text, "userId" text not null references "user" ("id") on delete cascade);"#;

fn user_ddl(db: &Db) -> &'static str {
    if db.sqlite_path().is_some() {
        USER_SQLITE
    } else {
        USER_PG
    }
}

async fn table_count(url: &str) -> usize {
    if url.starts_with("sqlite:") {
        sqlite_master(url)
            .await
            .iter()
            .filter(|r| r.0 == "table")
            .count()
    } else {
        pg_catalog(url).await[0].1.len()
    }
}

async fn partial_database_is_refused(db: Db) {
    exec(&db.url, user_ddl(&db)).await;
    let e = our_migrate(&db.url)
        .await
        .expect_err("migrate refuses a partial schema");
    assert!(e.contains("already has user"), "{e}");
    assert!(
        e.contains("lacks session, account, verification, jwks"),
        "{e}"
    );
    assert_eq!(
        table_count(&db.url).await,
        1,
        "migrate must not touch a partial database"
    );
}

#[tokio::test]
async fn postgres_partial_database_is_refused() {
    partial_database_is_refused(Db::postgres().await).await;
}

#[tokio::test]
async fn sqlite_partial_database_is_refused() {
    partial_database_is_refused(Db::sqlite().await).await;
}

async fn serve_names_missing_table(db: Db) {
    if let Some(path) = db.sqlite_path() {
        std::fs::File::create(path).unwrap(); // an existing, empty SQLite file
    }
    let e = build_app(&db.url)
        .await
        .err()
        .expect("serve refuses an empty database");
    assert!(e.contains("table \"user\" does not exist"), "{e}");
    assert!(e.contains("better-auth-grpc migrate"), "{e}");
    assert_eq!(
        table_count(&db.url).await,
        0,
        "serve must not create anything"
    );
}

#[tokio::test]
async fn postgres_serve_names_missing_table() {
    serve_names_missing_table(Db::postgres().await).await;
}

#[tokio::test]
async fn sqlite_serve_names_missing_table() {
    serve_names_missing_table(Db::sqlite().await).await;
}

async fn serve_names_missing_column(db: Db) {
    let session = if db.sqlite_path().is_some() {
        SESSION_SQLITE
    } else {
        SESSION_PG
    };
    exec(&db.url, &format!("{}\n{session}", user_ddl(&db))).await;
    let e = build_app(&db.url)
        .await
        .err()
        .expect("serve refuses a session table without expiresAt");
    assert!(e.contains("table \"session\""), "{e}");
    assert!(e.contains("\"expiresAt\""), "{e}");
    for present in ["\"token\"", "\"userId\"", "\"updatedAt\""] {
        assert!(
            !e.contains(present),
            "names a column that exists ({present}): {e}"
        );
    }
    assert!(e.contains("migrate"), "{e}");
}

#[tokio::test]
async fn postgres_serve_names_missing_column() {
    serve_names_missing_column(Db::postgres().await).await;
}

#[tokio::test]
async fn sqlite_serve_names_missing_column() {
    serve_names_missing_column(Db::sqlite().await).await;
}
