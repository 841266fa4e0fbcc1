//! `--session-cache-ms` serves ValidateToken only: a JWT outlives the session it came from,
//! so IssueToken must see a sign-out at once, and GetSession answers what the database says.
use super::*;

pub async fn never_answers_issue_or_get_session(db: Db) {
    let c = start(&db, "", |a| {
        a.session_cache_ms = better_auth_grpc::cli::CacheMs::Ms(60_000);
        // A chosen staleness without a feed: SQLite's would drop the entry at the deletion.
        a.follow_changes = "off".into();
    })
    .await;
    assert!(c.validate(&c.cookie).await.valid, "warms the cache");
    // Sign-out deletes the row.
    c.s.store.delete_session(&c.session.token).await.unwrap();
    assert!(
        c.validate(&c.cookie).await.valid,
        "ValidateToken's cached answer within the staleness (the cache is warm)"
    );
    assert_eq!(
        refusal(c.issue_for_session().await),
        (Code::NotFound, "SESSION_NOT_FOUND".into()),
        "IssueToken minted a JWT for a signed-out session"
    );
    assert_eq!(
        refusal(c.get_session(&c.cookie).await),
        (Code::NotFound, "SESSION_NOT_FOUND".into())
    );
    c.s.stop().await;
}
