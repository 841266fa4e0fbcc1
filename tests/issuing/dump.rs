//! Every table of a database as sorted text rows, to tell whether anything at all changed.
use std::collections::BTreeMap;

use sqlx::{Connection, PgConnection, SqliteConnection};

pub type Tables = BTreeMap<String, Vec<String>>;

pub async fn tables(url: &str) -> Tables {
    if url.starts_with("sqlite:") {
        sqlite(url).await
    } else {
        postgres(url).await
    }
}

async fn postgres(url: &str) -> Tables {
    let mut db = PgConnection::connect(url).await.expect("postgres");
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()",
    )
    .fetch_all(&mut db)
    .await
    .expect("tables");
    let mut out = Tables::new();
    for name in names {
        // A row cast to text holds every column, whatever the schema.
        let sql = format!("SELECT t::text FROM \"{name}\" t ORDER BY 1");
        let rows = sqlx::query_scalar(&sql)
            .fetch_all(&mut db)
            .await
            .expect("rows");
        out.insert(name, rows);
    }
    out
}

async fn sqlite(url: &str) -> Tables {
    let mut db = SqliteConnection::connect(url).await.expect("sqlite");
    let names: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .fetch_all(&mut db)
            .await
            .expect("tables");
    let mut out = Tables::new();
    for name in names {
        let columns: Vec<String> =
            sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{name}')"))
                .fetch_all(&mut db)
                .await
                .expect("columns");
        let row = columns
            .iter()
            .map(|c| format!("quote(\"{c}\")"))
            .collect::<Vec<_>>()
            .join(" || ',' || ");
        let sql = format!("SELECT {row} FROM \"{name}\" ORDER BY 1");
        let rows = sqlx::query_scalar(&sql)
            .fetch_all(&mut db)
            .await
            .expect("rows");
        out.insert(name, rows);
    }
    out
}
