//! The proxied request's method, path and credential headers, from either header field Envoy
//! may fill: `headers` (a map) or `header_map` (a list, values possibly in `raw_value`).
use super::pb::envoy::service::auth::v3::{attribute_context::HttpRequest, CheckRequest};

/// Header values owned, as Envoy sent them; names are lower-case in both fields.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Proxied {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    pub cookie: Option<String>,
}

pub fn proxied(req: &CheckRequest) -> Proxied {
    let http = req
        .attributes
        .as_ref()
        .and_then(|a| a.request.as_ref())
        .and_then(|r| r.http.as_ref());
    let Some(http) = http else {
        return Proxied::default();
    };
    Proxied {
        method: http.method.clone(),
        path: http.path.clone(),
        authorization: header(http, "authorization"),
        cookie: header(http, "cookie"),
    }
}

/// Several values of one header in `header_map` (cookies split by a proxy) are joined as HTTP/2
/// allows for cookies; for `authorization` the first wins.
fn header(http: &HttpRequest, name: &str) -> Option<String> {
    if let Some(v) = http.headers.get(name) {
        return Some(v.clone());
    }
    let values: Vec<String> = http
        .header_map
        .as_ref()?
        .headers
        .iter()
        .filter(|h| h.key.eq_ignore_ascii_case(name))
        .map(|h| match h.value.is_empty() {
            true => String::from_utf8_lossy(&h.raw_value).into_owned(),
            false => h.value.clone(),
        })
        .collect();
    match (name, values.len()) {
        (_, 0) => None,
        ("cookie", _) => Some(values.join("; ")),
        _ => values.into_iter().next(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::pb::envoy::config::core::v3::{HeaderMap, HeaderValue};
    use super::super::pb::envoy::service::auth::v3::{attribute_context, AttributeContext};
    use super::*;

    fn check(http: HttpRequest) -> CheckRequest {
        CheckRequest {
            attributes: Some(AttributeContext {
                request: Some(attribute_context::Request {
                    http: Some(http),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn both_header_fields() {
        let mut http = HttpRequest {
            method: "GET".into(),
            path: "/a?b".into(),
            ..Default::default()
        };
        http.headers
            .insert("authorization".into(), "Bearer t".into());
        let p = proxied(&check(http));
        assert_eq!((p.method.as_str(), p.path.as_str()), ("GET", "/a?b"));
        assert_eq!(p.authorization.as_deref(), Some("Bearer t"));
        let raw = |k: &str, v: &str| HeaderValue {
            key: k.into(),
            raw_value: v.as_bytes().to_vec(),
            ..Default::default()
        };
        let http = HttpRequest {
            header_map: Some(HeaderMap {
                headers: vec![raw("cookie", "a=1"), raw("cookie", "b=2")],
            }),
            ..Default::default()
        };
        assert_eq!(proxied(&check(http)).cookie.as_deref(), Some("a=1; b=2"));
        assert_eq!(proxied(&CheckRequest::default()), Proxied::default());
    }
}
