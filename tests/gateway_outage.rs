//! A database that cannot answer is never an allow: Envoy's Check gets an error status
//! (UNAVAILABLE), the HTTP forward-auth endpoint a 503.
mod common;

use std::{sync::Arc, time::Duration};

use better_auth_grpc::{
    app::App,
    auth::signature::sign_cookie_value,
    clock::SystemClock,
    grpc::ext_authz::pb::envoy::service::auth::v3::{
        attribute_context::{HttpRequest, Request},
        authorization_client::AuthorizationClient,
        AttributeContext, CheckRequest,
    },
};
use common::{
    pg::PrivateCluster,
    server::{self, Serving},
};

const SECRET: &str = "gateway-outage-secret-0123456789abcdef";

#[tokio::test]
async fn an_unreachable_database_is_an_error_never_an_allow() {
    let cluster = PrivateCluster::start().await;
    let url = cluster.fresh_database().await;
    server::migrate(&url).await;
    let mut args = server::settings(&url, SECRET);
    args.db_timeout_ms = 500;
    let app = App::build(server::config(&args), Arc::new(SystemClock))
        .await
        .expect("app builds");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let http = listener.local_addr().expect("addr");
    let (gate, names) = (app.gatekeeper(), app.config.gateway.headers.clone());
    let limits = better_auth_grpc::http_auth::Limits {
        max_connections: 64,
        drain_timeout: Duration::from_secs(1),
    };
    let pending = std::future::pending::<()>();
    tokio::spawn(better_auth_grpc::http_auth::serve(
        listener, gate, names, limits, pending,
    ));
    let serving = Serving::start(app).await;
    let cookie = format!(
        "better-auth.session_token={}",
        sign_cookie_value("no-such-session-token", SECRET.as_bytes())
    );
    cluster.stop().await;

    let mut client = AuthorizationClient::connect(format!("http://{}", serving.addr))
        .await
        .expect("connects");
    let status = client
        .check(check(&cookie))
        .await
        .expect_err("not an answer");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");

    let resp = reqwest::Client::new()
        .get(format!("http://{http}/"))
        .header("cookie", &cookie)
        .header("x-original-uri", "/app")
        .send()
        .await
        .expect("answers");
    assert_eq!(resp.status().as_u16(), 503);
    let body = resp.text().await.expect("body");
    assert_eq!(body, r#"{"reason":"DATABASE_UNAVAILABLE"}"#);
    serving.stop().await;
}

fn check(cookie: &str) -> CheckRequest {
    let mut http = HttpRequest {
        method: "GET".into(),
        path: "/app".into(),
        ..Default::default()
    };
    http.headers.insert("cookie".into(), cookie.into());
    CheckRequest {
        attributes: Some(AttributeContext {
            request: Some(Request {
                http: Some(http),
                ..Default::default()
            }),
            ..Default::default()
        }),
    }
}
