//! Engine-neutral row layout: which columns are read, in which order, and how their values
//! become the domain's User, Session and JwkRow. Each engine only introspects and decodes cells.
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

use super::schema::{quote, SchemaNames, Table};
use super::StoreError;
use crate::domain::model::{iso_millis, Extra, JwkRow, Session, User};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Text,
    Bool,
    Int,
    Float,
    /// `tz = false`: `timestamp without time zone`, read as UTC.
    Time {
        tz: bool,
    },
    Json,
    /// Anything else (uuid, numeric…): read as text.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub kind: ColumnKind,
    /// The engine's type name, for casts of bound parameters.
    pub sql_type: String,
}

/// One decoded cell.
#[derive(Debug, Clone, PartialEq)]
pub enum DbValue {
    Null,
    Text(String),
    Bool(bool),
    Int(i64),
    Float(f64),
    Time(DateTime<Utc>),
    Json(Value),
}

/// Fields a plugin declares boolean but SQLite stores as `integer` (docs/better-auth-compat.md §1.3).
const KNOWN_BOOLEAN_FIELDS: &[(Table, &str)] = &[(Table::User, "banned")];

#[derive(Debug, Clone)]
pub struct TableLayout {
    pub table: Table,
    pub name: String,
    /// Core fields (in `Table::core_fields` order), then the extra columns in table order.
    pub columns: Vec<Column>,
    /// JSON keys of the extra columns (Better Auth field names).
    pub extra_keys: Vec<String>,
}

impl TableLayout {
    /// `present` is what introspection found, in table order.
    pub fn build(
        table: Table,
        names: &SchemaNames,
        present: Vec<Column>,
        extra_booleans: &[String],
    ) -> Result<Self, StoreError> {
        let name = names.table(table);
        if present.is_empty() {
            return Err(missing_table(&name));
        }
        let mut columns = Vec::with_capacity(present.len());
        let mut missing = Vec::new();
        for field in table.core_fields() {
            let col = names.column(table, field);
            match present.iter().find(|c| c.name == col) {
                Some(c) => columns.push(c.clone()),
                None => missing.push(quote(&col)),
            }
        }
        if !missing.is_empty() {
            return Err(missing_columns(&name, table, &missing));
        }
        let mut extra_keys = Vec::new();
        for mut c in present {
            if columns.iter().any(|k| k.name == c.name) {
                continue;
            }
            let key = names.field_of(table, &c.name);
            if c.kind == ColumnKind::Int && is_boolean(table, &key, extra_booleans) {
                c.kind = ColumnKind::Bool;
            }
            extra_keys.push(key);
            columns.push(c);
        }
        Ok(Self {
            table,
            name,
            columns,
            extra_keys,
        })
    }

    pub fn core(&self, field: &str) -> &Column {
        let i = self
            .table
            .core_fields()
            .iter()
            .position(|f| *f == field)
            .unwrap_or(0);
        &self.columns[i]
    }

    pub fn quoted_table(&self) -> String {
        quote(&self.name)
    }

    pub fn quoted(&self, field: &str) -> String {
        quote(&self.core(field).name)
    }

