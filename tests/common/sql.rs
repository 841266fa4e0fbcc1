//! Direct SQL on a test database, for changing rows behind both services' backs.
use sqlx::{postgres::PgPoolOptions, sqlite::SqlitePoolOptions};

/// Runs `sql` (one or more statements, no parameters) against either engine.
pub async fn exec(url: &str, sql: &str) {
    if url.starts_with("sqlite:") {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await
            .expect("sqlite");
        sqlx::raw_sql(sql).execute(&pool).await.expect("sql");
        pool.close().await;
    } else {
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await
            .expect("postgres");
        sqlx::raw_sql(sql).execute(&pool).await.expect("sql");
        pool.close().await;
    }
}

/// A date literal both engines store as Better Auth does (timestamptz on PostgreSQL,
/// `toISOString()` text on SQLite).
pub fn date(t: &chrono::DateTime<chrono::Utc>) -> String {
    format!("'{}'", better_auth_grpc::domain::model::iso_millis(t))
}
