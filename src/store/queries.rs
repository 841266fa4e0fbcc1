//! The store's SQL, built once per store from the introspected layouts and the engine's dialect,
//! and the values its inserts bind, in column order.
use super::columns::{ColumnKind, TableLayout};
use super::dialect::{Dialect, Param};
use super::schema::quote;
use crate::domain::model::{JwkRow, Session, User};

pub struct Queries {
    pub find_session: String,
    /// The same for a list of tokens, one row per token found; `None` without arrays.
    pub find_sessions: Option<String>,
    pub refresh: String,
    pub delete: String,
    pub find_user: String,
    pub find_user_by_email: String,
    pub latest_session: String,
    pub insert_user: String,
    pub insert_session: String,
    /// `None` without the jwt plugin's table.
    pub jwks: Option<JwksQueries>,
}

pub struct JwksQueries {
    pub list: String,
    /// One row by primary key, the same columns as `list`.
    pub find: String,
    pub insert: String,
}

impl Queries {
    pub fn build<D: Dialect>(u: &TableLayout, s: &TableLayout, j: Option<&TableLayout>) -> Self {
        let (st, stok) = (s.quoted_table(), s.quoted("token"));
        let tok = D::param(s.core("token"), 1);
        Self {
            find_session: find_session::<D>(u, s, tok.clone()),
            find_sessions: D::any_param(s.core("token"), 1).map(|p| find_session::<D>(u, s, p)),
            refresh: format!(
                "UPDATE {st} SET {} = {}, {} = {} WHERE {stok} = {}",
                s.quoted("expiresAt"),
                D::placeholder(1),
                s.quoted("updatedAt"),
                D::placeholder(2),
                D::param(s.core("token"), 3)
            ),
            delete: format!("DELETE FROM {st} WHERE {stok} = {tok}"),
            find_user: select_where::<D>(u, "u", "id", D::param(u.core("id"), 1)),
            find_user_by_email: select_where::<D>(u, "u", "email", D::placeholder(1)),
            latest_session: format!(
                "{} ORDER BY s.{} DESC LIMIT 1",
                select_where::<D>(s, "s", "userId", D::param(s.core("userId"), 1)),
                s.quoted("createdAt")
            ),
            insert_user: insert::<D>(u),
            insert_session: insert::<D>(s),
            jwks: j.map(jwks::<D>),
        }
    }
}

fn jwks<D: Dialect>(j: &TableLayout) -> JwksQueries {
    JwksQueries {
        list: format!(
            "SELECT {} FROM {} k",
            j.select_list("k", D::select),
            j.quoted_table()
        ),
        find: select_where::<D>(j, "k", "id", D::param(j.core("id"), 1)),
        insert: insert::<D>(j),
    }
}

/// Session and user in one round trip; the user columns are NULL when the user row is gone.
fn find_session<D: Dialect>(u: &TableLayout, s: &TableLayout, token: String) -> String {
    format!(
        "SELECT {}, {} FROM {} s LEFT JOIN {} u ON u.{} = s.{} WHERE s.{} = {}",
        s.select_list("s", D::select),
        u.select_list("u", D::select),
        s.quoted_table(),
        u.quoted_table(),
        u.quoted("id"),
        s.quoted("userId"),
        s.quoted("token"),
        token
    )
}

fn select_where<D: Dialect>(l: &TableLayout, alias: &str, field: &str, param: String) -> String {
    format!(
        "SELECT {} FROM {} {alias} WHERE {alias}.{} = {param}",
        l.select_list(alias, D::select),
        l.quoted_table(),
        l.quoted(field)
    )
}

/// `INSERT INTO t (core columns…) VALUES (…)`; exotic columns get the dialect's cast.
fn insert<D: Dialect>(l: &TableLayout) -> String {
    let cols: Vec<_> = l.columns.iter().take(l.table.core_fields().len()).collect();
    let names: Vec<_> = cols.iter().map(|c| quote(&c.name)).collect();
    let params: Vec<_> = (1..)
        .zip(&cols)
        .map(|(n, c)| match c.kind {
            ColumnKind::Other => D::param(c, n),
            _ => D::placeholder(n),
        })
        .collect();
    format!(
        "INSERT INTO {} ({}) VALUES ({})",
        l.quoted_table(),
        names.join(", "),
        params.join(", ")
    )
}

pub fn user_params<'a>(l: &'a TableLayout, u: &'a User) -> [Param<'a>; 7] {
    [
        Param::Text(&u.id),
        Param::Text(&u.name),
        Param::Text(&u.email),
        Param::Bool(u.email_verified),
        Param::OptText(u.image.as_deref()),
        Param::Time(l.core("createdAt"), u.created_at),
        Param::Time(l.core("updatedAt"), u.updated_at),
    ]
}

pub fn session_params<'a>(l: &'a TableLayout, s: &'a Session) -> [Param<'a>; 8] {
    [
        Param::Text(&s.id),
        Param::Time(l.core("expiresAt"), s.expires_at),
        Param::Text(&s.token),
        Param::Time(l.core("createdAt"), s.created_at),
        Param::Time(l.core("updatedAt"), s.updated_at),
        Param::OptText(s.ip_address.as_deref()),
        Param::OptText(s.user_agent.as_deref()),
        Param::Text(&s.user_id),
    ]
}

pub fn jwk_params<'a>(l: &'a TableLayout, k: &'a JwkRow) -> [Param<'a>; 7] {
    [
        Param::Text(&k.id),
        Param::Text(&k.public_key),
        Param::Text(&k.private_key),
        Param::Time(l.core("createdAt"), k.created_at),
        Param::OptTime(l.core("expiresAt"), k.expires_at),
        Param::OptText(k.alg.as_deref()),
        Param::OptText(k.crv.as_deref()),
    ]
}

// The tests name both engines, which import this file: a child module keeps that one-way.
#[cfg(test)]
mod tests;
