//! Behind PgBouncer 1.18 in transaction mode with a pool of 2 server connections: the service
//! migrates and serves through it, answers real Better Auth sessions under more concurrent
//! calls than the pool has connections, and keeps answering across an admin RECONNECT.
//! Without `--db-prepared-statements false` it refuses to start, naming that setting.
mod common;

use better_auth_grpc::{app::App, clock::SystemClock, proto::auth::v1::*};
use common::{
    better_auth::{BetterAuth, BetterAuthOptions, SignedIn, DEFAULT_BASE_URL, DEFAULT_SECRET},
    pg::fresh_database,
    pgbouncer::{PgBouncer, POOL_SIZE},
    server::{config, migrate, settings, TestServer},
};
use futures::future::join_all;
use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc,
};
use tonic::{Code, Status};

/// Concurrent calls, far more than the pool's server connections.
const CALLS: usize = 32;

struct Setup {
    bouncer: PgBouncer,
    ba: BetterAuth,
    svc: TestServer,
    users: Vec<SignedIn>,
}

/// Better Auth signs users up on the database itself; the service only sees it through PgBouncer.
async fn setup() -> Setup {
    let direct = fresh_database().await;
    let bouncer = PgBouncer::start(&direct);
    let pooled = bouncer.url(&direct);
    migrate(&pooled).await;
    let ba = BetterAuth::start(BetterAuthOptions::new(direct)).await;
    let mut users = vec![];
    for i in 0..4 {
        let email = format!("user{i}@example.com");
        users.push(ba.sign_up(&email, "a-long-password-1", "User").await);
    }
    let mut args = settings(&pooled, DEFAULT_SECRET);
    args.base_url = Some(DEFAULT_BASE_URL.into());
    args.db_prepared_statements = false;
    args.db_max_connections = 4 * POOL_SIZE;
    let svc = TestServer::start(args).await;
    Setup {
        bouncer,
        ba,
        svc,
        users,
    }
}

/// Call `i`: ValidateToken (even) or GetSession (odd) for one of the users, by cookie header.
async fn call(s: &Setup, i: usize) -> Result<String, Status> {
    let who = &s.users[i % s.users.len()];
    let mut client = s.svc.client.clone();
    if i.is_multiple_of(2) {
        let req = ValidateTokenRequest {
            token: who.cookie_header.clone(),
            ..Default::default()
        };
        let r = client.validate_token(req).await?.into_inner();
        assert!(r.valid, "call {i}: {r:?}");
        Ok(r.user.map(|u| u.id).unwrap_or_default())
    } else {
        let req = GetSessionRequest {
            token: who.cookie_header.clone(),
            disable_refresh: false,
        };
        let r = client.get_session(req).await?.into_inner();
        Ok(r.user.map(|u| u.id).unwrap_or_default())
    }
}

/// `CALLS` calls at once, each answering its own user.
async fn burst(s: &Setup) {
    let answers = join_all((0..CALLS).map(|i| call(s, i))).await;
    for (i, a) in answers.into_iter().enumerate() {
        let want = &s.users[i % s.users.len()].user_id;
        assert_eq!(&a.expect("status OK"), want, "call {i}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn live_sessions_concurrently_through_a_transaction_pooler() {
    let s = setup().await;
    for _ in 0..5 {
        burst(&s).await;
    }
    let gone = &s.users[0];
    assert_eq!(s.ba.sign_out(&gone.cookie_header).await, 200);
    let req = ValidateTokenRequest {
        token: gone.cookie_header.clone(),
        ..Default::default()
    };
    let r = s.svc.client.clone().validate_token(req).await.unwrap();
    let r = r.into_inner();
    assert_eq!((r.valid, r.reason()), (false, Reason::SessionNotFound));
}

/// One client's loop of calls until `stop`, and past it until a call succeeds; an UNAVAILABLE
/// is accepted only if its very next call succeeds.
async fn client_loop(s: &Setup, start: usize, stop: &AtomicBool) -> usize {
    let mut unavailable = 0;
    let mut last_failed = false;
    let mut r = 0;
    while !stop.load(Ordering::Relaxed) || last_failed {
        let i = start + r * CALLS;
        r += 1;
        match call(s, i).await {
            Ok(id) => assert_eq!(id, s.users[i % s.users.len()].user_id, "call {i}"),
            Err(e) if e.code() == Code::Unavailable && !last_failed => {
                unavailable += 1;
                last_failed = true;
                continue;
            }
            Err(e) => panic!("call {i} failed (after an UNAVAILABLE: {last_failed}): {e:?}"),
        }
        last_failed = false;
    }
    unavailable
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn calls_keep_answering_across_a_pgbouncer_reconnect() {
    let s = Arc::new(setup().await);
    // The loops call until told to stop, so however fast the calls, they span every RECONNECT.
    let stop = Arc::new(AtomicBool::new(false));
    let loops = (0..CALLS).map(|c| {
        let (s, stop) = (s.clone(), stop.clone());
        tokio::spawn(async move { client_loop(&s, c, &stop).await })
    });
    let loops: Vec<_> = loops.collect();
    for _ in 0..3 {
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        s.bouncer.reconnect();
    }
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    stop.store(true, Ordering::Relaxed);
    let mut unavailable = 0;
    for l in loops {
        unavailable += l.await.expect("client loop");
    }
    eprintln!("UNAVAILABLE answers during RECONNECT, each followed by a success: {unavailable}");
    burst(&s).await;
}

#[tokio::test]
async fn prepared_statements_behind_a_pooler_refuse_to_start_naming_the_setting() {
    let direct = fresh_database().await;
    let bouncer = PgBouncer::start(&direct);
    let pooled = bouncer.url(&direct);
    migrate(&pooled).await;
    let c = config(&settings(&pooled, DEFAULT_SECRET));
    let e = App::build(c, Arc::new(SystemClock))
        .await
        .err()
        .expect("refused");
    let text = e.to_string();
    assert!(text.contains("--db-prepared-statements false"), "{text}");
    assert!(
        text.contains("BETTER_AUTH_GRPC_DB_PREPARED_STATEMENTS"),
        "{text}"
    );
}
