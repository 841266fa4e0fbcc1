//! The connection age (`--max-connection-age-ms`): a connection open longer gets GOAWAY, the
//! call in progress on it still finishes, and a client reconnects and goes on, which is what
//! spreads long-lived HTTP/2 clients over replicas added since they connected.
use std::time::Duration;

use tokio::time::{sleep, timeout};

use super::{
    http2::{call, connect, h2_connect, start},
    seed, validate,
};
use better_auth_grpc::proto::auth::v1::auth_service_client::AuthServiceClient;

const AGE_MS: u64 = 300;

#[tokio::test]
async fn an_old_connection_gets_goaway_and_its_open_call_finishes() {
    let (server, _db) = start(|a| a.max_connection_age_ms = AGE_MS).await;
    let (mut send, mut conn) = h2_connect(server.addr).await;
    let watch = call(&mut send, "Watch").await.expect("a Watch stream");
    sleep(Duration::from_millis(3 * AGE_MS)).await;

    let refused = call(&mut send, "Check").await;
    let refused = refused
        .map(drop)
        .expect_err("no new call on an aged connection");
    assert!(refused.is_go_away(), "{refused}");
    assert!(
        timeout(Duration::from_millis(300), &mut conn)
            .await
            .is_err(),
        "the connection stays while its Watch stream is open"
    );
    drop(watch);
    let closed = timeout(Duration::from_secs(3), conn)
        .await
        .expect("closed once its last stream ended")
        .unwrap();
    if let Err(e) = closed {
        assert!(e.is_go_away(), "{e}");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_client_reconnects_after_goaway_and_goes_on() {
    let (server, _db) = start(|a| a.max_connection_age_ms = AGE_MS).await;
    let token = seed(&server.store).await;
    let client = AuthServiceClient::new(connect(&server).await);
    for round in 0..4 {
        let answer = validate(&client, &token, None).await;
        assert!(answer.unwrap_or_else(|e| panic!("round {round}: {e:?}")));
        sleep(Duration::from_millis(2 * AGE_MS)).await;
    }
    server.stop().await;
}
