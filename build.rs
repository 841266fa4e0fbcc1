//! Compiles proto/ with protox (pure Rust, no system protoc) and hands the descriptor set
//! to tonic-prost-build; the same descriptor set feeds server reflection. Envoy's ext_authz
//! v3 protos (vendored in proto/envoy-vendor, see its README) are a second set, so only the
//! few files `external_auth.proto` imports are generated and compiled.
use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let out = PathBuf::from(env::var("OUT_DIR")?);
    let fds = protox::compile(["proto/auth/v1/auth.proto"], ["proto"])?;
    std::fs::write(
        out.join("auth_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .codec_path("crate::codec::SmallBufferCodec")
        .compile_fds(fds)?;
    envoy(&out)
}

/// `envoy.service.auth.v3.Authorization`: server for the gateway, client for the tests.
fn envoy(out: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let fds = protox::compile(
        ["envoy/service/auth/v3/external_auth.proto"],
        ["proto/envoy-vendor"],
    )?;
    std::fs::write(
        out.join("envoy_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}
