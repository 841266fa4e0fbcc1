//! The binary at TRACE, through the common process harness.
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use better_auth_grpc::{
    auth::callers::key_sha256_hex, proto::auth::v1::auth_service_client::AuthServiceClient,
};
use tonic::transport::Channel;

use super::{
    common::process::{self, Ended, Running},
    API_KEY, CALLER_AUDIENCE,
};

/// The binary in `dir`, in a clean environment, logging everything at TRACE.
pub fn bin(dir: &Path) -> Command {
    let mut c = process::command(dir);
    c.env("BETTER_AUTH_GRPC_LOG", "trace");
    c
}

/// Runs to completion; a run still going after 60 s fails the test.
pub fn run(c: Command) -> Ended {
    process::output(c, Duration::from_secs(60))
}

/// Creates Better Auth's schema with the binary's own `migrate`.
pub fn migrate(dir: &Path, url: &str) {
    let mut c = bin(dir);
    c.arg("migrate").env("DATABASE_URL", url);
    let out = run(c);
    assert!(out.status.success(), "migrate failed: {}", out.stderr);
}

/// A TOML file with `extra`, `jwt_check_user` and one caller with [`API_KEY`].
pub fn config_file(dir: &Path, name: &str, extra: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "{extra}\njwt_check_user = true\n\n[[callers]]\nname = \"redaction-test\"\n\
             key_sha256 = \"{}\"\nallow_user_id = true\naudiences = [\"{CALLER_AUDIENCE}\"]\n",
            key_sha256_hex(API_KEY)
        ),
    )
    .expect("config file");
    path
}

/// A serving binary at TRACE; killed on drop.
pub struct Server {
    running: Running,
    pub addr: SocketAddr,
}

impl Server {
    pub fn start(dir: &Path, env: &[(&str, &str)]) -> Self {
        let mut c = bin(dir);
        c.env("LISTEN_ADDR", "127.0.0.1:0")
            .envs(env.iter().copied());
        let mut running = Running::spawn(c);
        let addr = running.serving(Duration::from_secs(60));
        Self { running, addr }
    }

    pub async fn client(&self) -> AuthServiceClient<Channel> {
        AuthServiceClient::connect(format!("http://{}", self.addr))
            .await
            .expect("connect")
    }

    pub fn stderr(&self) -> String {
        self.running.stderr()
    }

    /// SIGTERM (so the shutdown path logs too), then the whole stderr.
    pub fn stop(self) -> String {
        self.running.sigterm();
        self.running.wait_or_kill(Duration::from_secs(15)).stderr
    }
}
