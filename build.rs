//! Compiles proto/ with protox (pure Rust, no system protoc) and hands the descriptor set
//! to tonic-prost-build; the same descriptor set feeds server reflection. Envoy's ext_authz
//! v3 protos (vendored in proto/envoy-vendor, see its README) are a second set, so only the
//! few files `external_auth.proto` imports are generated and compiled. Also records the git
//! revision for `build_info` (`unknown` without .git, e.g. a source tarball; an image build
//! may pass BETTER_AUTH_GRPC_REVISION instead).
use std::{
    env,
    path::{Path, PathBuf},
    process::Command,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    revision();
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

fn revision() {
    println!("cargo:rerun-if-env-changed=BETTER_AUTH_GRPC_REVISION");
    let rev = env::var("BETTER_AUTH_GRPC_REVISION")
        .ok()
        .filter(|r| !r.is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".into());
    // A new commit moves HEAD or the branch it names.
    // Only paths that exist: cargo counts a missing one as changed, so every build would rerun.
    for path in ["HEAD", "refs/heads", "packed-refs"] {
        if let Some(p) = git(&["rev-parse", "--git-path", path]).filter(|p| Path::new(p).exists()) {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    println!("cargo:rustc-env=BETTER_AUTH_GRPC_REVISION={rev}");
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
}
