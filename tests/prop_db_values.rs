//! Property tests of how database values become dates (docs/better-auth-compat.md §1.4): any
//! PostgreSQL timestamp (±infinity, years past chrono's), any SQLite text or integer, and any
//! date on its way out (JSON, protobuf Timestamp) is total: a value or a typed error, never a
//! panic. No database needed. `PROPTEST_CASES` sets the cases per property (256 by default).
use better_auth_grpc::domain::{model::iso_millis, time::millis};
use better_auth_grpc::grpc::convert::timestamp;
use better_auth_grpc::store::columns::{
    is_end_of_time, parse_time, Column, ColumnKind, DbValue, TableLayout,
};
use better_auth_grpc::store::pg_time::from_pg_micros;
use better_auth_grpc::store::schema::{SchemaNames, Table};
use better_auth_grpc::store::StoreError;
use chrono::{DateTime, Utc};
use proptest::prelude::*;

/// 2000-01-01T00:00:00Z, PostgreSQL's epoch, in Unix microseconds.
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
/// protobuf Timestamp's range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z.
const PROTO_FIRST: i64 = -62_135_596_800;
const PROTO_LAST: i64 = 253_402_300_799;

/// Any i64, with the ends and the edges of chrono's range drawn often.
fn micros() -> impl Strategy<Value = i64> {
    prop_oneof![
        any::<i64>(),
        Just(i64::MAX),
        Just(i64::MIN),
        (-3i64..=3).prop_map(|d| DateTime::<Utc>::MAX_UTC.timestamp_micros() - PG_EPOCH_MICROS + d),
        (-3i64..=3).prop_map(|d| DateTime::<Utc>::MIN_UTC.timestamp_micros() - PG_EPOCH_MICROS + d),
    ]
}

/// Any instant chrono can hold, the ends included.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    micros().prop_map(from_pg_micros)
}

/// Date-like text: RFC 3339 and SQLite forms with any year, the infinities, and noise.
fn date_text() -> impl Strategy<Value = String> {
    let form = || {
        let year = prop_oneof![any::<i32>(), -300_000i32..300_000, 0i32..10_000];
        (year, 0u32..14, 0u32..33, 0u32..25, 0u32..61, any::<u32>())
    };
    prop_oneof![
        form().prop_map(|(y, mo, d, h, mi, f)| format!(
            "{y:+07}-{mo:02}-{d:02}T{h:02}:{mi:02}:00.{f}Z"
        )),
        form().prop_map(|(y, mo, d, h, mi, f)| format!("{y}-{mo:02}-{d:02} {h:02}:{mi:02}:59.{f}")),
        prop::sample::select(vec!["infinity", "-infinity", "Infinity", "NaN", ""])
            .prop_map(String::from),
        ".*",
    ]
}

fn session_layout() -> TableLayout {
    let kind = |f: &str| match f {
        "expiresAt" | "createdAt" | "updatedAt" => ColumnKind::Time { tz: true },
        _ => ColumnKind::Text,
    };
    let mut cols: Vec<Column> = Table::Session
        .core_fields()
        .iter()
        .map(|f| Column {
            name: (*f).into(),
            kind: kind(f),
            sql_type: String::new(),
        })
        .collect();
    cols.push(Column {
        name: "banExpires".into(),
        kind: ColumnKind::Time { tz: true },
        sql_type: String::new(),
    });
    TableLayout::build(Table::Session, &SchemaNames::default(), cols, &[]).unwrap()
}

/// What a store can hand the decoder for a date cell.
fn date_cell() -> impl Strategy<Value = DbValue> {
    prop_oneof![
        instant().prop_map(DbValue::Time),
        date_text().prop_map(DbValue::Text),
        any::<i64>().prop_map(DbValue::Int),
        any::<f64>().prop_map(DbValue::Float),
        Just(DbValue::Null),
    ]
}

proptest! {
    /// Every PostgreSQL timestamp is an instant; inside chrono's range exactly, outside it the
    /// nearer end (`infinity` the last, `-infinity` the first), in order.
    #[test]
    fn pg_micros_are_total_and_ordered(a in micros(), b in micros()) {
        let (ta, tb) = (from_pg_micros(a), from_pg_micros(b));
        if a <= b {
            prop_assert!(ta <= tb, "{a} <= {b} but {ta:?} > {tb:?}");
        }
        if !is_end_of_time(&ta) {
            prop_assert_eq!(ta.timestamp_micros() - PG_EPOCH_MICROS, a);
        }
        if a == i64::MAX {
            prop_assert_eq!(ta, DateTime::<Utc>::MAX_UTC);
        }
        if a == i64::MIN {
            prop_assert_eq!(ta, DateTime::<Utc>::MIN_UTC);
        }
    }

    /// SQLite text never panics, nor does anything done with what it parses to.
    #[test]
    fn sqlite_text_is_total(s in date_text()) {
        if let Some(t) = parse_time(&s) {
            let m = millis(t);
            prop_assert!((m - t).num_milliseconds().abs() < 1, "{t:?} -> {m:?}");
            let _ = (iso_millis(&t), timestamp(&t));
        }
    }

    /// `toISOString()` of any year a JavaScript date reaches in 4 digits reads back as itself.
    #[test]
    fn iso_text_round_trips(us in -62_135_596_800_000_000i64..253_402_300_799_999_999) {
        let t = millis(DateTime::from_timestamp_micros(us).unwrap());
        prop_assert_eq!(parse_time(&iso_millis(&t)), Some(t));
    }

    /// Any instant goes out as a valid protobuf Timestamp, unchanged inside its range.
    #[test]
    fn timestamps_stay_in_protobufs_range(t in instant()) {
        let ts = timestamp(&t);
        prop_assert!((PROTO_FIRST..=PROTO_LAST).contains(&ts.seconds));
        prop_assert!((0..1_000_000_000).contains(&ts.nanos));
        if (PROTO_FIRST..=PROTO_LAST).contains(&t.timestamp()) {
            prop_assert_eq!(ts.seconds, t.timestamp());
            prop_assert_eq!(ts.nanos as u32, t.timestamp_subsec_nanos());
        }
    }

    /// A session row with anything in its date cells decodes or is `BadData`; its JSON never
    /// panics, and an end of time in an extra column is JSON `null`, as `JSON.stringify(Infinity)`.
    #[test]
    fn session_rows_decode_or_say_why(cells in prop::collection::vec(date_cell(), 4)) {
        let l = session_layout();
        let text = |s: &str| DbValue::Text(s.into());
        let row = vec![
            text("id"), cells[0].clone(), text("tok"), cells[1].clone(), cells[2].clone(),
            DbValue::Null, DbValue::Null, text("user"), cells[3].clone(),
        ];
        match l.session(&row) {
            Ok(s) => {
                let json = s.to_better_auth_json();
                if let DbValue::Time(t) = &cells[3] {
                    prop_assert_eq!(json["banExpires"].is_null(), is_end_of_time(t));
                }
                let _ = timestamp(&s.expires_at);
            }
            Err(StoreError::BadData { column, .. }) => {
                prop_assert!(["expiresAt", "createdAt", "updatedAt"].contains(&column.as_str()));
            }
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
    }
}
