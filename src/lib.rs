//! better-auth-grpc: Better Auth sessions and JWTs over gRPC.
pub mod app;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod codec;
pub mod config;
pub mod demo;
pub mod domain;
pub mod grpc;
pub mod http_auth;
pub mod store;
pub mod telemetry;
#[cfg(any(test, feature = "test-util"))]
pub mod test_util;
pub mod token;

/// The generated client, for Rust services calling this one:
/// `better_auth_grpc::client::AuthServiceClient::connect("http://127.0.0.1:50051")`.
pub mod client {
    pub use crate::proto::auth::v1::{
        auth_service_client::AuthServiceClient, issue_token_request::Subject, CredentialKind,
        GetSessionRequest, GetSessionResponse, IssueTokenRequest, IssueTokenResponse, Reason,
        Session, User, ValidateTokenRequest, ValidateTokenResponse,
    };
}

pub mod proto {
    pub mod auth {
        pub mod v1 {
            tonic::include_proto!("auth.v1");
        }
    }
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("auth_descriptor");
}
