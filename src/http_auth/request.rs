//! The original request, by each proxy's convention: `X-Forwarded-Method`/`X-Forwarded-Uri`
//! (Traefik, Caddy), `X-Original-Method`/`X-Original-URI` (nginx; set by its config), else the
//! request itself (Envoy's HTTP ext_authz forwards the method and path as they are).
use hyper::{header, http::request::Parts, HeaderMap};

use crate::auth::gateway::GatewayRequest;

pub fn gateway_request(parts: &Parts) -> GatewayRequest<'_> {
    let h = &parts.headers;
    let own_uri = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    GatewayRequest {
        method: first(h, &["x-forwarded-method", "x-original-method"])
            .unwrap_or(parts.method.as_str()),
        uri: first(h, &["x-forwarded-uri", "x-original-uri"]).unwrap_or(own_uri),
        authorization: text(h, header::AUTHORIZATION.as_str()),
        cookie: text(h, header::COOKIE.as_str()),
    }
}

fn first<'h>(h: &'h HeaderMap, names: &[&str]) -> Option<&'h str> {
    names
        .iter()
        .find_map(|n| text(h, n))
        .filter(|v| !v.is_empty())
}

fn text<'h>(h: &'h HeaderMap, name: &str) -> Option<&'h str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut b = hyper::Request::builder().method("POST").uri("/auth?x=1");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn each_proxys_convention() {
        let own = parts(&[("cookie", "a=b")]);
        let r = gateway_request(&own);
        assert_eq!(
            (r.method, r.uri, r.cookie),
            ("POST", "/auth?x=1", Some("a=b"))
        );
        let traefik = parts(&[("x-forwarded-method", "GET"), ("x-forwarded-uri", "/p")]);
        let r = gateway_request(&traefik);
        assert_eq!((r.method, r.uri), ("GET", "/p"));
        let nginx = parts(&[
            ("x-original-method", "PUT"),
            ("x-original-uri", "/q"),
            ("authorization", "Bearer t"),
        ]);
        let r = gateway_request(&nginx);
        assert_eq!(
            (r.method, r.uri, r.authorization),
            ("PUT", "/q", Some("Bearer t"))
        );
    }
}
