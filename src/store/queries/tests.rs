//! The exact SQL each engine sees (a child file: it names both engines, which import the
//! queries).
use super::*;
use crate::store::columns::Column;
use crate::store::postgres::Pg;
use crate::store::schema::{SchemaNames, Table};
use crate::store::sqlite::Lite;

/// Better Auth's core columns; `uuid` makes the ids an exotic type.
fn layout(table: Table, uuid: bool) -> TableLayout {
    let cols = table.core_fields().iter().map(|f| {
        let exotic = uuid && (*f == "id" || *f == "userId");
        let (kind, sql_type) = match exotic {
            true => (ColumnKind::Other, "uuid"),
            false => (ColumnKind::Text, "text"),
        };
        let (name, sql_type) = (f.to_string(), sql_type.into());
        Column {
            name,
            kind,
            sql_type,
        }
    });
    TableLayout::build(table, &SchemaNames::default(), cols.collect(), &[]).unwrap()
}

fn queries<D: Dialect>(uuid: bool) -> Queries {
    let (u, s) = (layout(Table::User, uuid), layout(Table::Session, uuid));
    Queries::build::<D>(&u, &s, Some(&layout(Table::Jwks, uuid)))
}

#[test]
fn sqlite_numbers_its_placeholders_and_casts_nothing() {
    let q = queries::<Lite>(true);
    let refresh = r#"UPDATE "session" SET "expiresAt" = ?1, "updatedAt" = ?2 WHERE "token" = ?3"#;
    assert_eq!(q.refresh, refresh);
    let user = r#"SELECT u."id", u."name", u."email", u."emailVerified", u."image", u."createdAt", u."updatedAt" FROM "user" u WHERE u."id" = ?1"#;
    assert_eq!(q.find_user, user);
    let insert = r#"INSERT INTO "session" ("id", "expiresAt", "token", "createdAt", "updatedAt", "ipAddress", "userAgent", "userId") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"#;
    assert_eq!(q.insert_session, insert);
}

#[test]
fn postgres_casts_keys_to_their_column_type_and_reads_exotic_ones_as_text() {
    let q = queries::<Pg>(true);
    let user = r#"SELECT CAST(u."id" AS text), u."name", u."email", u."emailVerified", u."image", u."createdAt", u."updatedAt" FROM "user" u WHERE u."id" = CAST($1 AS uuid)"#;
    assert_eq!(q.find_user, user);
    assert!(q.find_user_by_email.ends_with(r#"WHERE u."email" = $1"#));
    let insert = r#"INSERT INTO "session" ("id", "expiresAt", "token", "createdAt", "updatedAt", "ipAddress", "userAgent", "userId") VALUES (CAST($1 AS uuid), $2, $3, $4, $5, $6, $7, CAST($8 AS uuid))"#;
    assert_eq!(q.insert_session, insert);
    let delete = r#"DELETE FROM "session" WHERE "token" = CAST($1 AS text)"#;
    assert_eq!(queries::<Pg>(false).delete, delete);
}

#[test]
fn a_jwks_row_is_found_by_its_primary_key_with_the_listed_columns() {
    let jwks = |q: Queries| q.jwks.expect("jwks table");
    let lite = jwks(queries::<Lite>(false));
    assert_eq!(lite.find, format!(r#"{} WHERE k."id" = ?1"#, lite.list));
    let pg = jwks(queries::<Pg>(true));
    let list = r#"SELECT CAST(k."id" AS text), k."publicKey", k."privateKey", k."createdAt", k."expiresAt", k."alg", k."crv" FROM "jwks" k"#;
    assert_eq!(pg.list, list);
    assert_eq!(
        pg.find,
        format!(r#"{list} WHERE k."id" = CAST($1 AS uuid)"#)
    );
}
