//! What the database says about its own tables, and the migration that creates them.
use sqlx::{Database, Executor, IntoArguments, Pool};

use super::columns::Column;
use super::dialect::{query, Dialect, Param};
use super::held::Held;
use super::statements::{fetch_all, Statements};
use super::{map_sqlx, SchemaState, StoreError, MIGRATED_TABLES};

/// Start-up queries run once: they work behind a transaction-mode pooler whatever the setting.
const START_UP: Statements = Statements::Pinned;

/// The columns of `table` in table order; empty when the table does not exist.
pub async fn columns<D: Dialect>(pool: &Pool<D::Db>, table: &str) -> Result<Vec<Column>, StoreError>
where
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    for<'q> <D::Db as Database>::Arguments<'q>: IntoArguments<'q, D::Db>,
{
    let q = query::<D>(D::COLUMNS, &[Param::Text(table)]);
    let rows = fetch_all::<D>(&Held::new(pool.clone()), START_UP, q).await;
    let rows = rows.map_err(map_sqlx)?;
    rows.iter()
        .map(|r| D::column(r).map_err(map_sqlx))
        .collect()
}

/// Lists which Better Auth tables exist.
pub async fn schema_state<D: Dialect>(pool: &Pool<D::Db>) -> Result<SchemaState, StoreError>
where
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    for<'q> <D::Db as Database>::Arguments<'q>: IntoArguments<'q, D::Db>,
{
    let mut state = SchemaState {
        present: vec![],
        missing: vec![],
    };
    let held = Held::new(pool.clone());
    for name in MIGRATED_TABLES.iter().map(|t| t.to_string()) {
        let q = query::<D>(D::TABLE_EXISTS, &[Param::Text(&name)]);
        let rows = fetch_all::<D>(&held, START_UP, q).await.map_err(map_sqlx)?;
        let row = rows
            .first()
            .ok_or_else(|| StoreError::Other("no row".into()))?;
        if D::exists(row).map_err(map_sqlx)? {
            state.present.push(name)
        } else {
            state.missing.push(name)
        }
    }
    Ok(state)
}

/// Applies Better Auth's schema to an empty database, in one transaction.
pub async fn migrate<DB: Database>(
    pool: &Pool<DB>,
    migration: &'static str,
) -> Result<(), StoreError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    let mut tx = pool.begin().await.map_err(map_sqlx)?;
    sqlx::raw_sql(migration)
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx)?;
    tx.commit().await.map_err(map_sqlx)
}
