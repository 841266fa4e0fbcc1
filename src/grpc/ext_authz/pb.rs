//! Envoy's ext_authz v3 types and service, generated from proto/envoy-vendor by build.rs.
#![allow(clippy::all, clippy::pedantic, missing_docs, rustdoc::all)]

pub mod envoy {
    pub mod config {
        pub mod core {
            pub mod v3 {
                tonic::include_proto!("envoy.config.core.v3");
            }
        }
    }
    pub mod r#type {
        pub mod v3 {
            tonic::include_proto!("envoy.r#type.v3");
        }
    }
    pub mod service {
        pub mod auth {
            pub mod v3 {
                tonic::include_proto!("envoy.service.auth.v3");
            }
        }
    }
}
pub mod google {
    pub mod rpc {
        tonic::include_proto!("google.rpc");
    }
}
pub mod udpa {
    pub mod annotations {
        tonic::include_proto!("udpa.annotations");
    }
}
pub mod validate {
    tonic::include_proto!("validate");
}
pub mod xds {
    pub mod annotations {
        pub mod v3 {
            tonic::include_proto!("xds.annotations.v3");
        }
    }
    pub mod core {
        pub mod v3 {
            tonic::include_proto!("xds.core.v3");
        }
    }
}

/// For server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("envoy_descriptor");
/// The service's full name (health, reflection).
pub const SERVICE_NAME: &str = "envoy.service.auth.v3.Authorization";
