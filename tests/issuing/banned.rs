//! The admin plugin's ban (`banned`, `banExpires`) stops IssueToken for either subject: a
//! user id, and a session whose row outlived the ban (ban-user deletes sessions, but a ban set
//! in the database or a row written meanwhile leaves one).
use chrono::TimeDelta;

use super::*;

fn ban_columns(db: &Db) -> &'static str {
    if db.sqlite_path().is_some() {
        "ALTER TABLE \"user\" ADD COLUMN \"banned\" integer;
         ALTER TABLE \"user\" ADD COLUMN \"banExpires\" date;"
    } else {
        "ALTER TABLE \"user\" ADD COLUMN \"banned\" boolean, ADD COLUMN \"banExpires\" timestamptz;"
    }
}

/// Sets the vector user's ban: `until` is `NULL` or a date literal.
async fn ban(c: &Ctx, db: &Db, until: &str) {
    let yes = if db.sqlite_path().is_some() {
        "1"
    } else {
        "true"
    };
    let sql = format!(
        "UPDATE \"user\" SET \"banned\" = {yes}, \"banExpires\" = {until} WHERE \"id\" = '{}'",
        c.user_id
    );
    common::sql::exec(&db.url, &sql).await;
}

async fn both_refused(c: &Ctx, why: &str) {
    let want = (Code::PermissionDenied, "USER_BANNED".to_string());
    assert_eq!(refusal(c.issue_for_user().await), want, "user id, {why}");
    assert_eq!(refusal(c.issue_for_session().await), want, "session, {why}");
}

pub async fn get_no_jwt(db: Db) {
    let c = start(&db, ban_columns(&db), |_| {}).await;
    assert!(c.issue_for_user().await.is_ok(), "not banned yet");
    let now = vectors::generated_at(&c.v);
    ban(&c, &db, "NULL").await;
    both_refused(&c, "banned for good").await;
    ban(&c, &db, &common::sql::date(&(now + TimeDelta::hours(1)))).await;
    both_refused(&c, "ban ends later").await;
    ban(&c, &db, &common::sql::date(&(now - TimeDelta::seconds(1)))).await;
    assert!(c.issue_for_user().await.is_ok(), "ban over");
    assert!(c.issue_for_session().await.is_ok(), "ban over");
    c.s.stop().await;
}
