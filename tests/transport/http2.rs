//! HTTP/2 and connection limits, driven with a raw HTTP/2 client (h2) against the real server:
//! streams per connection, a flood of server-side resets, silent and idle connections, a flood
//! of connections, and the bound on health Watch streams.
use std::{net::SocketAddr, time::Duration};

use bytes::Bytes;
use h2::{client::SendRequest, Reason, RecvStream};
use tokio::{net::TcpStream, task::JoinHandle, time::timeout};
use tonic::{
    transport::{Channel, Endpoint},
    Code, Streaming,
};
use tonic_health::pb::{
    health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
    HealthCheckResponse,
};

use super::{
    closed_within,
    common::{
        db::Db,
        server::{self, TestServer},
    },
    health, seed, validate, SECRET,
};
use better_auth_grpc::{
    cli::SettingsArgs, proto::auth::v1::auth_service_client::AuthServiceClient,
};

/// A server on a fresh SQLite database with the transport settings `tune` sets.
pub(super) async fn start(tune: impl FnOnce(&mut SettingsArgs)) -> (TestServer, Db) {
    let db = Db::sqlite().await;
    server::migrate(&db.url).await;
    let mut args = server::settings(&db.url, SECRET);
    tune(&mut args);
    (TestServer::start(args).await, db)
}

/// One raw HTTP/2 connection: the request handle and the task driving the connection, which
/// ends when the server closes it.
pub(super) async fn h2_connect(
    addr: SocketAddr,
) -> (SendRequest<Bytes>, JoinHandle<Result<(), h2::Error>>) {
    let tcp = TcpStream::connect(addr).await.expect("tcp connect");
    let (send, conn) = h2::client::handshake(tcp).await.expect("h2 handshake");
    (send, tokio::spawn(conn))
}

