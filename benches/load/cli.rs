//! The command line: subcommands and the measurement window they share.
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(about = "better-auth-grpc load client (see scripts/bench)")]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) cmd: Cmd,
}

#[derive(clap::Args, Clone)]
pub(crate) struct Window {
    /// Requests in flight, each its own task.
    #[arg(long, default_value_t = 16)]
    pub(crate) concurrency: usize,
    /// Seconds of warm-up (not recorded).
    #[arg(long, default_value_t = 2.0)]
    pub(crate) warmup: f64,
    /// Seconds of the timed window.
    #[arg(long, default_value_t = 10.0)]
    pub(crate) duration: f64,
    /// Scenario name in the results.
    #[arg(long)]
    pub(crate) scenario: String,
    /// `pg`, `sqlite`, …
    #[arg(long, default_value = "pg")]
    pub(crate) backend: String,
    /// `service`, `ceiling` or `better-auth`.
    #[arg(long, default_value = "service")]
    pub(crate) role: String,
    /// Append the JSON line here too.
    #[arg(long)]
    pub(crate) results: Option<PathBuf>,
    /// Sample VmRSS of this pid during the timed window (peak in the result).
    #[arg(long)]
    pub(crate) watch_pid: Option<u32>,
    /// Exit 1 unless every recorded answer was right and at least one was recorded.
    #[arg(long)]
    pub(crate) strict: bool,
    /// Use each credential at most once: the window ends early when they run out (for calls
    /// that consume their credential, such as a sign-out).
    #[arg(long)]
    pub(crate) once: bool,
}

#[derive(Subcommand)]
pub(crate) enum Cmd {
    /// Insert N users with one live session each (and one jwks row per EdDSA/ES256/RS256) into
    /// empty Better Auth schemas; write the credential lists.
    Seed {
        #[arg(long)]
        pg: Option<String>,
        #[arg(long)]
        sqlite: Option<String>,
        #[arg(long, default_value_t = 10_000)]
        users: usize,
        #[arg(long)]
        secret: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// IssueToken(user_id) for every user id of a file: the JWT lists.
    Mint {
        #[arg(long)]
        addr: String,
        #[arg(long)]
        api_key: String,
        #[arg(long)]
        user_ids: PathBuf,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 3600)]
        lifetime: u32,
        #[arg(long)]
        expect_alg: Option<String>,
        #[arg(long, default_value_t = 0)]
        limit: usize,
    },
    /// Delete sessions' rows and time until every replica refuses them (the change feed).
    Revocation {
        /// Comma-separated replica URLs.
        #[arg(long, value_delimiter = ',')]
        addrs: Vec<String>,
        #[arg(long)]
        pg: String,
        #[arg(long)]
        creds: PathBuf,
        #[arg(long, default_value_t = 200)]
        rounds: usize,
        #[arg(long)]
        results: Option<PathBuf>,
    },
    /// One gRPC measurement.
    Grpc {
        #[arg(long)]
        addr: String,
        #[arg(long, value_enum)]
        rpc: Rpc,
        /// One credential (token, cookie header, JWT, user id) per line.
        #[arg(long)]
        creds: Option<PathBuf>,
        #[arg(long, default_value = "")]
        api_key: String,
        /// HTTP/2 connections the in-flight requests are spread over.
        #[arg(long, default_value_t = 1)]
        connections: usize,
        #[command(flatten)]
        window: Window,
    },
    /// One HTTP/1.1 keep-alive measurement against Better Auth.
    Http {
        /// Better Auth's base, e.g. http://127.0.0.1:3000/api/auth
        #[arg(long)]
        url: String,
        #[arg(long, value_enum)]
        mode: HttpMode,
        /// Signed cookie values (`token.sig`, URL-encoded) one per line.
        #[arg(long)]
        creds: PathBuf,
        #[arg(long, default_value = "better-auth.session_token")]
        cookie_name: String,
        #[command(flatten)]
        window: Window,
    },
    /// pgbench -M prepared of the service's session⋈user lookup by token.
    Pgbench {
        #[arg(long)]
        url: String,
        #[arg(long)]
        users: usize,
        #[arg(long, default_value = "pgbench")]
        pgbench: String,
        #[command(flatten)]
        window: Window,
    },
    /// Start the binary `runs` times: time from spawn to Health/Check SERVING, and VmRSS 1 s later.
    Startup {
        #[arg(long)]
        bin: PathBuf,
        #[arg(long)]
        addr: String,
        #[arg(long, default_value_t = 5)]
        runs: usize,
        #[arg(long, default_value = "sqlite")]
        backend: String,
        #[arg(long)]
        results: Option<PathBuf>,
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Wait until Health/Check answers SERVING (exit 1 after --timeout seconds).
    Wait {
        #[arg(long)]
        addr: String,
        #[arg(long, default_value_t = 30.0)]
        timeout: f64,
    },
    /// VmRSS of a pid, as a JSON line.
    Rss {
        #[arg(long)]
        pid: u32,
        #[arg(long)]
        label: String,
        #[arg(long)]
        results: Option<PathBuf>,
    },
    /// A key/value note for the report (machine, versions, commands).
    Note {
        key: String,
        value: String,
        #[arg(long)]
        results: PathBuf,
    },
    /// The tables, ratios and targets, as Markdown.
    Report {
        #[arg(long)]
        results: PathBuf,
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub(crate) enum Rpc {
    Health,
    ValidateJwt,
    ValidateSession,
    GetSession,
    IssueSession,
    IssueUser,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub(crate) enum HttpMode {
    /// GET /get-session with the session cookie.
    GetSessionCookie,
    /// GET /get-session with Authorization: Bearer token.sig
    GetSessionBearer,
    /// GET /token with the session cookie.
    Token,
    /// POST /sign-in/email; creds lines are `email<TAB>password`.
    SignIn,
    /// POST /sign-out with the session cookie; implies `--once`, as a second sign-out of a
    /// cookie deletes no row.
    SignOut,
}
