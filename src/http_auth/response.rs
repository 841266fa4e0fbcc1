//! A gateway decision (or the reason there is none) as an HTTP response.
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{header, Response, StatusCode};

use crate::auth::{
    error::AuthError,
    gateway::{Decision, IdentityHeaders},
};
use crate::store::StoreError;

pub type Body = Full<Bytes>;

pub fn decided(decision: &Decision, names: &IdentityHeaders) -> Response<Body> {
    let Some(denial) = decision.denial() else {
        return allowed(decision, names);
    };
    let status = StatusCode::from_u16(denial.status).unwrap_or(StatusCode::FORBIDDEN);
    let mut r = json(status, denial.body());
    if let Some(w) = denial.www_authenticate {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static(w),
        );
    }
    r
}

fn allowed(decision: &Decision, names: &IdentityHeaders) -> Response<Body> {
    let upstream = decision.upstream(names);
    let mut r = Response::new(Body::default());
    let headers = r.headers_mut();
    for (k, v) in &upstream.set {
        // UTF-8 names pass as raw bytes (obs-text); a control character leaves the header out.
        if let (Ok(k), Ok(v)) = (
            header::HeaderName::from_bytes(k.as_bytes()),
            header::HeaderValue::from_bytes(v.as_bytes()),
        ) {
            headers.insert(k, v);
        }
    }
    // Envoy's HTTP ext_authz reads the headers to remove from this one.
    let remove = upstream.remove.join(", ");
    if let (false, Ok(v)) = (remove.is_empty(), header::HeaderValue::from_str(&remove)) {
        headers.insert("x-envoy-auth-headers-to-remove", v);
    }
    r
}

/// Never an allow: 503 while the database cannot answer, else 500; details go to the log only.
pub fn failed(e: &AuthError) -> Response<Body> {
    match e {
        AuthError::Store(StoreError::Unavailable(_)) => json(
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"reason":"DATABASE_UNAVAILABLE"}"#.into(),
        ),
        other => {
            tracing::error!(error = %other, "gateway check failed");
            json(
                StatusCode::INTERNAL_SERVER_ERROR,
                r#"{"reason":"INTERNAL"}"#.into(),
            )
        }
    }
}

fn json(status: StatusCode, body: String) -> Response<Body> {
    let mut r = Response::new(Body::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    r
}
