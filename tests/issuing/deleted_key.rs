//! Issue #14: a jwks row that is gone never signs again, even within the issuer's 1 s reuse of
//! its last read of the table (the clock stands still here, so every call is inside it).
use better_auth_grpc::domain::model::JwkRow;

use super::*;

/// The vector's jwks row: older than any key the server creates at the vector's time.
fn vector_row(v: &Value) -> JwkRow {
    common::vectors::jwk_row(&v["jwksRows"][0])
}

/// The ids in the jwks table.
async fn kids(c: &Ctx) -> Vec<String> {
    let rows = c.s.store.list_jwks().await.expect("jwks");
    rows.into_iter().map(|r| r.id).collect()
}

async fn issued(c: &Ctx) -> IssueTokenResponse {
    c.issue_for_user().await.expect("IssueToken")
}

/// `DELETE FROM jwks` right after a token: the next one gets a new row, which verifies.
pub async fn emptied_table_gets_a_new_row_at_once(db: Db) {
    let c = start(&db, "", |_| {}).await;
    let first = issued(&c).await;
    assert_eq!(kids(&c).await, [first.kid.as_str()], "created on first use");
    common::sql::exec(&db.url, "DELETE FROM jwks").await;
    let second = issued(&c).await;
    assert_ne!(second.kid, first.kid, "signed with the deleted key");
    assert_eq!(kids(&c).await, [second.kid.as_str()], "one new row");
    assert!(
        c.validate(&second.token).await.valid,
        "the new key verifies"
    );
    assert_eq!(issued(&c).await.kid, second.kid, "and keeps signing");
    c.s.stop().await;
}

/// Deleting only the signing row falls back at once to the other live row, as Better Auth's
/// `resolveSigningKey` would, without creating one.
pub async fn next_live_row_signs_after_the_signing_row_goes(db: Db) {
    let c = start(&db, "", |_| {}).await;
    let created = issued(&c).await.kid;
    let older = vector_row(&c.v);
    c.s.store.insert_jwk(&older).await.unwrap();
    assert_eq!(issued(&c).await.kid, created, "the newest row signs");
    let sql = format!("DELETE FROM jwks WHERE id = '{created}'");
    common::sql::exec(&db.url, &sql).await;
    let next = issued(&c).await;
    assert_eq!(
        next.kid, older.id,
        "signed with the deleted key or created one"
    );
    assert_eq!(kids(&c).await, [older.id.as_str()]);
    assert!(c.validate(&next.token).await.valid);
    c.s.stop().await;
}

/// `--read-only` cannot create the replacement: it refuses at once instead of signing.
pub async fn read_only_refuses_at_once(db: Db) {
    let c = start(&db, "", |a| a.read_only = true).await;
    let row = vector_row(&c.v);
    c.s.store.insert_jwk(&row).await.unwrap();
    assert_eq!(issued(&c).await.kid, row.id);
    common::sql::exec(&db.url, "DELETE FROM jwks").await;
    let want = (Code::FailedPrecondition, "JWT_KEY_MISSING".to_string());
    assert_eq!(refusal(c.issue_for_user().await), want);
    assert!(kids(&c).await.is_empty(), "a read-only service wrote a key");
    c.s.stop().await;
}
