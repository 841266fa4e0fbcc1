//! Transport: tonic handlers, proto conversions, the status mapping and the server assembly.
pub mod calls;
pub mod connections;
pub mod convert;
pub mod ext_authz;
pub mod health;
pub mod limits;
pub mod metrics;
pub mod rpc_span;
pub mod server;
pub mod service;
pub mod status;
pub mod tls;
pub mod watch;
