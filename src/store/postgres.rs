//! PostgreSQL (and Neon): Better Auth's Kysely schema, `timestamptz` dates, native booleans.
use std::{str::FromStr, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use sqlx::{
    postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow},
    Row,
};

use super::columns::{Column, ColumnKind, DbValue, Layouts, TableLayout};
use super::schema::{SchemaNames, Table};
use super::{map_sqlx, SchemaState, SessionRow, Store, StoreError};
use crate::domain::model::{JwkRow, Session, User};

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

pub struct PgStore {
    pool: PgPool,
    user: TableLayout,
    session: TableLayout,
    jwks: Option<TableLayout>,
    q: Queries,
}

struct Queries {
    find_session: String,
    refresh: String,
    delete: String,
    find_user: String,
    find_user_by_email: String,
    latest_session: String,
    list_jwks: Option<String>,
}

impl PgStore {
    /// Introspects the schema; fails with a message naming anything missing.
    pub async fn open(
        pool: PgPool,
        names: &SchemaNames,
        booleans: &[String],
    ) -> Result<Self, StoreError> {
        let user = columns(&pool, &names.table(Table::User)).await?;
        let session = columns(&pool, &names.table(Table::Session)).await?;
        let jwks = columns(&pool, &names.table(Table::Jwks)).await?;
        let Layouts {
            user,
            session,
            jwks,
        } = Layouts::build(names, booleans, [user, session, jwks])?;
        let q = Queries::build(&user, &session, jwks.as_ref());
        Ok(Self {
            pool,
            user,
            session,
            jwks,
            q,
        })
    }

    pub fn jwks_layout(&self) -> Option<&TableLayout> {
        self.jwks.as_ref()
    }
}

/// Exotic types are read as text; integers and floats are widened so one decoder fits all.
fn wrap(c: &Column, expr: String) -> String {
    match c.kind {
        ColumnKind::Other => format!("CAST({expr} AS text)"),
        ColumnKind::Int => format!("CAST({expr} AS bigint)"),
        ColumnKind::Float => format!("CAST({expr} AS double precision)"),
        ColumnKind::Json => format!("CAST({expr} AS jsonb)"),
        _ => expr,
    }
}

/// `$n` cast to the column's own type, so uuid or integer ids compare without defeating indexes.
fn param(c: &Column, n: usize) -> String {
    format!("CAST(${n} AS {})", c.sql_type)
}

impl Queries {
    fn build(u: &TableLayout, s: &TableLayout, j: Option<&TableLayout>) -> Self {
        let (ut, st) = (u.quoted_table(), s.quoted_table());
        let (stok, sexp, supd) = (
            s.quoted("token"),
            s.quoted("expiresAt"),
            s.quoted("updatedAt"),
        );
        let tok = param(s.core("token"), 1);
        Self {
            find_session: format!(
                "SELECT {}, {} FROM {st} s LEFT JOIN {ut} u ON u.{} = s.{} WHERE s.{stok} = {tok}",
                s.select_list("s", wrap),
                u.select_list("u", wrap),
                u.quoted("id"),
                s.quoted("userId"),
            ),
            refresh: format!(
                "UPDATE {st} SET {sexp} = $1, {supd} = $2 WHERE {stok} = {}",
                param(s.core("token"), 3)
            ),
            delete: format!("DELETE FROM {st} WHERE {stok} = {tok}"),
            find_user: format!(
                "SELECT {} FROM {ut} u WHERE u.{} = {}",
                u.select_list("u", wrap),
                u.quoted("id"),
                param(u.core("id"), 1)
            ),
            find_user_by_email: format!(
                "SELECT {} FROM {ut} u WHERE u.{} = $1",
                u.select_list("u", wrap),
                u.quoted("email")
            ),
            latest_session: format!(
                "SELECT {} FROM {st} s WHERE s.{} = {} ORDER BY s.{} DESC LIMIT 1",
                s.select_list("s", wrap),
                s.quoted("userId"),
                param(s.core("userId"), 1),
                s.quoted("createdAt")
            ),
            list_jwks: j.map(|j| {
                format!(
                    "SELECT {} FROM {} k",
                    j.select_list("k", wrap),
                    j.quoted_table()
                )
            }),
        }
    }
}

