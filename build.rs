//! Compiles proto/ with protox (pure Rust, no system protoc) and hands the descriptor set
//! to tonic-prost-build; the same descriptor set feeds server reflection. Also records the git
//! revision for `build_info` (`unknown` without .git, e.g. a source tarball; an image build
//! may pass BETTER_AUTH_GRPC_REVISION instead).
use std::{env, path::PathBuf, process::Command};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "proto/auth/v1/auth.proto";
    println!("cargo:rerun-if-changed=proto");
    revision();
    let fds = protox::compile([proto], ["proto"])?;
    let out = PathBuf::from(env::var("OUT_DIR")?);
    std::fs::write(
        out.join("auth_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .codec_path("crate::codec::SmallBufferCodec")
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
    for path in ["HEAD", "refs/heads", "packed-refs"] {
        if let Some(p) = git(&["rev-parse", "--git-path", path]) {
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
