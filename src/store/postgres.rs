//! PostgreSQL (and Neon): Better Auth's Kysely schema, `timestamptz` dates, native booleans.
use std::{str::FromStr, time::Duration};

use chrono::{DateTime, Utc};
use sqlx::{
    pool::PoolConnection,
    postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgQueryResult, PgRow},
    Acquire, Postgres, Row,
};

use super::catalog;
use super::columns::{Column, ColumnKind, DbValue};
use super::dialect::{Dialect, Param, Query};
use super::pg_time;
use super::schema::SchemaNames;
use super::sql_store::SqlStore;
use super::statements::Statements;
use super::{map_sqlx, SchemaState, StoreError};

pub const MIGRATION: &str = include_str!("../../migrations/postgres/0001_better_auth.sql");

#[derive(Clone)]
pub struct PgSettings {
    pub url: String,
    /// Schema holding Better Auth's tables (`search_path`); None = the server's default.
    pub schema: Option<String>,
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// Named prepared statements; false behind a transaction-mode pooler (see `statements`).
    pub prepared_statements: bool,
}

/// The setting to name when a pooler is found in front of the database.
pub const POOLER_HINT: &str =
    "a transaction-mode pooler (PgBouncer, Supabase's pooler, RDS Proxy) \
     is in front of the database: start with --db-prepared-statements false \
     (BETTER_AUTH_GRPC_DB_PREPARED_STATEMENTS=false)";

pub fn pool(s: &PgSettings) -> Result<PgPool, StoreError> {
    let mut opts = PgConnectOptions::from_str(&s.url)
        .map_err(|e| StoreError::Other(format!("DATABASE_URL is not a valid PostgreSQL URL: {e}")))?
        .application_name("better-auth-grpc")
        // Only text-format floats need it, and this service reads binary; PgBouncer refuses
        // start-up parameters it does not know unless told to ignore them.
        .extra_float_digits(None);
    if let Some(schema) = &s.schema {
        opts = opts.options([("search_path", schema.as_str())]);
    }
    Ok(PgPoolOptions::new()
        .max_connections(s.max_connections)
        .acquire_timeout(s.acquire_timeout)
        .connect_lazy_with(opts))
}

pub type PgStore = SqlStore<Pg>;

/// Opens the store; with prepared statements on, first makes sure no pooler passes our
/// statement names on to server connections it shares between clients.
pub async fn open(
    s: &PgSettings,
    names: &SchemaNames,
    booleans: &[String],
) -> Result<PgStore, StoreError> {
    let pool = pool(s)?;
    let how = match s.prepared_statements {
        true => Statements::Prepared,
        false => Statements::Pinned,
    };
    if how == Statements::Prepared && s.max_connections > 1 && names_leak(&pool).await? {
        return Err(StoreError::Other(POOLER_HINT.into()));
    }
    PgStore::open_with(pool, how, names, booleans).await
}

/// Prepared (named) by one connection, looked for from another.
const PROBE: &str = "SELECT 'better-auth-grpc: is this statement name seen elsewhere?'::text";

/// Whether a statement one connection prepares is seen by the server process of another: only
/// a transaction-mode pooler that hands server connections between clients as they are
/// (PgBouncer reuses the one released last first) does that. Poolers that rename statements
/// (PgBouncer 1.21+ with `max_prepared_statements`) or pin the client (RDS Proxy) do not.
async fn names_leak(pool: &PgPool) -> Result<bool, StoreError> {
    let (mut a, mut b) = (acquire(pool).await?, acquire(pool).await?);
    let mut tx = a.begin().await.map_err(map_sqlx)?;
    let named = sqlx::query(PROBE).fetch_one(&mut *tx).await;
    named.map_err(map_sqlx)?;
    tx.commit().await.map_err(map_sqlx)?;
    let mut tx = b.begin().await.map_err(map_sqlx)?;
    let seen = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_prepared_statements \
         WHERE name LIKE 'sqlx\\_s\\_%' AND statement = $1)",
    )
    .bind(PROBE)
    .persistent(false)
    .fetch_one(&mut *tx)
    .await
    .map_err(map_sqlx)?;
    tx.commit().await.map_err(map_sqlx)?;
    Ok(seen)
}

async fn acquire(pool: &PgPool) -> Result<PoolConnection<Postgres>, StoreError> {
    pool.acquire().await.map_err(map_sqlx)
}

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

    fn any_param(c: &Column, n: usize) -> Option<String> {
        Some(format!("ANY(CAST(${n} AS {}[]))", c.sql_type))
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
            Param::Texts(v) => q.bind(v),
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
