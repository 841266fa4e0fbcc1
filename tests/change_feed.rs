//! The change feed: three replicas over one PostgreSQL with real Better Auth 1.7.25 and the
//! triggers of `migrate --change-feed`. Their session caches are on by default, and a sign-out,
//! revoked sessions, a deleted or banned user and a deleted jwks row are refused by every replica
//! within milliseconds; a lost listener never leaves a stale valid answer; a replica started
//! before the triggers exist follows them once they do. SQLite's data_version feed too.
mod common;
mod feed;

use std::time::{Duration, Instant};

use better_auth_grpc::{app, proto::auth::v1::session_event::Kind};
use common::{
    better_auth::{BetterAuth, BetterAuthOptions, SignedIn, DEFAULT_SECRET},
    db::Db,
    server::{config, settings, TestServer},
    sql,
};
use feed::{all_live, next_of, refusal_delays, replicas, valid, warm, watch};
use serde_json::json;

/// Generous for a loaded two-core CI machine; `scripts/bench` measures the real figures.
const BOUND: Duration = Duration::from_secs(1);
const PASSWORD: &str = "correct horse battery staple";

async fn better_auth(db: &Db) -> BetterAuth {
    let mut opts = BetterAuthOptions::new(db.url.clone()).env("BA_DELETE_USER", "1");
    opts.plugins = vec!["jwt", "bearer", "admin"];
    BetterAuth::start(opts).await
}

async fn install_triggers(url: &str) {
    let c = config(&settings(url, DEFAULT_SECRET));
    app::install_change_feed(&c.database)
        .await
        .expect("migrate --change-feed");
}

async fn user(ba: &BetterAuth, name: &str) -> SignedIn {
    ba.sign_up(&format!("{name}@example.com"), PASSWORD, name)
        .await
}

