//! How a query reaches the server. Named prepared statements (sqlx's default, cached per
//! connection) are the fast path, but a transaction-mode pooler (PgBouncer before 1.21,
//! Supabase's pooler, RDS Proxy) hands each transaction to any server connection, where a
//! name is missing or already taken. sqlx's unnamed statements take two round trips (Parse,
//! then Bind/Execute), between which such a pooler may switch servers and bind another
//! client's unnamed statement: so behind a pooler each query runs unnamed inside its own
//! transaction, which pins one server connection from Parse to commit.
use sqlx::{Connection, Database, Executor, IntoArguments};

use super::dialect::{Dialect, Query};
use super::held::Held;

type Row<D> = <<D as Dialect>::Db as Database>::Row;
type Done<D> = <<D as Dialect>::Db as Database>::QueryResult;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statements {
    /// Named, cached per connection: one round trip once prepared.
    Prepared,
    /// Unnamed, each in a transaction of its own: works behind a transaction-mode pooler.
    Pinned,
}

pub async fn fetch_all<'q, D: Dialect>(
    held: &Held<D::Db>,
    how: Statements,
    q: Query<'q, D::Db>,
) -> Result<Vec<Row<D>>, sqlx::Error>
where
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments<'q>: IntoArguments<'q, D::Db>,
{
    let mut lease = held.get().await?;
    let conn = lease.conn()?;
    let rows = match how {
        Statements::Prepared => q.fetch_all(&mut *conn).await?,
        Statements::Pinned => {
            let mut tx = conn.begin().await?;
            let rows = q.persistent(false).fetch_all(&mut *tx).await?;
            tx.commit().await?;
            rows
        }
    };
    lease.done();
    Ok(rows)
}

pub async fn fetch_optional<'q, D: Dialect>(
    held: &Held<D::Db>,
    how: Statements,
    q: Query<'q, D::Db>,
) -> Result<Option<Row<D>>, sqlx::Error>
where
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments<'q>: IntoArguments<'q, D::Db>,
{
    let mut lease = held.get().await?;
    let conn = lease.conn()?;
    let row = match how {
        Statements::Prepared => q.fetch_optional(&mut *conn).await?,
        Statements::Pinned => {
            let mut tx = conn.begin().await?;
            let row = q.persistent(false).fetch_optional(&mut *tx).await?;
            tx.commit().await?;
            row
        }
    };
    lease.done();
    Ok(row)
}

pub async fn execute<'q, D: Dialect>(
    held: &Held<D::Db>,
    how: Statements,
    q: Query<'q, D::Db>,
) -> Result<Done<D>, sqlx::Error>
where
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments<'q>: IntoArguments<'q, D::Db>,
{
    let mut lease = held.get().await?;
    let conn = lease.conn()?;
    let done = match how {
        Statements::Prepared => q.execute(&mut *conn).await?,
        Statements::Pinned => {
            let mut tx = conn.begin().await?;
            let done = q.persistent(false).execute(&mut *tx).await?;
            tx.commit().await?;
            done
        }
    };
    lease.done();
    Ok(done)
}
