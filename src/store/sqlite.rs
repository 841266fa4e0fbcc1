//! SQLite: Better Auth stores dates as `toISOString()` TEXT and booleans as INTEGER 0/1.
use std::{str::FromStr, time::Duration};

use sqlx::{
    sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteQueryResult, SqliteRow},
    Row, Sqlite, TypeInfo, ValueRef,
};

use super::catalog;
use super::columns::{parse_time, sqlite_time, Column, ColumnKind, DbValue};
use super::dialect::{Dialect, Param, Query};
use super::sql_store::SqlStore;
use super::{SchemaState, StoreError};

pub const MIGRATION: &str = include_str!("../../migrations/sqlite/0001_better_auth.sql");

#[derive(Clone)]
pub struct SqliteSettings {
    pub url: String,
    /// Create the file when missing (the embedded default); otherwise it must exist.
    pub create: bool,
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

pub fn pool(s: &SqliteSettings) -> Result<SqlitePool, StoreError> {
    // foreign_keys is on by default in sqlx, as in better-sqlite3; the journal mode is left
    // as the file has it, so Better Auth's database is not converted to WAL behind its back.
    let opts = SqliteConnectOptions::from_str(&s.url)
        .map_err(|e| StoreError::Other(format!("DATABASE_URL is not a valid SQLite URL: {e}")))?
        .create_if_missing(s.create)
        .busy_timeout(s.acquire_timeout);
    Ok(SqlitePoolOptions::new()
        .max_connections(s.max_connections)
        .acquire_timeout(s.acquire_timeout)
        .connect_lazy_with(opts))
}

pub type SqliteStore = SqlStore<Lite>;

pub async fn schema_state(pool: &SqlitePool) -> Result<SchemaState, StoreError> {
    catalog::schema_state::<Lite>(pool).await
}

pub async fn migrate(pool: &SqlitePool) -> Result<(), StoreError> {
    catalog::migrate(pool, MIGRATION).await
}

pub struct Lite;

impl Dialect for Lite {
    type Db = Sqlite;

    const COLUMNS: &'static str = "SELECT name, type FROM pragma_table_info(?1) ORDER BY cid";
    const TABLE_EXISTS: &'static str =
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1";

    fn placeholder(n: usize) -> String {
        format!("?{n}")
    }

    fn column(r: &SqliteRow) -> Result<Column, sqlx::Error> {
        let (name, ty): (String, String) = (r.try_get(0)?, r.try_get(1)?);
        Ok(Column {
            name,
            kind: kind_of(&ty),
            sql_type: ty,
        })
    }

    fn exists(row: &SqliteRow) -> Result<bool, sqlx::Error> {
        Ok(row.try_get::<i64, _>(0)? > 0)
    }

    fn cell(row: &SqliteRow, i: usize, kind: ColumnKind) -> Result<DbValue, sqlx::Error> {
        cell(row, i, kind)
    }

    /// Dates as the `toISOString()` text Better Auth writes, whatever the column's declared type.
    fn bind<'q>(q: Query<'q, Sqlite>, p: Param<'q>) -> Query<'q, Sqlite> {
        match p {
            Param::Text(s) => q.bind(s),
            // Never built for SQLite: its `any_param` is None, so no query takes a list.
            Param::Texts(_) => q,
            Param::OptText(s) => q.bind(s),
            Param::Bool(b) => q.bind(i64::from(b)),
            Param::Time(_, t) => q.bind(sqlite_time(&t)),
            Param::OptTime(_, t) => q.bind(t.as_ref().map(sqlite_time)),
        }
    }

    fn rows_affected(done: &SqliteQueryResult) -> u64 {
        done.rows_affected()
    }
}

/// SQLite type affinity rules, plus Better Auth's `date` for dates.
fn kind_of(declared: &str) -> ColumnKind {
    let t = declared.to_ascii_lowercase();
    if t.contains("bool") {
        ColumnKind::Bool
    } else if t.contains("int") {
        ColumnKind::Int
    } else if t.contains("date") || t.contains("time") {
        ColumnKind::Time { tz: true }
    } else if t.contains("json") {
        ColumnKind::Json
    } else if t.contains("real") || t.contains("floa") || t.contains("doub") {
        ColumnKind::Float
    } else {
        ColumnKind::Text
    }
}

/// Decodes by the value's storage class (SQLite is dynamically typed), then by the column kind.
fn cell(row: &SqliteRow, i: usize, kind: ColumnKind) -> Result<DbValue, sqlx::Error> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(DbValue::Null);
    }
    let class = raw.type_info().name().to_owned();
    Ok(match (class.as_str(), kind) {
        ("INTEGER", ColumnKind::Bool) => DbValue::Bool(row.try_get::<i64, _>(i)? == 1),
        ("INTEGER", _) => DbValue::Int(row.try_get(i)?),
        ("REAL", _) => DbValue::Float(row.try_get(i)?),
        ("TEXT", ColumnKind::Time { .. }) => {
            let s: String = row.try_get(i)?;
            parse_time(&s).map_or(DbValue::Text(s), DbValue::Time)
        }
        ("TEXT", ColumnKind::Json) => {
            let s: String = row.try_get(i)?;
            serde_json::from_str(&s).map_or(DbValue::Text(s), DbValue::Json)
        }
        ("TEXT", _) => DbValue::Text(row.try_get(i)?),
        _ => DbValue::Null,
    })
}