async fn columns(pool: &PgPool, table: &str) -> Result<Vec<Column>, StoreError> {
    let rows = sqlx::query(
        "SELECT column_name::text, data_type::text, udt_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(pool)
    .await
    .map_err(map_sqlx)?;
    rows.iter()
        .map(|r| {
            let (name, data_type, udt): (String, String, String) = (
                r.try_get(0).map_err(map_sqlx)?,
                r.try_get(1).map_err(map_sqlx)?,
                r.try_get(2).map_err(map_sqlx)?,
            );
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
        })
        .collect()
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

fn cells(row: &PgRow, cols: &[Column], offset: usize) -> Result<Vec<DbValue>, StoreError> {
    cols.iter()
        .enumerate()
        .map(|(i, c)| cell(row, offset + i, c.kind).map_err(map_sqlx))
        .collect()
}

fn cell(row: &PgRow, i: usize, kind: ColumnKind) -> Result<DbValue, sqlx::Error> {
    let v = match kind {
        ColumnKind::Text | ColumnKind::Other => {
            row.try_get::<Option<String>, _>(i)?.map(DbValue::Text)
        }
        ColumnKind::Bool => row.try_get::<Option<bool>, _>(i)?.map(DbValue::Bool),
        ColumnKind::Int => row.try_get::<Option<i64>, _>(i)?.map(DbValue::Int),
        ColumnKind::Float => row.try_get::<Option<f64>, _>(i)?.map(DbValue::Float),
        ColumnKind::Time { tz: true } => row
            .try_get::<Option<DateTime<Utc>>, _>(i)?
            .map(DbValue::Time),
        ColumnKind::Time { tz: false } => row
            .try_get::<Option<NaiveDateTime>, _>(i)?
            .map(|n| DbValue::Time(n.and_utc())),
        ColumnKind::Json => row
            .try_get::<Option<serde_json::Value>, _>(i)?
            .map(DbValue::Json),
    };
    Ok(v.unwrap_or(DbValue::Null))
}

/// Binds a timestamp as the column's type wants it.
fn bind_time<'q>(
    q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    c: &Column,
    t: DateTime<Utc>,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    match c.kind {
        ColumnKind::Time { tz: false } => q.bind(t.naive_utc()),
        _ => q.bind(t),
    }
}

#[async_trait]
impl Store for PgStore {
    async fn find_session(&self, token: &str) -> Result<Option<SessionRow>, StoreError> {
        let row = sqlx::query(&self.q.find_session)
            .bind(token)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_sqlx)?;
        let Some(row) = row else { return Ok(None) };
        let s = cells(&row, &self.session.columns, 0)?;
        let u = cells(&row, &self.user.columns, s.len())?;
        Ok(Some(SessionRow {
            session: self.session.session(&s)?,
            user: self.user.user(&u)?,
        }))
    }

    async fn refresh_session(
        &self,
        token: &str,
        expires_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let q = sqlx::query(&self.q.refresh);
        let q = bind_time(q, self.session.core("expiresAt"), expires_at);
        let q = bind_time(q, self.session.core("updatedAt"), updated_at);
        let done = q.bind(token).execute(&self.pool).await.map_err(map_sqlx)?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_session(&self, token: &str) -> Result<(), StoreError> {
        sqlx::query(&self.q.delete)
            .bind(token)
            .execute(&self.pool)
            .await
            .map_err(map_sqlx)?;
        Ok(())
    }

    async fn find_user(&self, id: &str) -> Result<Option<User>, StoreError> {
        self.one_user(&self.q.find_user, id).await
    }

    async fn list_jwks(&self) -> Result<Vec<JwkRow>, StoreError> {
        let (Some(q), Some(layout)) = (&self.q.list_jwks, &self.jwks) else {
            return Err(no_jwks_table());
        };
        let rows = sqlx::query(q)
            .fetch_all(&self.pool)
            .await
            .map_err(map_sqlx)?;
        rows.iter()
            .map(|r| layout.jwk(&cells(r, &layout.columns, 0)?))
            .collect()
    }

    async fn insert_jwk(&self, row: &JwkRow) -> Result<(), StoreError> {
        let layout = self.jwks.as_ref().ok_or_else(no_jwks_table)?;
        let sql = insert_sql(layout, 7);
        let q = sqlx::query(&sql)
            .bind(&row.id)
            .bind(&row.public_key)
            .bind(&row.private_key);
        let q = bind_time(q, layout.core("createdAt"), row.created_at);
        let q = match row.expires_at {
            Some(t) => bind_time(q, layout.core("expiresAt"), t),
            None => q.bind(None::<DateTime<Utc>>),
        };
        q.bind(&row.alg)
            .bind(&row.crv)
            .execute(&self.pool)
            .await
            .map_err(map_sqlx)?;
        Ok(())
    }

    fn has_jwks(&self) -> bool {
        self.jwks.is_some()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(map_sqlx)?;
        Ok(())
    }

    async fn insert_user(&self, u: &User) -> Result<(), StoreError> {
        let l = &self.user;
        let sql = insert_sql(l, 7);
        let q = sqlx::query(&sql)
            .bind(&u.id)
            .bind(&u.name)
            .bind(&u.email)
            .bind(u.email_verified)
            .bind(&u.image);
        let q = bind_time(q, l.core("createdAt"), u.created_at);
        let q = bind_time(q, l.core("updatedAt"), u.updated_at);
        q.execute(&self.pool).await.map_err(map_sqlx)?;
        Ok(())
    }

    async fn insert_session(&self, s: &Session) -> Result<(), StoreError> {
        let l = &self.session;
        let sql = insert_sql(l, 8);
        let q = sqlx::query(&sql).bind(&s.id);
        let q = bind_time(q, l.core("expiresAt"), s.expires_at).bind(&s.token);
        let q = bind_time(q, l.core("createdAt"), s.created_at);
        let q = bind_time(q, l.core("updatedAt"), s.updated_at);
        q.bind(&s.ip_address)
            .bind(&s.user_agent)
            .bind(&s.user_id)
            .execute(&self.pool)
            .await
            .map_err(map_sqlx)?;
        Ok(())
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        self.one_user(&self.q.find_user_by_email, email).await
    }

    async fn latest_session_of(&self, user_id: &str) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query(&self.q.latest_session)
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_sqlx)?;
        row.map(|r| self.session.session(&cells(&r, &self.session.columns, 0)?))
            .transpose()
    }
}