/// A gRPC health call with an empty request message; `content_length` lies about the body.
fn health_request(method: &str, content_length: Option<&str>) -> http::Request<()> {
    let mut req = http::Request::post(format!("http://localhost/grpc.health.v1.Health/{method}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    if let Some(len) = content_length {
        req = req.header("content-length", len);
    }
    req.body(()).expect("request")
}

/// Sends a health call (an empty message: the 5-byte gRPC frame header alone) and returns its
/// response body once the headers are in.
pub(super) async fn call(
    send: &mut SendRequest<Bytes>,
    method: &str,
) -> Result<RecvStream, h2::Error> {
    let mut ready = send.clone().ready().await?;
    let (response, mut body) = ready.send_request(health_request(method, None), false)?;
    body.send_data(Bytes::from_static(&[0; 5]), true)?;
    let response = response.await?;
    assert_eq!(response.status(), 200);
    Ok(response.into_body())
}

#[tokio::test]
async fn streams_per_connection_are_capped_and_the_excess_waits() {
    let (server, _db) = start(|a| a.max_concurrent_streams = 2).await;
    let (mut send, _conn) = h2_connect(server.addr).await;
    call(&mut send, "Check")
        .await
        .map(drop)
        .expect("a first call");
    assert_eq!(
        send.current_max_send_streams(),
        2,
        "SETTINGS advertise the cap"
    );

    let first = call(&mut send, "Watch").await.expect("watch 1");
    let _second = call(&mut send, "Watch").await.expect("watch 2");
    let mut third = tokio::spawn({
        let mut send = send.clone();
        async move { call(&mut send, "Check").await.map(drop) }
    });
    assert!(
        timeout(Duration::from_millis(300), &mut third)
            .await
            .is_err(),
        "a third stream must wait while two are open"
    );
    drop(first); // the client resets it: a stream is free again
    timeout(Duration::from_secs(5), third)
        .await
        .expect("the waiting call goes once a stream is free")
        .unwrap()
        .expect("answered");
    server.stop().await;
}

#[tokio::test]
async fn a_flood_of_server_reset_streams_is_answered_with_goaway() {
    let (server, _db) = start(|a| a.http2_max_local_error_reset_streams = 5).await;
    let (send, conn) = h2_connect(server.addr).await;
    // END_STREAM on headers that announce a body is malformed: the server resets each stream.
    let mut resets = 0;
    for _ in 0..50 {
        let Ok(mut ready) = send.clone().ready().await else {
            break;
        };
        let Ok((response, _)) = ready.send_request(health_request("Check", Some("5")), true) else {
            break;
        };
        match response.await {
            Ok(r) => panic!("a malformed request was answered: {r:?}"),
            Err(e) if e.reason() == Some(Reason::PROTOCOL_ERROR) && e.is_reset() => resets += 1,
            Err(_) => break, // the connection is gone
        }
    }
    assert_eq!(resets, 5, "streams reset before the GOAWAY");
    let closed = timeout(Duration::from_secs(5), conn)
        .await
        .expect("the connection is closed")
        .unwrap()
        .expect_err("by the server");
    assert!(closed.is_go_away(), "{closed}");
    assert_eq!(closed.reason(), Some(Reason::ENHANCE_YOUR_CALM), "{closed}");
    // Other clients are still served.
    let channel = Endpoint::from_shared(server.channel_url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    assert_eq!(health(channel, "").await.unwrap(), ServingStatus::Serving);
    server.stop().await;
}

#[tokio::test]
async fn silent_and_idle_connections_are_closed_but_not_busy_ones() {
    let (server, _db) = start(|a| {
        a.connection_idle_timeout_ms = 300;
        a.handshake_timeout_ms = 300;
        // Answered PINGs are traffic, not calls: they must not keep an idle connection open.
        a.http2_keepalive_interval_ms = 100;
    })
    .await;
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    assert!(
        closed_within(&mut silent, Duration::from_secs(3)).await,
        "a client that never sends the HTTP/2 preface is disconnected"
    );

    let (mut send, mut conn) = h2_connect(server.addr).await;
    let watch = call(&mut send, "Watch").await.expect("watch");
    assert!(
        timeout(Duration::from_millis(1000), &mut conn)
            .await
            .is_err(),
        "a connection with a Watch stream open is not idle"
    );
    call(&mut send, "Check")
        .await
        .map(drop)
        .expect("still served");
    drop(watch);
    timeout(Duration::from_secs(3), conn)
        .await
        .expect("an idle connection is closed")
        .unwrap()
        .ok();
    server.stop().await;
}

/// Raw TCP connections beyond the cap are closed at once; the open ones (a well-behaved client's
/// included) are served, and a closed connection frees its place.
#[tokio::test]
async fn a_flood_of_connections_is_bounded_and_a_connected_client_is_still_served() {
    let (server, _db) = start(|a| a.max_connections = 4).await;
    let token = seed(&server.store).await;
    // The harness's client holds one connection; this channel a second.
    let channel = connect(&server).await;
    let client = AuthServiceClient::new(channel.clone());

    let mut flood = Vec::new();
    for _ in 0..20 {
        flood.push(TcpStream::connect(server.addr).await.expect("tcp connect"));
    }
    let mut open = 0;
    for tcp in &mut flood {
        if !closed_within(tcp, Duration::from_millis(200)).await {
            open += 1;
        }
    }
    assert_eq!(
        open, 2,
        "4 connections at most: 2 clients and 2 of the flood"
    );
    assert!(validate(&client, &token, None).await.unwrap());
    assert!(validate(&server.client, &token, None).await.unwrap());
    assert_eq!(health(channel, "").await.unwrap(), ServingStatus::Serving);

    drop(flood);
    let again = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let mut tcp = TcpStream::connect(server.addr).await.unwrap();
        if !closed_within(&mut tcp, Duration::from_millis(200)).await {
            break;
        }
        assert!(tokio::time::Instant::now() < again, "places are freed");
    }
    server.stop().await;
}

#[tokio::test]
async fn health_watch_streams_are_bounded() {
    let (server, _db) = start(|a| a.max_health_watch_streams = 2).await;
    let channel = connect(&server).await;
    let first = watch(&channel).await.expect("watch 1");
    let _second = watch(&channel).await.expect("watch 2");
    let refused = watch(&channel).await.expect_err("a third Watch");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert_eq!(
        health(channel.clone(), "").await.unwrap(),
        ServingStatus::Serving
    );
    drop(first);
    let again = tokio::time::Instant::now() + Duration::from_secs(5);
    while watch(&channel).await.is_err() {
        assert!(
            tokio::time::Instant::now() < again,
            "a closed Watch frees its place"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.stop().await;
}

async fn watch(channel: &Channel) -> Result<Streaming<HealthCheckResponse>, tonic::Status> {
    let req = HealthCheckRequest {
        service: String::new(),
    };
    HealthClient::new(channel.clone())
        .watch(req)
        .await
        .map(|r| r.into_inner())
}

pub(super) async fn connect(server: &TestServer) -> Channel {
    Endpoint::from_shared(server.channel_url())
        .unwrap()
        .connect()
        .await
        .unwrap()
}
