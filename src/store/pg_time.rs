//! PostgreSQL timestamps without chrono's panicking arithmetic. The server sends a timestamp as
//! microseconds since 2000-01-01 (an instant for `timestamptz`, the wall clock for `timestamp`;
//! neither depends on the session's TimeZone) with `i64::MAX`/`i64::MIN` for `infinity`/
//! `-infinity`, and its years go to 294276: sqlx's own decoding adds that to a chrono date and
//! panics past chrono's year 262143 (docs/better-auth-compat.md §1.4).
use chrono::{DateTime, Utc};
use sqlx::{
    postgres::{PgRow, PgValueFormat},
    Row, ValueRef,
};

use super::columns::DbValue;

/// 2000-01-01T00:00:00Z in microseconds since the Unix epoch.
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// Better Auth's reading (`postgres-date` gives ±Infinity, and JavaScript dates end in year
/// 275760): `infinity` and anything past chrono's last instant is the last instant, never
/// reached; `-infinity` the first, always past.
pub fn from_pg_micros(us: i64) -> DateTime<Utc> {
    let end = match us >= 0 {
        true => DateTime::<Utc>::MAX_UTC,
        false => DateTime::<Utc>::MIN_UTC,
    };
    if us == i64::MAX || us == i64::MIN {
        return end;
    }
    us.checked_add(PG_EPOCH_MICROS)
        .and_then(DateTime::from_timestamp_micros)
        .unwrap_or(end)
}

/// A timestamp cell of either kind, read as UTC.
pub fn cell(row: &PgRow, i: usize) -> Result<DbValue, sqlx::Error> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(DbValue::Null);
    }
    // Text only comes from the simple protocol, which the store never uses; sqlx's own text
    // decoding does not panic.
    if raw.format() == PgValueFormat::Text {
        return Ok(text_cell(raw.as_str().map_err(decode(i))?));
    }
    let bytes = raw.as_bytes().map_err(decode(i))?;
    let us = <[u8; 8]>::try_from(bytes)
        .map(i64::from_be_bytes)
        .map_err(|e| decode(i)(e.into()))?;
    Ok(DbValue::Time(from_pg_micros(us)))
}

fn text_cell(s: &str) -> DbValue {
    match s {
        "infinity" => DbValue::Time(DateTime::<Utc>::MAX_UTC),
        "-infinity" => DbValue::Time(DateTime::<Utc>::MIN_UTC),
        _ => DbValue::Text(s.to_owned()),
    }
}

fn decode(index: usize) -> impl Fn(sqlx::error::BoxDynError) -> sqlx::Error {
    move |source| sqlx::Error::ColumnDecode {
        index: index.to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infinities_and_far_years_are_the_ends() {
        assert_eq!(from_pg_micros(i64::MAX), DateTime::<Utc>::MAX_UTC);
        assert_eq!(from_pg_micros(i64::MIN), DateTime::<Utc>::MIN_UTC);
        // Years 262144 to 294276 are PostgreSQL's but past chrono's last day.
        let year_265000 = 8_300_000_000_000_000_000;
        assert_eq!(from_pg_micros(year_265000), DateTime::<Utc>::MAX_UTC);
        assert_eq!(from_pg_micros(i64::MAX - 1), DateTime::<Utc>::MAX_UTC);
        assert_eq!(from_pg_micros(0).timestamp(), 946_684_800);
        assert_eq!(from_pg_micros(-PG_EPOCH_MICROS).timestamp(), 0);
    }
}
