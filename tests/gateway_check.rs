//! Envoy's ext_authz Check through the generated client, with Envoy's own message shapes
//! (`headers` and `header_map`), credentials from real Better Auth 1.7.25.
mod common;

use std::collections::HashMap;

use better_auth_grpc::grpc::ext_authz::pb::envoy::{
    config::core::v3::{HeaderMap, HeaderValue},
    service::auth::v3::{
        attribute_context::{HttpRequest, Request},
        authorization_client::AuthorizationClient,
        check_response::HttpResponse,
        AttributeContext, CheckRequest, CheckResponse,
    },
};
use common::gateway::Gateway;

/// Envoy's `headers` map, or its `header_map` list with the values in `raw_value` (as Envoy
/// sends them when `encode_raw_headers` is on).
#[derive(Clone, Copy)]
enum Shape {
    Map,
    List,
}

fn check_request(path: &str, headers: &[(&str, &str)], shape: Shape) -> CheckRequest {
    let mut http = HttpRequest {
        method: "GET".into(),
        path: path.into(),
        ..Default::default()
    };
    match shape {
        Shape::Map => {
            http.headers = headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        }
        Shape::List => {
            let list = headers.iter().map(|(k, v)| HeaderValue {
                key: k.to_string(),
                raw_value: v.as_bytes().to_vec(),
                ..Default::default()
            });
            http.header_map = Some(HeaderMap {
                headers: list.collect(),
            });
        }
    }
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

async fn check(gw: &Gateway, req: CheckRequest) -> CheckResponse {
    let mut client = AuthorizationClient::connect(format!("http://{}", gw.grpc))
        .await
        .expect("connects");
    client.check(req).await.expect("an OK rpc").into_inner()
}

/// Allowed: the headers set upstream (overwriting) and the ones removed.
fn allowed(r: &CheckResponse) -> (HashMap<String, String>, Vec<String>) {
    assert_eq!(r.status.as_ref().map(|s| s.code), Some(0), "{r:?}");
    let Some(HttpResponse::OkResponse(ok)) = &r.http_response else {
        panic!("not allowed: {r:?}");
    };
    let set = ok
        .headers
        .iter()
        .filter_map(|h| h.header.as_ref())
        .map(|h| (h.key.clone(), h.value.clone()));
    (set.collect(), ok.headers_to_remove.clone())
}

/// Denied: HTTP status, body, WWW-Authenticate.
fn denied(r: &CheckResponse) -> (i32, String, Option<String>) {
    let Some(HttpResponse::DeniedResponse(d)) = &r.http_response else {
        panic!("not denied: {r:?}");
    };
    let header = |name: &str| {
        d.headers
            .iter()
            .filter_map(|h| h.header.as_ref())
            .find(|h| h.key == name)
            .map(|h| h.value.clone())
    };
    (
        d.status.as_ref().map_or(0, |s| s.code),
        d.body.clone(),
        header("www-authenticate"),
    )
}

#[tokio::test]
async fn check_answers_envoy_for_cookies_bearers_policies_and_sign_out() {
    let gw = Gateway::start(&[]).await;
    let who = gw
        .ba
        .sign_up("gw-check@example.com", "password-123456", "Gate Way")
        .await;
    let (_, jwt) = gw.ba.token(&who.cookie_header).await;
    let jwt = format!("Bearer {}", jwt.expect("a JWT"));
    for shape in [Shape::Map, Shape::List] {
        let cookie = [
            ("cookie", who.cookie_header.as_str()),
            ("x-user-id", "spoofed"),
        ];
        let (set, removed) = allowed(&check(&gw, check_request("/app", &cookie, shape)).await);
        assert_eq!(set["x-user-id"], who.user_id);
        assert_eq!(set["x-user-email"], "gw-check@example.com");
        assert_eq!(set["x-user-name"], "Gate Way");
        assert!(set.contains_key("x-session-id"));
        assert!(removed.is_empty(), "{removed:?}");

        let (set, removed) = allowed(
            &check(
                &gw,
                check_request("/app", &[("authorization", &jwt)], shape),
            )
            .await,
        );
        assert_eq!(set["x-user-id"], who.user_id);
        assert_eq!(removed, ["x-session-id"], "a JWT has no session");

        let (set, removed) = allowed(
            &check(
                &gw,
                check_request("/public/x", &[("x-user-id", "spoofed")], shape),
            )
            .await,
        );
        assert!(set.is_empty());
        assert_eq!(removed.len(), 4);

        let (status, body, www) = denied(&check(&gw, check_request("/app", &[], shape)).await);
        assert_eq!((status, body.as_str()), (401, r#"{"reason":"EMPTY"}"#));
        assert_eq!(www.as_deref(), Some(r#"Bearer realm="better-auth""#));

        let (status, body, _) =
            denied(&check(&gw, check_request("/admin/users", &cookie, shape)).await);
        assert_eq!(
            (status, body.as_str()),
            (403, r#"{"reason":"ROLE_REQUIRED"}"#)
        );
    }
    assert_eq!(gw.ba.sign_out(&who.cookie_header).await, 200);
    let r = check(
        &gw,
        check_request("/app", &[("cookie", &who.cookie_header)], Shape::List),
    )
    .await;
    let (status, body, www) = denied(&r);
    assert_eq!(
        (status, body.as_str()),
        (401, r#"{"reason":"SESSION_NOT_FOUND"}"#)
    );
    assert!(www.is_some_and(|w| w.contains("invalid_token")));
    assert_eq!(
        r.status.map(|s| s.code),
        Some(tonic::Code::Unauthenticated as i32)
    );
    assert_serving(&gw).await;
    gw.stop().await;
}

#[tokio::test]
async fn an_upstream_jwt_is_minted_as_issue_token_mints() {
    let flags = [
        "--jwt-audience",
        common::better_auth::DEFAULT_BASE_URL,
        "--jwt-audience",
        "internal-api",
        "--gateway-jwt-audience",
        "internal-api",
        "--gateway-jwt-lifetime",
        "30",
    ];
    let gw = Gateway::start(&flags).await;
    let who = gw
        .ba
        .sign_up("gw-jwt@example.com", "password-123456", "Jwt User")
        .await;
    let req = check_request("/app", &[("cookie", &who.cookie_header)], Shape::Map);
    let (set, _) = allowed(&check(&gw, req).await);
    let jwt = set["authorization"]
        .strip_prefix("Bearer ")
        .expect("a bearer JWT")
        .to_owned();
    let payload = jwt.split('.').nth(1).expect("payload");
    use base64::Engine;
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("b64");
    let claims: serde_json::Value = serde_json::from_slice(&payload).expect("json");
    assert_eq!(claims["sub"], who.user_id.as_str());
    assert_eq!(claims["aud"], "internal-api");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        30
    );
    // jose.jwtVerify against Better Auth's own /jwks, issuer its origin, this audience.
    let verified: serde_json::Value = gw
        .ba
        .client()
        .get(format!("{}/test/jose-verify", gw.ba.url()))
        .query(&[("token", jwt.as_str()), ("audience", "internal-api")])
        .send()
        .await
        .expect("jose-verify")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        verified["payload"]["sub"],
        who.user_id.as_str(),
        "{verified}"
    );
    gw.stop().await;
}

/// Health reports the Authorization service by its name.
async fn assert_serving(gw: &Gateway) {
    use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", gw.grpc))
        .expect("a URL")
        .connect()
        .await
        .expect("connects");
    let mut health = HealthClient::new(channel);
    let req = HealthCheckRequest {
        service: "envoy.service.auth.v3.Authorization".into(),
    };
    let status = health
        .check(req)
        .await
        .expect("known to health")
        .into_inner()
        .status;
    assert_eq!(status, tonic_health::ServingStatus::Serving as i32);
}