    /// `alias."col", …` with `wrap` applied (engines cast exotic types to text there).
    pub fn select_list(&self, alias: &str, wrap: impl Fn(&Column, String) -> String) -> String {
        self.columns
            .iter()
            .map(|c| wrap(c, format!("{alias}.{}", quote(&c.name))))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn reader<'a>(&'a self, cells: &'a [DbValue]) -> Reader<'a> {
        Reader {
            layout: self,
            cells,
        }
    }

    fn extras(&self, cells: &[DbValue]) -> Extra {
        let core = self.table.core_fields().len();
        self.extra_keys
            .iter()
            .zip(&cells[core..])
            .map(|(k, v)| (k.clone(), to_json(v)))
            .collect()
    }

    /// `None` when the row is absent (the LEFT JOIN gave NULLs).
    pub fn user(&self, cells: &[DbValue]) -> Result<Option<User>, StoreError> {
        if cells.first().is_none_or(|c| *c == DbValue::Null) {
            return Ok(None);
        }
        let r = self.reader(cells);
        Ok(Some(User {
            id: r.text(0)?,
            name: r.text(1)?,
            email: r.text(2)?,
            email_verified: r.bool(3)?,
            image: r.opt_text(4)?,
            created_at: r.time(5)?,
            updated_at: r.time(6)?,
            extra: self.extras(cells),
        }))
    }

    pub fn session(&self, cells: &[DbValue]) -> Result<Session, StoreError> {
        let r = self.reader(cells);
        Ok(Session {
            id: r.text(0)?,
            expires_at: r.time(1)?,
            token: r.text(2)?,
            created_at: r.time(3)?,
            updated_at: r.time(4)?,
            ip_address: r.opt_text(5)?,
            user_agent: r.opt_text(6)?,
            user_id: r.text(7)?,
            extra: self.extras(cells),
        })
    }

    pub fn jwk(&self, cells: &[DbValue]) -> Result<JwkRow, StoreError> {
        let r = self.reader(cells);
        Ok(JwkRow {
            id: r.text(0)?,
            public_key: r.text(1)?,
            private_key: r.text(2)?,
            created_at: r.time(3)?,
            expires_at: r.opt_time(4)?,
            alg: r.opt_text(5)?,
            crv: r.opt_text(6)?,
        })
    }
}

/// The three layouts a store reads, from introspected columns (`jwks` is optional: without the
/// jwt plugin's table only JWT features are off).
pub struct Layouts {
    pub user: TableLayout,
    pub session: TableLayout,
    pub jwks: Option<TableLayout>,
}

impl Layouts {
    pub fn build(
        names: &SchemaNames,
        booleans: &[String],
        [user, session, jwks]: [Vec<Column>; 3],
    ) -> Result<Self, StoreError> {
        Ok(Self {
            user: TableLayout::build(Table::User, names, user, booleans)?,
            session: TableLayout::build(Table::Session, names, session, booleans)?,
            jwks: match jwks.is_empty() {
                true => None,
                false => Some(TableLayout::build(Table::Jwks, names, jwks, booleans)?),
            },
        })
    }
}

fn is_boolean(table: Table, key: &str, extra: &[String]) -> bool {
    KNOWN_BOOLEAN_FIELDS.contains(&(table, key))
        || extra
            .iter()
            .any(|e| *e == format!("{}.{key}", table.model()))
}

fn missing_table(name: &str) -> StoreError {
    StoreError::Schema(format!(
        "table {} does not exist; create the schema with `better-auth-grpc migrate` (empty database) \
         or Better Auth's own migration, or name the table with --table (see --help)",
        quote(name)
    ))
}

fn missing_columns(name: &str, table: Table, missing: &[String]) -> StoreError {
    StoreError::Schema(format!(
        "table {} lacks column(s) {}; create the schema with `better-auth-grpc migrate` or Better Auth's \
         own migration, or map the names with --column {}.<field>=<column> / --snake-case",
        quote(name),
        missing.join(", "),
        table.model()
    ))
}

/// Better Auth's JSON form of a value: dates as `toISOString()`.
fn to_json(v: &DbValue) -> Value {
    match v {
        DbValue::Null => Value::Null,
        DbValue::Text(s) => Value::String(s.clone()),
        DbValue::Bool(b) => Value::Bool(*b),
        DbValue::Int(i) => Value::from(*i),
        DbValue::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        // JSON.stringify(±Infinity), what Better Auth sends for PostgreSQL's infinities.
        DbValue::Time(t) if is_end_of_time(t) => Value::Null,
        DbValue::Time(t) => Value::String(iso_millis(t)),
        DbValue::Json(j) => j.clone(),
    }
}

/// chrono's first or last instant: where PostgreSQL's `-infinity`/`infinity` (and years past
/// chrono's) are read (`pg_time`).
pub fn is_end_of_time(t: &DateTime<Utc>) -> bool {
    *t == DateTime::<Utc>::MAX_UTC || *t == DateTime::<Utc>::MIN_UTC
}

struct Reader<'a> {
    layout: &'a TableLayout,
    cells: &'a [DbValue],
}

