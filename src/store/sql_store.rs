//! The one `Store` over a SQL database; the engine's `Dialect` carries what differs.
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Database, Executor, IntoArguments, Pool};

use super::catalog::columns;
use super::columns::{Column, DbValue, Layouts, TableLayout};
use super::dialect::{query, Dialect, Param};
use super::held::Held;
use super::queries::{jwk_params, session_params, user_params, JwksQueries, Queries};
use super::schema::{SchemaNames, Table};
use super::statements::{self, Statements};
use super::{map_sqlx, SessionRow, Store, StoreError};
use crate::domain::model::{JwkRow, Session, User};

type Row<D> = <<D as Dialect>::Db as Database>::Row;

pub struct SqlStore<D: Dialect> {
    held: Held<D::Db>,
    user: TableLayout,
    session: TableLayout,
    jwks: Option<TableLayout>,
    q: Queries,
    how: Statements,
}

impl<D: Dialect> SqlStore<D>
where
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    for<'q> <D::Db as Database>::Arguments<'q>: IntoArguments<'q, D::Db>,
{
    /// Introspects the schema; fails with a message naming anything missing.
    pub async fn open(
        pool: Pool<D::Db>,
        names: &SchemaNames,
        booleans: &[String],
    ) -> Result<Self, StoreError> {
        Self::open_with(pool, Statements::Prepared, names, booleans).await
    }

    /// As `open`, running every query as `how` says.
    pub async fn open_with(
        pool: Pool<D::Db>,
        how: Statements,
        names: &SchemaNames,
        booleans: &[String],
    ) -> Result<Self, StoreError> {
        let user = columns::<D>(&pool, &names.table(Table::User)).await?;
        let session = columns::<D>(&pool, &names.table(Table::Session)).await?;
        let jwks = columns::<D>(&pool, &names.table(Table::Jwks)).await?;
        let Layouts {
            user,
            session,
            jwks,
        } = Layouts::build(names, booleans, [user, session, jwks])?;
        let q = Queries::build::<D>(&user, &session, jwks.as_ref());
        Ok(Self {
            held: Held::new(pool),
            user,
            session,
            jwks,
            q,
            how,
        })
    }

    pub fn jwks_layout(&self) -> Option<&TableLayout> {
        self.jwks.as_ref()
    }

    /// The row, if any, where the query's one parameter is `arg`.
    async fn fetch_optional(&self, sql: &str, arg: &str) -> Result<Option<Row<D>>, StoreError> {
        let q = query::<D>(sql, &[Param::Text(arg)]);
        let row = statements::fetch_optional::<D>(&self.held, self.how, q).await;
        row.map_err(map_sqlx)
    }

    /// Runs a statement; returns how many rows it touched.
    async fn execute(&self, sql: &str, params: &[Param<'_>]) -> Result<u64, StoreError> {
        let q = query::<D>(sql, params);
        let done = statements::execute::<D>(&self.held, self.how, q).await;
        let done = done.map_err(map_sqlx)?;
        Ok(D::rows_affected(&done))
    }

    async fn one_user(&self, sql: &str, arg: &str) -> Result<Option<User>, StoreError> {
        match self.fetch_optional(sql, arg).await? {
            Some(r) => self.user.user(&cells::<D>(&r, &self.user.columns, 0)?),
            None => Ok(None),
        }
    }

    fn session_row(&self, row: &Row<D>) -> Result<SessionRow, StoreError> {
        let s = cells::<D>(row, &self.session.columns, 0)?;
        let u = cells::<D>(row, &self.user.columns, s.len())?;
        Ok(SessionRow {
            session: self.session.session(&s)?,
            user: self.user.user(&u)?,
        })
    }

    fn jwks(&self) -> Result<(&TableLayout, &JwksQueries), StoreError> {
        match (&self.jwks, &self.q.jwks) {
            (Some(l), Some(q)) => Ok((l, q)),
            _ => Err(no_jwks_table()),
        }
    }
}

fn cells<D: Dialect>(
    row: &Row<D>,
    cols: &[Column],
    offset: usize,
) -> Result<Vec<DbValue>, StoreError> {
    cols.iter()
        .enumerate()
        .map(|(i, c)| D::cell(row, offset + i, c.kind).map_err(map_sqlx))
        .collect()
}

#[async_trait]
impl<D: Dialect> Store for SqlStore<D>
where
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    for<'q> <D::Db as Database>::Arguments<'q>: IntoArguments<'q, D::Db>,
{
    async fn find_session(&self, token: &str) -> Result<Option<SessionRow>, StoreError> {
        let row = self.fetch_optional(&self.q.find_session, token).await?;
        row.map(|r| self.session_row(&r)).transpose()
    }

    async fn find_sessions(&self, tokens: &[String]) -> Result<Vec<SessionRow>, StoreError> {
        let Some(sql) = &self.q.find_sessions else {
            return super::one_by_one(self, tokens).await;
        };
        let q = query::<D>(sql, &[Param::Texts(tokens)]);
        let rows = statements::fetch_all::<D>(&self.held, self.how, q).await;
        rows.map_err(map_sqlx)?
            .iter()
            .map(|r| self.session_row(r))
            .collect()
    }

    async fn refresh_session(
        &self,
        token: &str,
        expires_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let l = &self.session;
        let params = [
            Param::Time(l.core("expiresAt"), expires_at),
            Param::Time(l.core("updatedAt"), updated_at),
            Param::Text(token),
        ];
        Ok(self.execute(&self.q.refresh, &params).await? > 0)
    }

    async fn delete_session(&self, token: &str) -> Result<(), StoreError> {
        self.execute(&self.q.delete, &[Param::Text(token)]).await?;
        Ok(())
    }

    async fn find_user(&self, id: &str) -> Result<Option<User>, StoreError> {
        self.one_user(&self.q.find_user, id).await
    }

    async fn list_jwks(&self) -> Result<Vec<JwkRow>, StoreError> {
        let (layout, q) = self.jwks()?;
        let list = query::<D>(&q.list, &[]);
        let rows = statements::fetch_all::<D>(&self.held, self.how, list).await;
        rows.map_err(map_sqlx)?
            .iter()
            .map(|r| layout.jwk(&cells::<D>(r, &layout.columns, 0)?))
            .collect()
    }

    async fn find_jwk(&self, id: &str) -> Result<Option<JwkRow>, StoreError> {
        let (layout, q) = self.jwks()?;
        let row = self.fetch_optional(&q.find, id).await?;
        row.map(|r| layout.jwk(&cells::<D>(&r, &layout.columns, 0)?))
            .transpose()
    }

    async fn insert_jwk(&self, row: &JwkRow) -> Result<(), StoreError> {
        let (layout, q) = self.jwks()?;
        self.execute(&q.insert, &jwk_params(layout, row)).await?;
        Ok(())
    }

    fn has_jwks(&self) -> bool {
        self.jwks.is_some()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.execute("SELECT 1", &[]).await?;
        Ok(())
    }

    async fn insert_user(&self, u: &User) -> Result<(), StoreError> {
        let params = user_params(&self.user, u);
        self.execute(&self.q.insert_user, &params).await?;
        Ok(())
    }

    async fn insert_session(&self, s: &Session) -> Result<(), StoreError> {
        let params = session_params(&self.session, s);
        self.execute(&self.q.insert_session, &params).await?;
        Ok(())
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        self.one_user(&self.q.find_user_by_email, email).await
    }

    async fn latest_session_of(&self, user_id: &str) -> Result<Option<Session>, StoreError> {
        let row = self.fetch_optional(&self.q.latest_session, user_id).await?;
        row.map(|r| {
            self.session
                .session(&cells::<D>(&r, &self.session.columns, 0)?)
        })
        .transpose()
    }
}

fn no_jwks_table() -> StoreError {
    StoreError::Schema(
        "table \"jwks\" does not exist: enable Better Auth's jwt plugin and run its migration, \
         or `better-auth-grpc migrate` on an empty database"
            .into(),
    )
}
