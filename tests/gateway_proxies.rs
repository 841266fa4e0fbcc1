//! Real nginx and real Caddy (Debian packages) running deploy/gateway's configs in front of an
//! upstream that echoes the headers it receives, asking the HTTP forward-auth endpoint;
//! credentials from real Better Auth 1.7.25.
mod common;

use std::net::SocketAddr;

use common::{
    better_auth::SignedIn,
    gateway::{caddy, echo_upstream, nginx, Gateway, Proxy},
};
use serde_json::Value;

struct Answer {
    status: u16,
    www_authenticate: Option<String>,
    body: String,
}

async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Answer {
    let client = reqwest::Client::new();
    let mut req = client.get(format!("http://{addr}{path}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("the proxy answers");
    let www_authenticate = resp
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    Answer {
        status: resp.status().as_u16(),
        www_authenticate,
        body: resp.text().await.expect("a body"),
    }
}

/// The headers the upstream saw, for a request that must pass.
async fn upstream_saw(proxy: &Proxy, path: &str, headers: &[(&str, &str)]) -> Value {
    let a = get(proxy.addr, path, headers).await;
    assert_eq!(a.status, 200, "{path}: {} / {}", a.body, proxy.log());
    serde_json::from_str(&a.body).expect("the echo's JSON")
}

/// Everything the issue asks of a proxy in front of this service.
async fn exercise(proxy: &Proxy, gw: &Gateway, who: &SignedIn, name: &str) {
    let spoof = ("x-user-id", "spoofed-admin");
    let cookie = [("cookie", who.cookie_header.as_str()), spoof];
    let saw = upstream_saw(proxy, "/app/data?x=1", &cookie).await;
    assert_eq!(saw["x-user-id"], who.user_id.as_str(), "{name}: {saw}");
    assert_eq!(saw["x-user-email"], "gw-proxy@example.com", "{name}");
    assert_eq!(saw["x-user-name"], "Proxy User", "{name}");
    assert!(saw["x-session-id"].is_string(), "{name}: {saw}");

    let (_, jwt) = gw.ba.token(&who.cookie_header).await;
    let bearer = format!("Bearer {}", jwt.expect("a JWT"));
    let saw = upstream_saw(proxy, "/app", &[("authorization", &bearer), spoof]).await;
    assert_eq!(saw["x-user-id"], who.user_id.as_str(), "{name}: bearer JWT");
    assert!(saw.get("x-session-id").is_none(), "{name}: {saw}");

    let signed = format!(
        "Bearer {}",
        who.set_auth_token.as_deref().expect("bearer plugin")
    );
    let saw = upstream_saw(proxy, "/app", &[("authorization", &signed)]).await;
    assert_eq!(
        saw["x-user-id"],
        who.user_id.as_str(),
        "{name}: bearer session token"
    );

    let saw = upstream_saw(proxy, "/public/page", &[spoof]).await;
    assert!(
        saw.get("x-user-id").is_none(),
        "{name}: a spoofed id reached the app: {saw}"
    );

    let none = get(proxy.addr, "/app", &[spoof]).await;
    assert_eq!(none.status, 401, "{name}: no credential");
    let www = none.www_authenticate.unwrap_or_default();
    assert!(www.starts_with("Bearer"), "{name}: {www:?}");

    let refused = get(proxy.addr, "/admin/users", &cookie).await;
    assert_eq!(
        refused.status, 403,
        "{name}: the policy refuses a user without the admin role"
    );
}

async fn signed_in(gw: &Gateway) -> SignedIn {
    let who = gw
        .ba
        .sign_up("gw-proxy@example.com", "password-123456", "Proxy User")
        .await;
    gw.ba
        .sign_in("gw-proxy@example.com", "password-123456")
        .await;
    who
}

/// Signed out in Better Auth: the very next request through the proxy is a 401.
async fn signed_out_is_refused_at_once(proxy: &Proxy, gw: &Gateway, who: &SignedIn) {
    assert_eq!(gw.ba.sign_out(&who.cookie_header).await, 200);
    let a = get(proxy.addr, "/app", &[("cookie", &who.cookie_header)]).await;
    assert_eq!(a.status, 401, "{}", a.body);
}

#[tokio::test]
async fn nginx_auth_request_in_front_of_an_app() {
    let gw = Gateway::start(&[]).await;
    let proxy = nginx(gw.http_auth, echo_upstream().await).await;
    let who = signed_in(&gw).await;
    exercise(&proxy, &gw, &who, "nginx").await;
    let noauth = proxy.noauth.expect("nginx's no-auth server");
    assert_eq!(
        get(noauth, "/app", &[]).await.status,
        200,
        "the comparison proxy"
    );
    signed_out_is_refused_at_once(&proxy, &gw, &who).await;
    gw.stop().await;
}

#[tokio::test]
async fn caddy_forward_auth_in_front_of_an_app() {
    let gw = Gateway::start(&[]).await;
    let proxy = caddy(gw.http_auth, echo_upstream().await).await;
    let who = signed_in(&gw).await;
    exercise(&proxy, &gw, &who, "caddy").await;
    // Caddy answers the client with the auth response itself: the reason is in the body.
    let a = get(proxy.addr, "/app", &[]).await;
    assert_eq!(a.body, r#"{"reason":"EMPTY"}"#);
    signed_out_is_refused_at_once(&proxy, &gw, &who).await;
    gw.stop().await;
}
