//! better-auth-grpc: Better Auth sessions and JWTs over gRPC.
pub mod app;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod grpc;
pub mod store;
pub mod token;

pub mod proto {
    pub mod auth {
        pub mod v1 {
            tonic::include_proto!("auth.v1");
        }
    }
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("auth_descriptor");
}
