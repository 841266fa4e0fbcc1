//! Small files the tests write: an IssueToken callers file, and the exclusive lock files that
//! keep parallel test processes from racing on shared set-up.
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use better_auth_grpc::auth::callers::key_sha256_hex;

/// A TOML file with one `[[callers]]` entry "svc" for `api_key`, allowed to ask for any user id,
/// plus `extra` appended as written (more callers, audiences).
pub fn callers_file(dir: &Path, api_key: &str, extra: &str) -> PathBuf {
    let path = dir.join("callers.toml");
    let toml = format!(
        "[[callers]]\nname = \"svc\"\nkey_sha256 = \"{}\"\nallow_user_id = true\n{extra}",
        key_sha256_hex(api_key)
    );
    std::fs::write(&path, toml).unwrap();
    path
}

/// Exclusive lock on `path`, released when the returned file is dropped (or the process dies).
/// Blocks: call it off the async runtime's threads.
// File::lock is Rust 1.89+, newer than the crate's MSRV; only the tests depend on it.
#[allow(clippy::incompatible_msrv)]
pub fn exclusive_lock(path: &Path) -> File {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    file.lock()
        .unwrap_or_else(|e| panic!("cannot lock {}: {e}", path.display()));
    file
}