/// Every replica refuses `token` within `BOUND` of `since`.
async fn refused_everywhere(rs: &[TestServer], token: &str, since: Instant, what: &str) {
    let delays = refusal_delays(rs, token, since).await;
    println!("{what}: refused by each replica after {delays:?}");
    assert!(delays.iter().all(|d| *d < BOUND), "{what}: {delays:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_revocation_reaches_every_replica_at_once() {
    let db = Db::postgres().await;
    let ba = better_auth(&db).await;
    install_triggers(&db.url).await;
    let rs = replicas(&db.url, 3, &[]).await;
    all_live(&rs).await;
    cached_by_default(&ba, &rs, &db.url).await;
    sign_out(&ba, &rs).await;
    revoke_sessions(&ba, &rs).await;
    delete_user(&ba, &rs).await;
    ban_user(&ba, &rs, &db.url).await;
    delete_jwk(&ba, &rs, &db.url).await;
}

/// A row changed with the triggers bypassed (`session_replication_role = replica`) is still
/// answered from the cache: the cache is on, and only the feed empties it.
async fn cached_by_default(ba: &BetterAuth, rs: &[TestServer], url: &str) {
    let u = user(ba, "cached").await;
    warm(rs, &u.token).await;
    let delete = format!(
        "SET session_replication_role = replica; DELETE FROM \"session\" WHERE \"token\" = '{}'",
        u.token
    );
    sql::exec(url, &delete).await;
    for r in rs {
        assert!(valid(r, &u.token).await, "answered from the cache");
    }
}

async fn sign_out(ba: &BetterAuth, rs: &[TestServer]) {
    let u = user(ba, "signout").await;
    warm(rs, &u.token).await;
    assert_eq!(ba.sign_out(&u.cookie_header).await, 200);
    refused_everywhere(rs, &u.token, Instant::now(), "sign-out").await;
}

async fn revoke_sessions(ba: &BetterAuth, rs: &[TestServer]) {
    let first = user(ba, "revoke").await;
    let second = ba.sign_in("revoke@example.com", PASSWORD).await;
    warm(rs, &first.token).await;
    warm(rs, &second.token).await;
    let r = ba
        .post_json(
            "/revoke-sessions",
            &json!({}),
            &[("cookie", &first.cookie_header)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let since = Instant::now();
    refused_everywhere(rs, &first.token, since, "revoke-sessions (this one)").await;
    refused_everywhere(rs, &second.token, since, "revoke-sessions (the other)").await;
}

async fn delete_user(ba: &BetterAuth, rs: &[TestServer]) {
    let u = user(ba, "deleted").await;
    warm(rs, &u.token).await;
    let body = json!({ "password": PASSWORD });
    let r = ba
        .post_json("/delete-user", &body, &[("cookie", &u.cookie_header)])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    refused_everywhere(rs, &u.token, Instant::now(), "delete-user").await;
}

/// The admin plugin's ban-user, by an admin signed in through Better Auth.
async fn ban_user(ba: &BetterAuth, rs: &[TestServer], url: &str) {
    let admin = user(ba, "admin").await;
    let make_admin = format!(
        "UPDATE \"user\" SET \"role\" = 'admin' WHERE \"id\" = '{}'",
        admin.user_id
    );
    sql::exec(url, &make_admin).await;
    let u = user(ba, "banned").await;
    warm(rs, &u.token).await;
    let body = json!({ "userId": u.user_id, "banReason": "test" });
    let r = ba
        .post_json(
            "/admin/ban-user",
            &body,
            &[("cookie", &admin.cookie_header)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    refused_everywhere(rs, &u.token, Instant::now(), "admin ban-user").await;
}

async fn delete_jwk(ba: &BetterAuth, rs: &[TestServer], url: &str) {
    let u = user(ba, "jwt").await;
    let (status, jwt) = ba.token(&u.cookie_header).await;
    assert_eq!(status, 200);
    let jwt = jwt.expect("a JWT from /token");
    warm(rs, &jwt).await;
    sql::exec(url, "DELETE FROM \"jwks\"").await;
    refused_everywhere(rs, &jwt, Instant::now(), "jwks row deleted").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_started_before_the_triggers_follows_them_once_installed() {
    let db = Db::postgres().await;
    let ba = better_auth(&db).await;
    let before = replicas(&db.url, 1, &[]).await;
    let mut events = watch(&before[0]).await;
    next_of(&mut events, Kind::Reset).await;
    // No triggers: no cache by default, so a sign-out is refused at the next call.
    let u = user(&ba, "early").await;
    warm(&before, &u.token).await;
    assert_eq!(ba.sign_out(&u.cookie_header).await, 200);
    assert!(!valid(&before[0], &u.token).await);

    install_triggers(&db.url).await;
    next_of(&mut events, Kind::Live).await;
    let after = replicas(&db.url, 1, &[]).await;
    all_live(&after).await;
    let both: Vec<TestServer> = before.into_iter().chain(after).collect();
    let u = user(&ba, "late").await;
    warm(&both, &u.token).await;
    assert_eq!(ba.sign_out(&u.cookie_header).await, 200);
    refused_everywhere(&both, &u.token, Instant::now(), "sign-out").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_changes_are_seen_through_data_version() {
    let db = Db::sqlite().await;
    let path = db.sqlite_path().expect("a file");
    let mut opts = BetterAuthOptions::sqlite(&path);
    opts.plugins = vec!["jwt", "bearer"];
    let ba = BetterAuth::start(opts).await;
    // SQLite caches sessions only when asked; the feed then bounds the staleness, not the 60 s.
    let rs = replicas(&db.url, 2, &["--session-cache-ms", "60000"]).await;
    all_live(&rs).await;
    let u = user(&ba, "sqlite").await;
    warm(&rs, &u.token).await;
    assert_eq!(ba.sign_out(&u.cookie_header).await, 200);
    refused_everywhere(&rs, &u.token, Instant::now(), "sqlite sign-out").await;
}