impl Reader<'_> {
    fn bad(&self, i: usize, detail: &str) -> StoreError {
        StoreError::BadData {
            table: self.layout.name.clone(),
            column: self
                .layout
                .columns
                .get(i)
                .map(|c| c.name.clone())
                .unwrap_or_default(),
            detail: detail.into(),
        }
    }

    fn cell(&self, i: usize) -> &DbValue {
        self.cells.get(i).unwrap_or(&DbValue::Null)
    }

    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        match self.cell(i) {
            DbValue::Null => Ok(None),
            DbValue::Text(s) => Ok(Some(s.clone())),
            DbValue::Int(n) => Ok(Some(n.to_string())),
            _ => Err(self.bad(i, "expected text")),
        }
    }

    fn text(&self, i: usize) -> Result<String, StoreError> {
        self.opt_text(i)?
            .ok_or_else(|| self.bad(i, "unexpected NULL"))
    }

    fn bool(&self, i: usize) -> Result<bool, StoreError> {
        match self.cell(i) {
            DbValue::Bool(b) => Ok(*b),
            // Better Auth maps exactly 1 to true on SQLite.
            DbValue::Int(n) => Ok(*n == 1),
            DbValue::Text(s) => Ok(s == "1" || s == "true"),
            _ => Err(self.bad(i, "expected a boolean")),
        }
    }

    fn opt_time(&self, i: usize) -> Result<Option<DateTime<Utc>>, StoreError> {
        match self.cell(i) {
            DbValue::Null => Ok(None),
            DbValue::Time(t) => Ok(Some(*t)),
            DbValue::Text(s) => parse_time(s)
                .map(Some)
                .ok_or_else(|| self.bad(i, "unreadable date")),
            DbValue::Int(ms) => DateTime::from_timestamp_millis(*ms)
                .map(Some)
                .ok_or_else(|| self.bad(i, "date out of range")),
            _ => Err(self.bad(i, "expected a date")),
        }
    }

    fn time(&self, i: usize) -> Result<DateTime<Utc>, StoreError> {
        self.opt_time(i)?
            .ok_or_else(|| self.bad(i, "unexpected NULL"))
    }
}

/// Better Auth writes `toISOString()` on SQLite; accept any RFC 3339 form and SQLite's own
/// `YYYY-MM-DD HH:MM:SS[.fff]` (read as UTC).
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(|n| n.and_utc())
}

/// What Better Auth writes into SQLite date columns.
pub fn sqlite_time(t: &DateTime<Utc>) -> String {
    iso_millis(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, kind: ColumnKind) -> Column {
        Column {
            name: name.into(),
            kind,
            sql_type: String::new(),
        }
    }

    #[test]
    fn missing_columns_are_named() {
        let present = vec![col("id", ColumnKind::Text), col("name", ColumnKind::Text)];
        let err =
            TableLayout::build(Table::User, &SchemaNames::default(), present, &[]).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("\"email\"") && msg.contains("\"emailVerified\""),
            "{msg}"
        );
        assert!(msg.contains("migrate"), "{msg}");
        let err =
            TableLayout::build(Table::User, &SchemaNames::default(), vec![], &[]).unwrap_err();
        assert!(err.to_string().contains("does not exist"));
    }

    #[test]
    fn extras_follow_the_core_and_known_booleans_decode() {
        let mut present: Vec<Column> = Table::User
            .core_fields()
            .iter()
            .map(|f| col(f, ColumnKind::Text))
            .collect();
        present.insert(2, col("role", ColumnKind::Text));
        present.push(col("banned", ColumnKind::Int));
        let l = TableLayout::build(Table::User, &SchemaNames::default(), present, &[]).unwrap();
        assert_eq!(l.extra_keys, ["role", "banned"]);
        assert_eq!(l.columns[8].kind, ColumnKind::Bool);
    }

    #[test]
    fn time_formats() {
        let t = parse_time("2026-12-01T11:30:58.668Z").unwrap();
        assert_eq!(sqlite_time(&t), "2026-12-01T11:30:58.668Z");
        assert_eq!(parse_time("2026-12-01T11:30:58.668+00:00"), Some(t));
        assert_eq!(parse_time("2026-12-01 11:30:58.668"), Some(t));
        assert_eq!(parse_time("yesterday"), None);
    }
}