impl PgStore {
    async fn one_user(&self, sql: &str, arg: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(sql)
            .bind(arg)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_sqlx)?;
        match row {
            Some(r) => self.user.user(&cells(&r, &self.user.columns, 0)?),
            None => Ok(None),
        }
    }
}

/// `INSERT INTO t (core columns…) VALUES (CAST($1 AS type), …)`.
fn insert_sql(l: &TableLayout, n: usize) -> String {
    let cols: Vec<&Column> = l.columns.iter().take(n).collect();
    let names = cols
        .iter()
        .map(|c| super::schema::quote(&c.name))
        .collect::<Vec<_>>()
        .join(", ");
    let params = cols
        .iter()
        .enumerate()
        .map(|(i, c)| match c.kind {
            ColumnKind::Other => param(c, i + 1),
            _ => format!("${}", i + 1),
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT INTO {} ({names}) VALUES ({params})",
        l.quoted_table()
    )
}

fn no_jwks_table() -> StoreError {
    StoreError::Schema(
        "table \"jwks\" does not exist: enable Better Auth's jwt plugin and run its migration, \
         or `better-auth-grpc migrate` on an empty database"
            .into(),
    )
}

/// Lists which Better Auth tables exist in the current schema.
pub async fn schema_state(pool: &PgPool) -> Result<SchemaState, StoreError> {
    let mut state = SchemaState {
        present: vec![],
        missing: vec![],
    };
    for name in super::MIGRATED_TABLES.iter().map(|t| t.to_string()) {
        let (exists,): (bool,) = sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1)",
        )
        .bind(&name)
        .fetch_one(pool)
        .await
        .map_err(map_sqlx)?;
        if exists {
            state.present.push(name)
        } else {
            state.missing.push(name)
        }
    }
    Ok(state)
}

/// Applies Better Auth's schema to an empty database, in one transaction.
pub async fn migrate(pool: &PgPool) -> Result<(), StoreError> {
    let mut tx = pool.begin().await.map_err(map_sqlx)?;
    sqlx::raw_sql(MIGRATION)
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx)?;
    tx.commit().await.map_err(map_sqlx)
}
