//! A lost change feed never leaves a stale valid answer: the listener's backend is killed with
//! `pg_terminate_backend` while replicas answer under load; they drop their caches, answer
//! uncached, and subscribe again by themselves.
mod common;
mod feed;

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc, Mutex,
};
use std::time::Instant;

use better_auth_grpc::{app, proto::auth::v1::session_event::Kind};
use common::{
    better_auth::{BetterAuth, BetterAuthOptions, SignedIn, DEFAULT_SECRET},
    db::Db,
    server::{config, settings, TestServer},
    sql,
};
use feed::{all_live, next_of, replicas, valid, warm, watch};

/// (when the call started, which user, its answer)
type Answers = Arc<Mutex<Vec<(Instant, usize, bool)>>>;

const KILL_LISTENERS: &str = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
     WHERE datname = current_database() AND query LIKE 'LISTEN%'";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_listener_drops_the_caches_and_comes_back() {
    let db = Db::postgres().await;
    let ba = BetterAuth::start(BetterAuthOptions::new(db.url.clone())).await;
    let c = config(&settings(&db.url, DEFAULT_SECRET));
    app::install_change_feed(&c.database)
        .await
        .expect("triggers");
    let rs = Arc::new(replicas(&db.url, 3, &[]).await);
    all_live(&rs).await;
    let mut users = Vec::new();
    for i in 0..4 {
        let email = format!("load{i}@example.com");
        users.push(
            ba.sign_up(&email, "correct horse battery staple", "l")
                .await,
        );
    }
    for u in &users {
        warm(&rs, &u.token).await;
    }
    let (stop, answers, load) = start_load(rs.clone(), &users);
    let mut streams = Vec::new();
    for r in rs.iter() {
        let mut s = watch(r).await;
        next_of(&mut s, Kind::Live).await;
        streams.push(s);
    }
    sql::exec(&db.url, KILL_LISTENERS).await;
    for s in &mut streams {
        next_of(s, Kind::Reset).await;
    }
    let during = sign_out(&ba, &users[0]).await;
    for s in &mut streams {
        next_of(s, Kind::Live).await;
    }
    let after = sign_out(&ba, &users[1]).await;
    warm(&rs, &users[2].token).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    stop.store(true, Ordering::SeqCst);
    load.await.expect("load");
    let answers = answers.lock().expect("answers");
    assert_no_stale(&answers, 0, during);
    assert_no_stale(&answers, 1, after);
    println!("{} answers under load, none stale", answers.len());
}

async fn sign_out(ba: &BetterAuth, u: &SignedIn) -> Instant {
    assert_eq!(ba.sign_out(&u.cookie_header).await, 200);
    Instant::now()
}

fn assert_no_stale(answers: &[(Instant, usize, bool)], user: usize, signed_out: Instant) {
    let stale = answers
        .iter()
        .filter(|(at, u, ok)| *u == user && *ok && *at > signed_out)
        .count();
    let checked = answers
        .iter()
        .filter(|(at, u, _)| *u == user && *at > signed_out)
        .count();
    assert!(
        checked > 0,
        "the load checked user {user} after its sign-out"
    );
    assert_eq!(stale, 0, "valid answers after user {user} signed out");
}

fn start_load(
    rs: Arc<Vec<TestServer>>,
    users: &[SignedIn],
) -> (Arc<AtomicBool>, Answers, tokio::task::JoinHandle<()>) {
    let stop = Arc::new(AtomicBool::new(false));
    let answers: Answers = Arc::default();
    let tokens: Vec<String> = users.iter().map(|u| u.token.clone()).collect();
    let (s, a) = (stop.clone(), answers.clone());
    let load = tokio::spawn(async move {
        while !s.load(Ordering::SeqCst) {
            for (i, t) in tokens.iter().enumerate() {
                for r in rs.iter() {
                    let at = Instant::now();
                    let ok = valid(r, t).await;
                    a.lock().expect("answers").push((at, i, ok));
                }
            }
        }
    });
    (stop, answers, load)
}
