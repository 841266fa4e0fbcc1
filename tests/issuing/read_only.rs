//! `--read-only` (read replicas) means no write at all: not the refresh or the expired-row
//! deletion of get-session, and not the jwks key IssueToken would create when none is live.
use chrono::TimeDelta;

use super::*;

pub async fn changes_no_table(db: Db) {
    let c = start(&db, "", |a| a.read_only = true).await;
    let expired = &c.v["expiredSessions"][0];
    let expired_row = vectors::session(vectors::row(&expired["db"], "session"));
    c.s.store.insert_session(&expired_row).await.unwrap();
    let expired_cookie = expired["sessionCookie"]["value"].as_str().unwrap();
    // Past updateAge: get-session would refresh the live session.
    c.clock.set(c.session.created_at + TimeDelta::days(2));
    let before = dump::tables(&db.url).await;
    assert!(before["jwks"].is_empty(), "no key yet");

    let validated = c.validate(&c.cookie).await;
    let validated_expired = c.validate(expired_cookie).await;
    let got = c.get_session(&c.cookie).await;
    let got_expired = c.get_session(expired_cookie).await;
    let for_session = c.issue_for_session().await;
    let for_user = c.issue_for_user().await;

    assert_eq!(
        dump::tables(&db.url).await,
        before,
        "a read-only call wrote"
    );
    assert!(validated.valid && !validated_expired.valid);
    let expires_at = got.unwrap().session.unwrap().expires_at.unwrap();
    assert_eq!(
        expires_at.seconds,
        c.session.expires_at.timestamp(),
        "refreshed"
    );
    assert_eq!(refusal(got_expired).1, "SESSION_EXPIRED");
    let want = (Code::FailedPrecondition, "JWT_KEY_MISSING".to_string());
    assert_eq!(refusal(for_session), want);
    assert_eq!(refusal(for_user), want);
    c.s.stop().await;
}
