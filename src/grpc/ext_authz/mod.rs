//! Envoy's external authorization (`envoy.service.auth.v3.Authorization/Check`) on the gRPC
//! port: Envoy's `ext_authz` filter and Istio's `envoyExtAuthzGrpc` provider call it.
pub mod pb;
mod request;
mod response;
mod service;

pub use service::ExtAuthz;
