//! Installs the pinned Better Auth (`npm ci` in `tests/betterauth`) the first time a test needs it,
//! so `cargo test` works on a fresh clone with no other step.
//!
//! The installation is current when `node_modules/.ci-lock` is a byte copy of `package-lock.json`:
//! the stamp `.ci/run` writes too, so either one's install satisfies the other. Test binaries run
//! in parallel, so installing happens under an exclusive file lock, and the stamp is checked again
//! once the lock is held: whoever waited finds the work done.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Named in the panic when a tool is missing: what a user has to install.
pub const NEED_NODE: &str =
    "node and npm are needed by the Better Auth tests (Node.js 20 or newer): apt-get install nodejs npm";

/// Makes `dir` (a copy of `tests/betterauth`) hold the Better Auth its lock file pins.
/// Blocks (a first install takes tens of seconds): call it off the async runtime's threads.
pub fn ensure_installed(dir: &Path) {
    if is_current(dir) {
        return;
    }
    let _lock = lock();
    if is_current(dir) {
        return;
    }
    require_programs(&["node", "npm"]);
    npm_ci(dir);
    write_stamp(dir);
}

/// Whether `node_modules` was installed from the `package-lock.json` now in `dir`.
pub fn is_current(dir: &Path) -> bool {
    match (
        fs::read(dir.join("package-lock.json")),
        fs::read(stamp(dir)),
    ) {
        (Ok(lock), Ok(stamp)) => lock == stamp,
        _ => false,
    }
}

/// Records that `node_modules` matches the current `package-lock.json` (what `.ci/run` does).
pub fn write_stamp(dir: &Path) {
    let stamp = stamp(dir);
    fs::copy(dir.join("package-lock.json"), &stamp)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", stamp.display()));
}

/// Panics with [`NEED_NODE`] unless every program can be started from `PATH`.
pub fn require_programs(programs: &[&str]) {
    let missing: Vec<&str> = programs.iter().copied().filter(|p| !can_start(p)).collect();
    if !missing.is_empty() {
        panic!("{NEED_NODE} (not found on PATH: {})", missing.join(", "));
    }
}

fn can_start(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// `npm ci`, quiet: its output is shown only when it fails.
fn npm_ci(dir: &Path) {
    let output = Command::new("npm")
        .arg("ci")
        .arg("--prefix")
        .arg(dir)
        .args(["--no-audit", "--no-fund", "--loglevel=error"])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run npm ci: {e}; {NEED_NODE}"));
    if !output.status.success() {
        panic!(
            "npm ci --prefix {} failed ({}):\n{}{}",
            dir.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

fn stamp(dir: &Path) -> PathBuf {
    dir.join("node_modules").join(".ci-lock")
}

/// Exclusive lock shared by every test process of this build, released when the file is dropped
/// (or the process dies).
fn lock() -> File {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    fs::create_dir_all(dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    super::files::exclusive_lock(&dir.join("better-auth-npm.lock"))
}
