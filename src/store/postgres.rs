//! PostgreSQL (and Neon): Better Auth's Kysely schema, `timestamptz` dates, native booleans.
use std::{str::FromStr, time::Duration};

use chrono::{DateTime, Utc};
use sqlx::{
    postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgQueryResult, PgRow},
    Postgres, Row,
};

use super::catalog;
use super::columns::{Column, ColumnKind, DbValue};
use super::dialect::{Dialect, Param, Query};
use super::pg_time;
use super::sql_store::SqlStore;
use super::{SchemaState, StoreError};

pub const MIGRATION: &str = include_str!("../../migrations/postgres/0001_better_auth.sql");

#[derive(Clone)]
pub struct PgSettings {
    pub url: String,
    /// Schema holding Better Auth's tables (`search_path`); None = the server's default.
    pub schema: Option<String>,
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

pub fn pool(s: &PgSettings) -> Result<PgPool, StoreError> {
    let mut opts = PgConnectOptions::from_str(&s.url)
        .map_err(|e| StoreError::Other(format!("DATABASE_URL is not a valid PostgreSQL URL: {e}")))?
        .application_name("better-auth-grpc");
    if let Some(schema) = &s.schema {
        opts = opts.options([("search_path", schema.as_str())]);
    }
    Ok(PgPoolOptions::new()
        .max_connections(s.max_connections)
        .acquire_timeout(s.acquire_timeout)
        .connect_lazy_with(opts))
}

pub type PgStore = SqlStore<Pg>;

/// Lists which Better Auth tables exist in the current schema.
pub async fn schema_state(pool: &PgPool) -> Result<SchemaState, StoreError> {
    catalog::schema_state::<Pg>(pool).await
}

pub async fn migrate(pool: &PgPool) -> Result<(), StoreError> {
    catalog::migrate(pool, MIGRATION).await
}

pub struct Pg;

impl Dialect for Pg {
    type Db = Postgres;

    const COLUMNS: &'static str =
        "SELECT column_name::text, data_type::text, udt_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position";
    const TABLE_EXISTS: &'static str =
        "SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1)";

    fn placeholder(n: usize) -> String {
        format!("${n}")
    }

    /// Cast to the column's own type, so uuid or integer ids compare without defeating indexes.
    fn param(c: &Column, n: usize) -> String {
        format!("CAST(${n} AS {})", c.sql_type)
    }

    /// Exotic types are read as text; integers and floats are widened so one decoder fits all.
    fn select(c: &Column, expr: String) -> String {
        match c.kind {
            ColumnKind::Other => format!("CAST({expr} AS text)"),
            ColumnKind::Int => format!("CAST({expr} AS bigint)"),
            ColumnKind::Float => format!("CAST({expr} AS double precision)"),
            ColumnKind::Json => format!("CAST({expr} AS jsonb)"),
            _ => expr,
        }
    }

    fn column(r: &PgRow) -> Result<Column, sqlx::Error> {
        let (name, data_type, udt): (String, String, String) =
            (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
        let kind = kind_of(&data_type);
        let sql_type = if data_type == "USER-DEFINED" || data_type == "ARRAY" {
            udt
        } else {
            data_type
        };
        Ok(Column {
            name,
            kind,
            sql_type,
        })
    }

    fn exists(row: &PgRow) -> Result<bool, sqlx::Error> {
        row.try_get(0)
    }

    fn cell(row: &PgRow, i: usize, kind: ColumnKind) -> Result<DbValue, sqlx::Error> {
        cell(row, i, kind)
    }

    /// Dates go in as the column's type wants them; a missing one as a NULL `timestamptz`.
    fn bind<'q>(q: Query<'q, Postgres>, p: Param<'q>) -> Query<'q, Postgres> {
        match p {
            Param::Text(s) => q.bind(s),
            Param::OptText(s) => q.bind(s),
            Param::Bool(b) => q.bind(b),
            Param::Time(c, t) | Param::OptTime(c, Some(t)) => bind_time(q, c, t),
            Param::OptTime(_, None) => q.bind(None::<DateTime<Utc>>),
        }
    }

    fn rows_affected(done: &PgQueryResult) -> u64 {
        done.rows_affected()
    }
}

fn kind_of(data_type: &str) -> ColumnKind {
    match data_type {
        "text" | "character varying" | "character" => ColumnKind::Text,
        "boolean" => ColumnKind::Bool,
        "smallint" | "integer" | "bigint" => ColumnKind::Int,
        "real" | "double precision" => ColumnKind::Float,
        "timestamp with time zone" => ColumnKind::Time { tz: true },
        "timestamp without time zone" => ColumnKind::Time { tz: false },
        "json" | "jsonb" => ColumnKind::Json,
        _ => ColumnKind::Other,
    }
}

fn cell(row: &PgRow, i: usize, kind: ColumnKind) -> Result<DbValue, sqlx::Error> {
    let v = match kind {
        ColumnKind::Text | ColumnKind::Other => {
            row.try_get::<Option<String>, _>(i)?.map(DbValue::Text)
        }
        ColumnKind::Bool => row.try_get::<Option<bool>, _>(i)?.map(DbValue::Bool),
        ColumnKind::Int => row.try_get::<Option<i64>, _>(i)?.map(DbValue::Int),
        ColumnKind::Float => row.try_get::<Option<f64>, _>(i)?.map(DbValue::Float),
        ColumnKind::Time { .. } => return pg_time::cell(row, i),
        ColumnKind::Json => row
            .try_get::<Option<serde_json::Value>, _>(i)?
            .map(DbValue::Json),
    };
    Ok(v.unwrap_or(DbValue::Null))
}

fn bind_time<'q>(q: Query<'q, Postgres>, c: &Column, t: DateTime<Utc>) -> Query<'q, Postgres> {
    match c.kind {
        ColumnKind::Time { tz: false } => q.bind(t.naive_utc()),
        _ => q.bind(t),
    }
}
