//! The HTTP forward-auth endpoint (`--http-auth-addr`) for nginx `auth_request`, Caddy
//! `forward_auth`, Traefik `ForwardAuth` and Envoy's HTTP ext_authz: every path answers,
//! 200 with the identity headers, or 401/403 with `{"reason": …}`, or 503 when the database
//! cannot answer. The same gatekeeper and policies as the gRPC Check.
mod request;
mod response;
mod server;

pub use server::{serve, Limits};
