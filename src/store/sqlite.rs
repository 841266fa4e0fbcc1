//! SQLite: Better Auth stores dates as `toISOString()` TEXT and booleans as INTEGER 0/1.
use std::{str::FromStr, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{
    sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteRow},
    Row, TypeInfo, ValueRef,
};

use super::columns::{parse_time, sqlite_time, Column, ColumnKind, DbValue, Layouts, TableLayout};
use super::schema::{quote, SchemaNames, Table};
use super::{map_sqlx, SchemaState, SessionRow, Store, StoreError};
use crate::domain::model::{JwkRow, Session, User};

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

pub struct SqliteStore {
    pool: SqlitePool,
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

impl Queries {
    fn build(u: &TableLayout, s: &TableLayout, j: Option<&TableLayout>) -> Self {
        let (ut, st) = (u.quoted_table(), s.quoted_table());
        let stok = s.quoted("token");
        let plain = |_: &Column, e: String| e;
        Self {
            find_session: format!(
                "SELECT {}, {} FROM {st} s LEFT JOIN {ut} u ON u.{} = s.{} WHERE s.{stok} = ?1",
                s.select_list("s", plain),
                u.select_list("u", plain),
                u.quoted("id"),
                s.quoted("userId"),
            ),
            refresh: format!(
                "UPDATE {st} SET {} = ?1, {} = ?2 WHERE {stok} = ?3",
                s.quoted("expiresAt"),
                s.quoted("updatedAt")
            ),
            delete: format!("DELETE FROM {st} WHERE {stok} = ?1"),
            find_user: format!(
                "SELECT {} FROM {ut} u WHERE u.{} = ?1",
                u.select_list("u", plain),
                u.quoted("id")
            ),
            find_user_by_email: format!(
                "SELECT {} FROM {ut} u WHERE u.{} = ?1",
                u.select_list("u", plain),
                u.quoted("email")
            ),
            latest_session: format!(
                "SELECT {} FROM {st} s WHERE s.{} = ?1 ORDER BY s.{} DESC LIMIT 1",
                s.select_list("s", plain),
                s.quoted("userId"),
                s.quoted("createdAt")
            ),
            list_jwks: j.map(|j| {
                format!(
                    "SELECT {} FROM {} k",
                    j.select_list("k", plain),
                    j.quoted_table()
                )
            }),
        }
    }
}

impl SqliteStore {
    pub async fn open(
        pool: SqlitePool,
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
}

async fn columns(pool: &SqlitePool, table: &str) -> Result<Vec<Column>, StoreError> {
    let rows = sqlx::query("SELECT name, type FROM pragma_table_info(?1) ORDER BY cid")
        .bind(table)
        .fetch_all(pool)
        .await
        .map_err(map_sqlx)?;
    rows.iter()
        .map(|r| {
            let (name, ty): (String, String) = (
                r.try_get(0).map_err(map_sqlx)?,
                r.try_get(1).map_err(map_sqlx)?,
            );
            Ok(Column {
                name,
                kind: kind_of(&ty),
                sql_type: ty,
            })
        })
        .collect()
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

fn cells(row: &SqliteRow, cols: &[Column], offset: usize) -> Result<Vec<DbValue>, StoreError> {
    cols.iter()
        .enumerate()
        .map(|(i, c)| cell(row, offset + i, c.kind).map_err(map_sqlx))
        .collect()
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

#[async_trait]
impl Store for SqliteStore {
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
        let done = sqlx::query(&self.q.refresh)
            .bind(sqlite_time(&expires_at))
            .bind(sqlite_time(&updated_at))
            .bind(token)
            .execute(&self.pool)
            .await
            .map_err(map_sqlx)?;
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
        sqlx::query(&insert_sql(layout, 7))
            .bind(&row.id)
            .bind(&row.public_key)
            .bind(&row.private_key)
            .bind(sqlite_time(&row.created_at))
            .bind(row.expires_at.as_ref().map(sqlite_time))
            .bind(&row.alg)
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
        sqlx::query(&insert_sql(&self.user, 7))
            .bind(&u.id)
            .bind(&u.name)
            .bind(&u.email)
            .bind(i64::from(u.email_verified))
            .bind(&u.image)
            .bind(sqlite_time(&u.created_at))
            .bind(sqlite_time(&u.updated_at))
            .execute(&self.pool)
            .await
            .map_err(map_sqlx)?;
        Ok(())
    }

    async fn insert_session(&self, s: &Session) -> Result<(), StoreError> {
        sqlx::query(&insert_sql(&self.session, 8))
            .bind(&s.id)
            .bind(sqlite_time(&s.expires_at))
            .bind(&s.token)
            .bind(sqlite_time(&s.created_at))
            .bind(sqlite_time(&s.updated_at))
            .bind(&s.ip_address)
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

impl SqliteStore {
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

fn insert_sql(l: &TableLayout, n: usize) -> String {
    let cols = l.columns.iter().take(n);
    let names = cols
        .clone()
        .map(|c| quote(&c.name))
        .collect::<Vec<_>>()
        .join(", ");
    let params = (1..=n)
        .map(|i| format!("?{i}"))
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

pub async fn schema_state(pool: &SqlitePool) -> Result<SchemaState, StoreError> {
    let mut state = SchemaState {
        present: vec![],
        missing: vec![],
    };
    for name in super::MIGRATED_TABLES.iter().map(|t| t.to_string()) {
        let (n,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1")
                .bind(&name)
                .fetch_one(pool)
                .await
                .map_err(map_sqlx)?;
        if n > 0 {
            state.present.push(name)
        } else {
            state.missing.push(name)
        }
    }
    Ok(state)
}

pub async fn migrate(pool: &SqlitePool) -> Result<(), StoreError> {
    let mut tx = pool.begin().await.map_err(map_sqlx)?;
    sqlx::raw_sql(MIGRATION)
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx)?;
    tx.commit().await.map_err(map_sqlx)
}
