//! Everything that differs between the two engines, and nothing else: placeholders and casts
//! in SQL text, the catalogue queries, how a cell is decoded and how a value is bound (dates
//! above all: PostgreSQL takes typed timestamps, SQLite the text Better Auth itself writes).
use chrono::{DateTime, Utc};
use sqlx::{database::HasStatementCache, Database};

use super::columns::{Column, ColumnKind, DbValue};

/// A query on `DB` with its own argument type, as `sqlx::query` makes it.
pub type Query<'q, DB> = sqlx::query::Query<'q, DB, <DB as Database>::Arguments<'q>>;

/// One value to bind; dates carry the column they go into, whose type decides the encoding.
#[derive(Debug, Clone, Copy)]
pub enum Param<'a> {
    Text(&'a str),
    /// A list compared with `Dialect::any_param`; only engines that have one bind it.
    Texts(&'a [String]),
    OptText(Option<&'a str>),
    Bool(bool),
    Time(&'a Column, DateTime<Utc>),
    OptTime(&'a Column, Option<DateTime<Utc>>),
}

pub trait Dialect: Send + Sync + 'static {
    type Db: Database + HasStatementCache;

    /// Lists a table's columns in table order; its one parameter is the table name.
    const COLUMNS: &'static str;
    /// One row telling whether a table exists; its one parameter is the table name.
    const TABLE_EXISTS: &'static str;

    /// The n-th (1-based) parameter, as written in SQL.
    fn placeholder(n: usize) -> String;

    /// The n-th parameter where it meets column `c` (compared with it, or stored into an
    /// exotic one); engines with strict types cast it there.
    fn param(_c: &Column, n: usize) -> String {
        Self::placeholder(n)
    }

    /// A parameter holding a list, where it meets column `c` as `c = <this>`; `None` when the
    /// engine has no arrays (then lookups are made one by one).
    fn any_param(_c: &Column, _n: usize) -> Option<String> {
        None
    }

    /// A selected column, in the form `cell` decodes.
    fn select(_c: &Column, expr: String) -> String {
        expr
    }

    /// One row of `COLUMNS`.
    fn column(row: &<Self::Db as Database>::Row) -> Result<Column, sqlx::Error>;

    /// The row of `TABLE_EXISTS`.
    fn exists(row: &<Self::Db as Database>::Row) -> Result<bool, sqlx::Error>;

    fn cell(
        row: &<Self::Db as Database>::Row,
        i: usize,
        kind: ColumnKind,
    ) -> Result<DbValue, sqlx::Error>;

    fn bind<'q>(q: Query<'q, Self::Db>, p: Param<'q>) -> Query<'q, Self::Db>;

    fn rows_affected(done: &<Self::Db as Database>::QueryResult) -> u64;
}

/// `sql` with `params` bound in order.
pub fn query<'q, D: Dialect>(sql: &'q str, params: &[Param<'q>]) -> Query<'q, D::Db> {
    params.iter().fold(sqlx::query(sql), |q, p| D::bind(q, *p))
}
