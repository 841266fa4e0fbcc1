//! The load client of `scripts/bench` (harness = false): seeds Better-Auth-shaped rows, mints
//! JWTs through IssueToken, drives the service (gRPC), Better Auth (HTTP/1.1 keep-alive) and
//! pgbench at a fixed number of requests in flight, and writes the report.
//!
//! ```text
//! cargo bench --bench load -- <subcommand> …      (or the binary cargo build --release --benches makes)
//!   seed     --pg URL --sqlite URL --users N --secret S --out DIR
//!   mint     --addr URL --api-key K --user-ids FILE --out FILE [--expect-alg A]
//!   grpc     --addr URL --rpc R --creds FILE --concurrency N …   one measurement, one JSON line
//!   http     --url URL --mode M --creds FILE --concurrency N …   one measurement, one JSON line
//!   pgbench  --url URL --users N --concurrency N …               one measurement, one JSON line
//!   startup  --bin PATH --addr HOST:PORT [--runs N] -- ARGS…     start to SERVING, idle RSS
//!   rss / note                                                    one JSON line
//!   report   --results FILE --out FILE                           the tables, ratios and targets
//! ```
//!
//! Every request takes the next credential of a list (round robin over ≥ 10 000 distinct
//! users/sessions/tokens by default) and its answer is checked (`valid = true`, a session and
//! user, a compact JWT, HTTP 200 with a session…); wrong answers and errors are counted apart.
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use base64::Engine as _;
use better_auth_grpc::client::{
    AuthServiceClient, CredentialKind, GetSessionRequest, IssueTokenRequest, Subject,
    ValidateTokenRequest,
};
use better_auth_grpc::domain::secret::Secrets;
use better_auth_grpc::token::{new_jwk_row, Alg, JwtSettings};
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

#[derive(Parser)]
#[command(about = "better-auth-grpc load client (see scripts/bench)")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(clap::Args, Clone)]
struct Window {
    /// Requests in flight, each its own task.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Seconds of warm-up (not recorded).
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Seconds of the timed window.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Scenario name in the results.
    #[arg(long)]
    scenario: String,
    /// `pg`, `sqlite`, …
    #[arg(long, default_value = "pg")]
    backend: String,
    /// `service`, `ceiling` or `better-auth`.
    #[arg(long, default_value = "service")]
    role: String,
    /// Append the JSON line here too.
    #[arg(long)]
    results: Option<PathBuf>,
    /// Sample VmRSS of this pid during the timed window (peak in the result).
    #[arg(long)]
    watch_pid: Option<u32>,
    /// Exit 1 unless every recorded answer was right and at least one was recorded.
    #[arg(long)]
    strict: bool,
}

#[derive(Subcommand)]
enum Cmd {
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
enum Rpc {
    Health,
    ValidateJwt,
    ValidateSession,
    GetSession,
    IssueSession,
    IssueUser,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
enum HttpMode {
    /// GET /get-session with the session cookie.
    GetSessionCookie,
    /// GET /get-session with Authorization: Bearer token.sig
    GetSessionBearer,
    /// GET /token with the session cookie.
    Token,
}

fn main() -> Result<()> {
    // `cargo bench` appends --bench; it means nothing here.
    let args = std::env::args().filter(|a| a != "--bench");
    let cli = Cli::parse_from(args);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        match cli.cmd {
            Cmd::Seed {
                pg,
                sqlite,
                users,
                secret,
                out,
            } => seed(pg, sqlite, users, &secret, &out).await,
            Cmd::Mint {
                addr,
                api_key,
                user_ids,
                out,
                lifetime,
                expect_alg,
                limit,
            } => {
                mint(
                    &addr, &api_key, &user_ids, &out, lifetime, expect_alg, limit,
                )
                .await
            }
            Cmd::Grpc {
                addr,
                rpc,
                creds,
                api_key,
                connections,
                window,
            } => grpc(&addr, rpc, creds, &api_key, connections, window).await,
            Cmd::Http {
                url,
                mode,
                creds,
                cookie_name,
                window,
            } => http(&url, mode, &creds, &cookie_name, window).await,
            Cmd::Pgbench {
                url,
                users,
                pgbench,
                window,
            } => pgbench_run(&url, users, &pgbench, window).await,
            Cmd::Startup {
                bin,
                addr,
                runs,
                backend,
                results,
                args,
            } => startup(&bin, &addr, runs, &backend, results, &args).await,
            Cmd::Wait { addr, timeout } => {
                let t0 = Instant::now();
                loop {
                    if serving(&addr).await {
                        return Ok(());
                    }
                    if t0.elapsed().as_secs_f64() > timeout {
                        bail!("{addr} not SERVING after {timeout} s");
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            Cmd::Rss {
                pid,
                label,
                results,
            } => {
                let kib = vm_rss_kib(pid).ok_or_else(|| anyhow!("no VmRSS for pid {pid}"))?;
                emit(
                    &results,
                    json!({"kind": "rss", "label": label, "rss_kib": kib}),
                )
            }
            Cmd::Note {
                key,
                value,
                results,
            } => emit(
                &Some(results),
                json!({"kind": "note", "key": key, "value": value}),
            ),
            Cmd::Report { results, out } => report(&results, out),
        }
    })
}

fn emit(results: &Option<PathBuf>, v: Value) -> Result<()> {
    let line = v.to_string();
    println!("{line}");
    if let Some(path) = results {
        let mut f = OpenOptions::new().create(true).append(true).open(path)?;
        writeln!(f, "{line}")?;
    }
    Ok(())
}

fn read_lines(path: &Path) -> Result<Vec<String>> {
    let text = fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    let lines: Vec<String> = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if lines.is_empty() {
        bail!("{} is empty", path.display());
    }
    Ok(lines)
}

fn vm_rss_kib(pid: u32) -> Option<u64> {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// Seeding

const ALPHANUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Better Auth's `generateId(32)`: 32 characters of [A-Za-z0-9].
fn generate_id() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..32)
        .map(|_| ALPHANUM[rng.random_range(0..ALPHANUM.len())] as char)
        .collect()
}

/// The session token of bench user `i`: 32 hex characters (a subset of Better Auth's
/// alphabet) that pgbench can recompute in SQL: left(encode(sha256('bench-session-<i>'),'hex'),32).
fn session_token(i: usize) -> String {
    let d = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        format!("bench-session-{i}").as_bytes(),
    );
    hex::encode(d.as_ref())[..32].to_owned()
}

/// `encodeURIComponent(token + "." + base64(HMAC-SHA256(secret, token)))` (COMPAT §2.3).
fn signed_value(secret: &str, token: &str) -> (String, String) {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
    let sig = base64::engine::general_purpose::STANDARD
        .encode(aws_lc_rs::hmac::sign(&key, token.as_bytes()).as_ref());
    let raw = format!("{token}.{sig}");
    let enc = raw
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    (raw, enc)
}

fn iso_ms(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

async fn seed(
    pg: Option<String>,
    sqlite: Option<String>,
    users: usize,
    secret: &str,
    out: &Path,
) -> Result<()> {
    fs::create_dir_all(out)?;
    let now = DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap_or_default();
    let expires = now + TimeDelta::days(7);
    let secrets = Secrets::from_secret(secret).map_err(|e| anyhow!("secret: {e}"))?;

    // One key per algorithm; EdDSA newest, so Better Auth (EdDSA by default) signs with it too.
    let mut jwks = Vec::new();
    for (age, alg) in [(3, Alg::RS256), (2, Alg::ES256), (1, Alg::EdDSA)] {
        let mut s = JwtSettings::for_origin("http://127.0.0.1");
        s.alg = alg;
        let (row, _) = new_jwk_row(&s, &secrets, now - TimeDelta::minutes(age))
            .map_err(|e| anyhow!("new_jwk_row {alg:?}: {e}"))?;
        jwks.push(row);
    }

    struct U {
        id: String,
        sid: String,
        token: String,
    }
    let rows: Vec<U> = (0..users)
        .map(|i| U {
            id: generate_id(),
            sid: generate_id(),
            token: session_token(i + 1),
        })
        .collect();

    let mut tokens = String::new();
    let mut cookies = String::new();
    let mut cookie_values = String::new();
    let mut signed = String::new();
    let mut ids = String::new();
    for u in &rows {
        let (raw, enc) = signed_value(secret, &u.token);
        writeln!(tokens, "{}", u.token)?;
        writeln!(cookies, "better-auth.session_token={enc}")?;
        writeln!(cookie_values, "{enc}")?;
        writeln!(signed, "{raw}")?;
        writeln!(ids, "{}", u.id)?;
    }
    fs::write(out.join("tokens.txt"), tokens)?;
    fs::write(out.join("cookies.txt"), cookies)?;
    fs::write(out.join("cookie-values.txt"), cookie_values)?;
    fs::write(out.join("signed.txt"), signed)?;
    fs::write(out.join("user-ids.txt"), ids)?;

    for (url, is_pg) in [(pg, true), (sqlite, false)] {
        let Some(url) = url else { continue };
        let (t_now, t_exp) = (iso_ms(now), iso_ms(expires));
        let (f, ua) = if is_pg { ("false", "''") } else { ("0", "''") };
        let mut sql = String::from("BEGIN;\n");
        for chunk in rows.chunks(500) {
            sql.push_str("INSERT INTO \"user\" (\"id\",\"name\",\"email\",\"emailVerified\",\"image\",\"createdAt\",\"updatedAt\") VALUES\n");
            let vals: Vec<String> = chunk
                .iter()
                .enumerate()
                .map(|(k, u)| {
                    format!(
                        "({},{},{},{f},NULL,{},{})",
                        q(&u.id),
                        q(&format!("Bench User {}", u.sid.get(..6).unwrap_or(""))),
                        q(&format!("bench-{}-{k}@example.com", u.id.to_lowercase())),
                        q(&t_now),
                        q(&t_now)
                    )
                })
                .collect();
            sql.push_str(&vals.join(",\n"));
            sql.push_str(";\n");
            sql.push_str("INSERT INTO \"session\" (\"id\",\"expiresAt\",\"token\",\"createdAt\",\"updatedAt\",\"ipAddress\",\"userAgent\",\"userId\") VALUES\n");
            let vals: Vec<String> = chunk
                .iter()
                .map(|u| {
                    format!(
                        "({},{},{},{},{},{ua},{ua},{})",
                        q(&u.sid),
                        q(&t_exp),
                        q(&u.token),
                        q(&t_now),
                        q(&t_now),
                        q(&u.id)
                    )
                })
                .collect();
            sql.push_str(&vals.join(",\n"));
            sql.push_str(";\n");
        }
        for r in &jwks {
            writeln!(
                sql,
                "INSERT INTO \"jwks\" (\"id\",\"publicKey\",\"privateKey\",\"createdAt\",\"expiresAt\",\"alg\",\"crv\") VALUES ({},{},{},{},NULL,{},{});",
                q(&r.id),
                q(&r.public_key),
                q(&r.private_key),
                q(&iso_ms(r.created_at)),
                r.alg.as_deref().map_or("NULL".into(), q),
                r.crv.as_deref().map_or("NULL".into(), q)
            )?;
        }
        sql.push_str("COMMIT;\n");
        let started = Instant::now();
        if is_pg {
            use sqlx::Connection;
            let mut c = sqlx::PgConnection::connect(&url).await?;
            sqlx::raw_sql(&sql).execute(&mut c).await?;
            sqlx::raw_sql("ANALYZE").execute(&mut c).await?;
        } else {
            use sqlx::Connection;
            let mut c = sqlx::SqliteConnection::connect(&url).await?;
            sqlx::raw_sql(&sql).execute(&mut c).await?;
            sqlx::raw_sql("ANALYZE").execute(&mut c).await?;
        }
        eprintln!(
            "seed: {users} users+sessions, {} jwks rows into {} in {:?}",
            jwks.len(),
            if is_pg { "PostgreSQL" } else { "SQLite" },
            started.elapsed()
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// gRPC

async fn channels(addr: &str, n: usize) -> Result<Vec<Channel>> {
    let mut out = Vec::new();
    for _ in 0..n.max(1) {
        // Each connect() is its own HTTP/2 connection.
        let ch = Endpoint::from_shared(addr.to_owned())?
            .tcp_nodelay(true)
            .connect()
            .await
            .with_context(|| format!("connect {addr}"))?;
        out.push(ch);
    }
    Ok(out)
}

fn with_key<T>(msg: T, api_key: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    if !api_key.is_empty() {
        if let Ok(v) = api_key.parse() {
            r.metadata_mut().insert("x-api-key", v);
        }
    }
    r
}

fn is_compact_jwt(t: &str) -> bool {
    t.split('.').count() == 3 && t.starts_with("ey")
}

async fn mint(
    addr: &str,
    api_key: &str,
    user_ids: &Path,
    out: &Path,
    lifetime: u32,
    expect_alg: Option<String>,
    limit: usize,
) -> Result<()> {
    let mut ids = read_lines(user_ids)?;
    if limit > 0 {
        ids.truncate(limit);
    }
    let ch = channels(addr, 1).await?.remove(0);
    let started = Instant::now();
    let mut tokens = vec![String::new(); ids.len()];
    let next = Arc::new(AtomicUsize::new(0));
    let ids = Arc::new(ids);
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (ch, next, ids, key) = (ch.clone(), next.clone(), ids.clone(), api_key.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut c = AuthServiceClient::new(ch);
            let mut got = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= ids.len() {
                    return Ok::<_, anyhow::Error>(got);
                }
                let r = c
                    .issue_token(with_key(
                        IssueTokenRequest {
                            subject: Some(Subject::UserId(ids[i].clone())),
                            audience: String::new(),
                            lifetime_seconds: Some(lifetime),
                        },
                        &key,
                    ))
                    .await
                    .with_context(|| format!("IssueToken(user_id {})", ids[i]))?;
                got.push((i, r.into_inner().token));
            }
        }));
    }
    for t in tasks {
        for (i, tok) in t.await?? {
            tokens[i] = tok;
        }
    }
    if let Some(alg) = expect_alg {
        let header = tokens[0].split('.').next().unwrap_or("");
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap_or_default();
        let header: Value = serde_json::from_slice(&header)?;
        if header["alg"] != alg.as_str() {
            bail!("minted tokens are {}, expected {alg}", header["alg"]);
        }
    }
    let mut text = tokens.join("\n");
    text.push('\n');
    fs::write(out, text)?;
    eprintln!(
        "mint: {} JWTs in {:?} -> {}",
        tokens.len(),
        started.elapsed(),
        out.display()
    );
    Ok(())
}

#[derive(Default)]
struct Tally {
    hist: Option<Histogram<u64>>,
    ok: u64,
    wrong: u64,
    errors: u64,
    first_problem: Option<String>,
}

impl Tally {
    fn new() -> Self {
        Self {
            hist: Some(Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds")),
            ..Default::default()
        }
    }
    fn record(&mut self, elapsed: Duration, outcome: Result<(), String>, is_error: bool) {
        if let Some(h) = self.hist.as_mut() {
            let _ = h.record((elapsed.as_micros() as u64).max(1));
        }
        match outcome {
            Ok(()) => self.ok += 1,
            Err(e) => {
                if is_error {
                    self.errors += 1
                } else {
                    self.wrong += 1
                }
                if self.first_problem.is_none() {
                    self.first_problem = Some(e);
                }
            }
        }
    }
    fn merge(&mut self, o: Tally) {
        if let (Some(a), Some(b)) = (self.hist.as_mut(), o.hist.as_ref()) {
            let _ = a.add(b);
        }
        self.ok += o.ok;
        self.wrong += o.wrong;
        self.errors += o.errors;
        if self.first_problem.is_none() {
            self.first_problem = o.first_problem;
        }
    }
}

/// Shared clock of a measurement: warm-up, then recording, then stop.
struct Phase {
    recording: AtomicBool,
    stop: AtomicBool,
    next: AtomicUsize,
}

/// Runs `concurrency` loops of `one(i)` (i = the credential index), returns the result JSON.
async fn measure<F, Fut>(w: &Window, n_creds: usize, cmdline: String, one: F) -> Result<()>
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = (Result<(), String>, bool)> + Send,
{
    let phase = Arc::new(Phase {
        recording: AtomicBool::new(false),
        stop: AtomicBool::new(false),
        next: AtomicUsize::new(0),
    });
    let one = Arc::new(one);
    let mut tasks = Vec::new();
    for worker in 0..w.concurrency {
        let (phase, one) = (phase.clone(), one.clone());
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::new();
            while !phase.stop.load(Ordering::Relaxed) {
                let i = phase.next.fetch_add(1, Ordering::Relaxed) % n_creds.max(1);
                let t0 = Instant::now();
                let (outcome, is_error) = one(worker, i).await;
                let dt = t0.elapsed();
                if phase.recording.load(Ordering::Relaxed) {
                    tally.record(dt, outcome, is_error);
                }
            }
            tally
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(w.warmup)).await;
    let rss_peak = Arc::new(AtomicU64::new(0));
    let watcher = w.watch_pid.map(|pid| {
        let (phase, peak) = (phase.clone(), rss_peak.clone());
        tokio::spawn(async move {
            while !phase.stop.load(Ordering::Relaxed) {
                if let Some(k) = vm_rss_kib(pid) {
                    peak.fetch_max(k, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    });
    phase.recording.store(true, Ordering::SeqCst);
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(w.duration)).await;
    phase.recording.store(false, Ordering::SeqCst);
    let window = t0.elapsed();
    phase.stop.store(true, Ordering::SeqCst);
    let mut total = Tally::new();
    for t in tasks {
        total.merge(t.await?);
    }
    if let Some(w) = watcher {
        let _ = w.await;
    }
    let h = total.hist.as_ref().expect("histogram");
    let n = total.ok + total.wrong + total.errors;
    let rps = n as f64 / window.as_secs_f64();
    let mut v = json!({
        "kind": "run",
        "scenario": w.scenario,
        "backend": w.backend,
        "role": w.role,
        "level": w.concurrency,
        "rps": (rps * 10.0).round() / 10.0,
        "ok_rps": ((total.ok as f64 / window.as_secs_f64()) * 10.0).round() / 10.0,
        "p50_us": h.value_at_quantile(0.50),
        "p99_us": h.value_at_quantile(0.99),
        "max_us": h.max(),
        "ok": total.ok,
        "wrong": total.wrong,
        "errors": total.errors,
        "window_s": (window.as_secs_f64() * 1000.0).round() / 1000.0,
        "distinct_credentials": n_creds,
        "cmd": cmdline,
    });
    if let Some(p) = &total.first_problem {
        v["first_problem"] = json!(p);
    }
    let peak = rss_peak.load(Ordering::Relaxed);
    if peak > 0 {
        v["rss_peak_kib"] = json!(peak);
    }
    emit(&w.results, v)?;
    if w.strict && (total.ok == 0 || total.wrong > 0 || total.errors > 0) {
        bail!(
            "{} @{}: ok={} wrong={} errors={} first problem: {:?}",
            w.scenario,
            w.concurrency,
            total.ok,
            total.wrong,
            total.errors,
            total.first_problem
        );
    }
    Ok(())
}

fn cmdline() -> String {
    let mut after_key = false;
    std::env::args()
        .filter(|a| a != "--bench")
        .skip(1)
        .map(|a| {
            if std::mem::replace(&mut after_key, a == "--api-key") {
                "\"$API_KEY\"".to_owned()
            } else if a.contains(' ') {
                format!("'{a}'")
            } else {
                a
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

async fn grpc(
    addr: &str,
    rpc: Rpc,
    creds: Option<PathBuf>,
    api_key: &str,
    connections: usize,
    w: Window,
) -> Result<()> {
    let creds = Arc::new(match &creds {
        Some(p) => read_lines(p)?,
        None if rpc == Rpc::Health => vec![String::new()],
        None => bail!("--creds is required for {rpc:?}"),
    });
    let chans = Arc::new(channels(addr, connections).await?);
    let key: Arc<str> = api_key.into();
    let n = creds.len();
    measure(&w, n, format!("load {}", cmdline()), move |worker, i| {
        let ch = chans[worker % chans.len()].clone();
        let cred = creds[i].clone();
        let key = key.clone();
        async move { grpc_one(rpc, ch, cred, &key).await }
    })
    .await
}

/// One call and the check of its answer: (outcome, was it a transport/status error).
async fn grpc_one(rpc: Rpc, ch: Channel, cred: String, key: &str) -> (Result<(), String>, bool) {
    let status = |s: tonic::Status| (Err(format!("{:?}: {}", s.code(), s.message())), true);
    match rpc {
        Rpc::Health => {
            match HealthClient::new(ch)
                .check(HealthCheckRequest {
                    service: String::new(),
                })
                .await
            {
                Ok(r) if r.get_ref().status == ServingStatus::Serving as i32 => (Ok(()), false),
                Ok(r) => (Err(format!("health status {}", r.get_ref().status)), false),
                Err(s) => status(s),
            }
        }
        Rpc::ValidateJwt | Rpc::ValidateSession => {
            let want = if rpc == Rpc::ValidateJwt {
                CredentialKind::Jwt
            } else {
                CredentialKind::Unspecified // any session form
            };
            match AuthServiceClient::new(ch)
                .validate_token(ValidateTokenRequest {
                    token: cred,
                    audience: String::new(),
                })
                .await
            {
                Ok(r) => {
                    let r = r.into_inner();
                    let kind_ok = match want {
                        CredentialKind::Jwt => r.kind == CredentialKind::Jwt as i32,
                        _ => r.kind != CredentialKind::Jwt as i32 && r.session.is_some(),
                    };
                    if r.valid && kind_ok && r.user.as_ref().is_some_and(|u| !u.id.is_empty())
                        || (r.valid && kind_ok && want == CredentialKind::Jwt && r.claims.is_some())
                    {
                        (Ok(()), false)
                    } else {
                        (
                            Err(format!(
                                "valid={} reason={} kind={} message={}",
                                r.valid, r.reason, r.kind, r.message
                            )),
                            false,
                        )
                    }
                }
                Err(s) => status(s),
            }
        }
        Rpc::GetSession => match AuthServiceClient::new(ch)
            .get_session(GetSessionRequest {
                token: cred,
                disable_refresh: false,
            })
            .await
        {
            Ok(r) => {
                let r = r.into_inner();
                if r.session.is_some() && r.user.is_some() {
                    (Ok(()), false)
                } else {
                    (Err("no session/user in the answer".into()), false)
                }
            }
            Err(s) => status(s),
        },
        Rpc::IssueSession | Rpc::IssueUser => {
            let subject = if rpc == Rpc::IssueSession {
                Subject::SessionToken(cred)
            } else {
                Subject::UserId(cred)
            };
            match AuthServiceClient::new(ch)
                .issue_token(with_key(
                    IssueTokenRequest {
                        subject: Some(subject),
                        audience: String::new(),
                        lifetime_seconds: None,
                    },
                    key,
                ))
                .await
            {
                Ok(r) if is_compact_jwt(&r.get_ref().token) => (Ok(()), false),
                Ok(_) => (Err("not a compact JWT".into()), false),
                Err(s) => status(s),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP/1.1 (Better Auth)

async fn http(url: &str, mode: HttpMode, creds: &Path, cookie_name: &str, w: Window) -> Result<()> {
    let creds = Arc::new(read_lines(creds)?);
    let client = reqwest::Client::builder()
        .http1_only()
        .pool_max_idle_per_host(w.concurrency + 4)
        .tcp_nodelay(true)
        .build()?;
    let base = url.trim_end_matches('/').to_owned();
    let target: Arc<str> = match mode {
        HttpMode::Token => format!("{base}/token"),
        _ => format!("{base}/get-session"),
    }
    .into();
    let cookie_name: Arc<str> = cookie_name.into();
    let n = creds.len();
    measure(&w, n, format!("load {}", cmdline()), move |_, i| {
        let (client, target, cookie_name) = (client.clone(), target.clone(), cookie_name.clone());
        let cred = creds[i].clone();
        async move {
            let req = client.get(&*target);
            let req = match mode {
                // The signed value as Better Auth sets it (URL-encoded).
                HttpMode::GetSessionCookie | HttpMode::Token => {
                    req.header("cookie", format!("{cookie_name}={cred}"))
                }
                // The bearer plugin's set-auth-token value: token.sig, decoded.
                HttpMode::GetSessionBearer => {
                    let raw = cred
                        .replace("%2B", "+")
                        .replace("%2F", "/")
                        .replace("%3D", "=");
                    req.header("authorization", format!("Bearer {raw}"))
                }
            };
            match req.send().await {
                Ok(resp) => {
                    let code = resp.status();
                    match resp.bytes().await {
                        Ok(body) => {
                            let want: &[u8] = match mode {
                                HttpMode::Token => b"\"token\":\"ey",
                                _ => b"\"session\":{",
                            };
                            if code.is_success() && body.windows(want.len()).any(|w| w == want) {
                                (Ok(()), false)
                            } else {
                                let text = String::from_utf8_lossy(&body);
                                (
                                    Err(format!(
                                        "HTTP {code}: {}",
                                        text.get(..200).unwrap_or(&text)
                                    )),
                                    false,
                                )
                            }
                        }
                        Err(e) => (Err(e.to_string()), true),
                    }
                }
                Err(e) => (Err(e.to_string()), true),
            }
        }
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// pgbench

/// The service's lookup (src/store/postgres.rs `find_session`: session LEFT JOIN user by
/// token, every core column) for token `i`, recomputed in SQL like `session_token`.
const PGBENCH_SCRIPT: &str = r#"\set i random(1, :users)
SELECT s."id", s."expiresAt", s."token", s."createdAt", s."updatedAt", s."ipAddress", s."userAgent", s."userId", u."id", u."name", u."email", u."emailVerified", u."image", u."createdAt", u."updatedAt" FROM "session" s LEFT JOIN "user" u ON u."id" = s."userId" WHERE s."token" = CAST(left(encode(sha256(convert_to('bench-session-' || :i::text, 'UTF8')), 'hex'), 32) AS text);
"#;

async fn pgbench_run(url: &str, users: usize, pgbench: &str, w: Window) -> Result<()> {
    let dir = tempdir_for("pgbench")?;
    let script = dir.join("lookup.sql");
    fs::write(&script, PGBENCH_SCRIPT)?;
    let jobs = w.concurrency.min(2).to_string();
    let clients = w.concurrency.to_string();
    let users_var = format!("users={users}");
    let run = |secs: f64, log: bool| -> Result<String> {
        let mut c = Command::new(pgbench);
        c.args(["-n", "-M", "prepared", "-c", &clients, "-j", &jobs])
            .args(["-D", &users_var])
            .arg("-T")
            .arg(format!("{}", secs.ceil().max(1.0) as u64))
            .arg("-f")
            .arg(&script);
        if log {
            c.arg("-l")
                .arg(format!("--log-prefix={}", dir.join("tx").display()));
        }
        c.arg(url).current_dir(&dir);
        let out = c.output().with_context(|| format!("run {pgbench}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            bail!(
                "pgbench failed: {}\n{stdout}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(stdout)
    };
    if w.warmup > 0.0 {
        run(w.warmup, false)?;
    }
    let stdout = run(w.duration, true)?;
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut n = 0u64;
    for entry in fs::read_dir(&dir)? {
        let p = entry?.path();
        if !p
            .file_name()
            .and_then(|f| f.to_str())
            .is_some_and(|f| f.starts_with("tx"))
        {
            continue;
        }
        for line in fs::read_to_string(&p)?.lines() {
            // client_id transaction_no time script_no time_epoch time_us
            if let Some(us) = line
                .split_whitespace()
                .nth(2)
                .and_then(|s| s.parse::<u64>().ok())
            {
                hist.record(us.max(1))?;
                n += 1;
            }
        }
    }
    let tps = stdout
        .lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|s| s.parse::<f64>().ok())
        .ok_or_else(|| anyhow!("no tps in pgbench output:\n{stdout}"))?;
    let failed = stdout
        .lines()
        .find(|l| l.starts_with("number of failed transactions"))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0);
    let v = json!({
        "kind": "run",
        "scenario": w.scenario,
        "backend": w.backend,
        "role": w.role,
        "level": w.concurrency,
        "rps": (tps * 10.0).round() / 10.0,
        "ok_rps": (tps * 10.0).round() / 10.0,
        "p50_us": hist.value_at_quantile(0.50),
        "p99_us": hist.value_at_quantile(0.99),
        "max_us": hist.max(),
        "ok": n,
        "wrong": 0,
        "errors": failed,
        "window_s": w.duration,
        "distinct_credentials": users,
        "cmd": format!("pgbench -n -M prepared -c {clients} -j {jobs} -D {users_var} -T {} -f lookup.sql (benches/load.rs PGBENCH_SCRIPT) -l {url}", w.duration.ceil()),
    });
    emit(&w.results, v)?;
    let _ = fs::remove_dir_all(&dir);
    if w.strict && (n == 0 || failed > 0) {
        bail!("pgbench: {n} transactions, {failed} failed");
    }
    Ok(())
}

fn tempdir_for(what: &str) -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "bag-bench-{what}-{}-{}",
        std::process::id(),
        Utc::now().timestamp_micros()
    ));
    fs::create_dir_all(&dir)?;
    Ok(dir)
}

// ---------------------------------------------------------------------------------------------
// Start-up

async fn serving(url: &str) -> bool {
    let Ok(ep) = Endpoint::from_shared(url.to_owned()) else {
        return false;
    };
    let Ok(ch) = ep.connect().await else {
        return false;
    };
    matches!(
        HealthClient::new(ch)
            .check(HealthCheckRequest { service: String::new() })
            .await,
        Ok(r) if r.get_ref().status == ServingStatus::Serving as i32
    )
}

async fn startup(
    bin: &Path,
    addr: &str,
    runs: usize,
    backend: &str,
    results: Option<PathBuf>,
    args: &[String],
) -> Result<()> {
    let url = format!("http://{addr}");
    let mut times = Vec::new();
    let mut rss = Vec::new();
    for _ in 0..runs.max(1) {
        let t0 = Instant::now();
        let mut child = Command::new(bin)
            .args(args)
            .env("LISTEN_ADDR", addr)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("spawn {}", bin.display()))?;
        let pid = child.id();
        let serving = loop {
            if t0.elapsed() > Duration::from_secs(20) {
                break None;
            }
            if let Ok(Some(st)) = child.try_wait() {
                bail!("{} exited during start-up: {st}", bin.display());
            }
            if let Ok(ch) = Endpoint::from_shared(url.clone())?.connect().await {
                if let Ok(r) = HealthClient::new(ch)
                    .check(HealthCheckRequest {
                        service: String::new(),
                    })
                    .await
                {
                    if r.get_ref().status == ServingStatus::Serving as i32 {
                        break Some(t0.elapsed());
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        let Some(serving) = serving else {
            let _ = child.kill();
            bail!("not SERVING within 20 s");
        };
        times.push(serving.as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_secs(1)).await;
        if let Some(k) = vm_rss_kib(pid) {
            rss.push(k);
        }
        let _ = Command::new("kill").arg(pid.to_string()).status();
        let _ = child.wait();
    }
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    emit(
        &results,
        json!({
            "kind": "startup",
            "backend": backend,
            "median_ms": (median * 10.0).round() / 10.0,
            "runs_ms": times.iter().map(|t| (t * 10.0).round() / 10.0).collect::<Vec<_>>(),
            "idle_rss_kib": rss,
            "cmd": format!("load {}", cmdline()),
        }),
    )
}

// ---------------------------------------------------------------------------------------------
// Report

type Key = (String, String); // (scenario, backend)

struct Row {
    role: String,
    by_level: BTreeMap<u64, Value>,
}

fn report(results: &Path, out: Option<PathBuf>) -> Result<()> {
    let text = fs::read_to_string(results)?;
    let mut notes: Vec<(String, String)> = Vec::new();
    let mut rows: Vec<(Key, Row)> = Vec::new();
    let mut rss: Vec<(String, u64)> = Vec::new();
    let mut startups: Vec<Value> = Vec::new();
    // Memory runs far above the latency levels: reported apart, not as table columns.
    let mut stress: Vec<Value> = Vec::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        match v["kind"].as_str() {
            Some("note") => notes.push((
                v["key"].as_str().unwrap_or("").into(),
                v["value"].as_str().unwrap_or("").into(),
            )),
            Some("rss") => rss.push((
                v["label"].as_str().unwrap_or("").into(),
                v["rss_kib"].as_u64().unwrap_or(0),
            )),
            Some("startup") => startups.push(v),
            Some("run") if v["role"] == "stress" => stress.push(v),
            Some("run") => {
                let key = (
                    v["scenario"].as_str().unwrap_or("").to_owned(),
                    v["backend"].as_str().unwrap_or("").to_owned(),
                );
                let level = v["level"].as_u64().unwrap_or(0);
                let role = v["role"].as_str().unwrap_or("").to_owned();
                match rows.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, r)) => {
                        r.by_level.insert(level, v);
                    }
                    None => rows.push((
                        key,
                        Row {
                            role,
                            by_level: BTreeMap::from([(level, v)]),
                        },
                    )),
                }
            }
            _ => {}
        }
    }
    let levels: Vec<u64> = {
        let mut l: Vec<u64> = rows
            .iter()
            .flat_map(|(_, r)| r.by_level.keys().copied())
            .collect();
        l.sort_unstable();
        l.dedup();
        l
    };
    let get = |scenario: &str, backend: &str, level: u64| -> Option<&Value> {
        rows.iter()
            .find(|((s, b), _)| s == scenario && b == backend)
            .and_then(|(_, r)| r.by_level.get(&level))
    };
    let rps = |scenario: &str, backend: &str, level: u64| -> Option<f64> {
        get(scenario, backend, level).and_then(|v| v["rps"].as_f64())
    };
    let ms = |us: &Value| format!("{:.2}", us.as_f64().unwrap_or(0.0) / 1000.0);

    let mut md = String::new();
    let note = |k: &str| {
        notes
            .iter()
            .rev()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("?")
    };
    writeln!(md, "## Results ({})\n", note("mode"))?;
    writeln!(md, "* Run: {} — {}", note("started"), note("finished"))?;
    writeln!(md, "* Machine: {}", note("machine"))?;
    writeln!(
        md,
        "* Load average before / after: {} / {}",
        note("load_before"),
        note("load_after")
    )?;
    writeln!(md, "* Versions: {}", note("versions"))?;
    writeln!(md, "* Window: {}", note("window"))?;
    writeln!(md, "* Command: `{}`\n", note("command"))?;

    // One table per scenario group, levels as columns.
    writeln!(md, "### Throughput and latency (req/s · p50 ms · p99 ms)\n")?;
    let mut head = String::from("| scenario | backend | role |");
    let mut sep = String::from("|---|---|---|");
    for l in &levels {
        write!(head, " {l} in flight |")?;
        sep.push_str("---|");
    }
    writeln!(md, "{head} errors/wrong |\n{sep}---|")?;
    for ((scenario, backend), r) in &rows {
        let mut line = format!("| {scenario} | {backend} | {} |", r.role);
        let mut bad = 0;
        for l in &levels {
            match r.by_level.get(l) {
                Some(v) => {
                    bad += v["errors"].as_u64().unwrap_or(0) + v["wrong"].as_u64().unwrap_or(0);
                    write!(
                        line,
                        " {:.0} · {} · {} |",
                        v["rps"].as_f64().unwrap_or(0.0),
                        ms(&v["p50_us"]),
                        ms(&v["p99_us"])
                    )?
                }
                None => line.push_str(" — |"),
            }
        }
        writeln!(md, "{line} {bad} |")?;
    }

    // Ratios.
    let ratio_row = |md: &mut String,
                     label: &str,
                     a: (&str, &str),
                     b: (&str, &str)|
     -> Result<Vec<Option<f64>>> {
        let mut line = format!("| {label} |");
        let mut out = Vec::new();
        for &l in &levels {
            let r = match (rps(a.0, a.1, l), rps(b.0, b.1, l)) {
                (Some(x), Some(y)) if y > 0.0 => Some(x / y),
                _ => None,
            };
            match r {
                Some(r) => write!(line, " {r:.2} |")?,
                None => line.push_str(" — |"),
            }
            out.push(r);
        }
        writeln!(md, "{line}")?;
        Ok(out)
    };
    writeln!(
        md,
        "\n### Ratios (req/s ÷ req/s at the same in-flight level)\n"
    )?;
    let mut head = String::from("| ratio |");
    let mut sep = String::from("|---|");
    for l in &levels {
        write!(head, " {l} |")?;
        sep.push_str("---|");
    }
    writeln!(md, "{head}\n{sep}")?;
    const HEALTH: (&str, &str) = ("Health/Check (transport ceiling)", "pg");
    const PGB: (&str, &str) = ("pgbench session⋈user lookup (DB ceiling)", "pg");
    const BA_GS: (&str, &str) = ("Better Auth get-session (cookie)", "pg");
    const BA_GSB: (&str, &str) = ("Better Auth get-session (bearer)", "pg");
    const BA_TOK: (&str, &str) = ("Better Auth /token (cookie)", "pg");
    const JWT_E: (&str, &str) = ("ValidateToken JWT EdDSA", "pg");
    const SESS: (&str, &str) = ("ValidateToken session token", "pg");
    const GS: (&str, &str) = ("GetSession", "pg");
    const ISS: (&str, &str) = ("IssueToken EdDSA (session_token)", "pg");
    const JWT_CACHED: (&str, &str) = (
        "ValidateToken JWT EdDSA, 1 000 repeated (verified cache)",
        "pg",
    );
    const SESS_CACHED: (&str, &str) = (
        "ValidateToken session token, 1 000 repeated (session cache 5 s)",
        "pg",
    );
    let r_jwt_health = ratio_row(
        &mut md,
        "ValidateToken JWT EdDSA ÷ Health/Check",
        JWT_E,
        HEALTH,
    )?;
    ratio_row(
        &mut md,
        "ValidateToken JWT ES256 ÷ Health/Check",
        ("ValidateToken JWT ES256", "pg"),
        HEALTH,
    )?;
    ratio_row(
        &mut md,
        "ValidateToken JWT RS256 ÷ Health/Check",
        ("ValidateToken JWT RS256", "pg"),
        HEALTH,
    )?;
    let r_sess_pgb = ratio_row(&mut md, "ValidateToken session ÷ pgbench", SESS, PGB)?;
    ratio_row(
        &mut md,
        "ValidateToken cookie ÷ pgbench",
        ("ValidateToken signed cookie", "pg"),
        PGB,
    )?;
    ratio_row(&mut md, "GetSession ÷ pgbench", GS, PGB)?;
    ratio_row(&mut md, "pgbench ÷ Health/Check", PGB, HEALTH)?;
    let r_sess_ba = ratio_row(
        &mut md,
        "ValidateToken session ÷ BA get-session (cookie)",
        SESS,
        BA_GS,
    )?;
    ratio_row(
        &mut md,
        "ValidateToken session ÷ BA get-session (bearer)",
        SESS,
        BA_GSB,
    )?;
    let r_gs_ba = ratio_row(&mut md, "GetSession ÷ BA get-session (cookie)", GS, BA_GS)?;
    let r_iss_ba = ratio_row(
        &mut md,
        "IssueToken EdDSA (session_token) ÷ BA /token",
        ISS,
        BA_TOK,
    )?;
    ratio_row(
        &mut md,
        "IssueToken EdDSA (user_id) ÷ BA /token",
        ("IssueToken EdDSA (user_id)", "pg"),
        BA_TOK,
    )?;
    let r_jwt_cached = ratio_row(
        &mut md,
        "ValidateToken JWT EdDSA repeated (verified cache) ÷ Health/Check",
        JWT_CACHED,
        HEALTH,
    )?;
    let r_sess_cached = ratio_row(
        &mut md,
        "ValidateToken session repeated (session cache) ÷ Health/Check",
        SESS_CACHED,
        HEALTH,
    )?;
    ratio_row(
        &mut md,
        "ValidateToken session: SQLite ÷ PostgreSQL",
        ("ValidateToken session token", "sqlite"),
        SESS,
    )?;

    // Memory and start-up.
    writeln!(md, "\n### Memory and start-up\n")?;
    writeln!(md, "| what | value |\n|---|---|")?;
    for (label, kib) in &rss {
        writeln!(md, "| {label} | {:.1} MiB |", *kib as f64 / 1024.0)?;
    }
    for ((scenario, backend), r) in &rows {
        for (l, v) in &r.by_level {
            if let Some(k) = v["rss_peak_kib"].as_u64() {
                if *l == *levels.last().unwrap_or(&0) {
                    writeln!(
                        md,
                        "| peak VmRSS during {scenario} ({backend}) @{l} | {:.1} MiB |",
                        k as f64 / 1024.0
                    )?;
                }
            }
        }
    }
    for v in &stress {
        writeln!(
            md,
            "| peak VmRSS during {} ({}) @{}: {} answered, {} errors | {} |",
            v["scenario"].as_str().unwrap_or(""),
            v["backend"].as_str().unwrap_or(""),
            v["level"],
            v["ok"],
            v["errors"].as_u64().unwrap_or(0) + v["wrong"].as_u64().unwrap_or(0),
            v["rss_peak_kib"]
                .as_u64()
                .map_or("—".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
        )?;
    }
    for s in &startups {
        writeln!(
            md,
            "| start to SERVING ({}), median of {} ms | {} ms |",
            s["backend"].as_str().unwrap_or(""),
            s["runs_ms"],
            s["median_ms"]
        )?;
        if let Some(k) = s["idle_rss_kib"]
            .as_array()
            .and_then(|a| a.first())
            .and_then(Value::as_u64)
        {
            writeln!(
                md,
                "| idle VmRSS 1 s after SERVING ({}) | {:.1} MiB |",
                s["backend"].as_str().unwrap_or(""),
                k as f64 / 1024.0
            )?;
        }
    }

    // Targets, judged at the highest in-flight level measured.
    let top = levels.len().saturating_sub(1);
    let top_level = levels.last().copied().unwrap_or(0);
    let verdict = |ok: Option<bool>| match ok {
        Some(true) => "**holds**",
        Some(false) => "**missed**",
        None => "not measured",
    };
    let at = |v: &[Option<f64>]| v.get(top).copied().flatten();
    // A ratio target: judged at the top level, and said whether it also holds below it.
    let ratio_verdict = |v: &[Option<f64>], min: f64| -> String {
        match at(v) {
            None => "not measured".into(),
            Some(r) if r < min => "**missed**".into(),
            Some(_) => {
                let below: Vec<String> = v
                    .iter()
                    .zip(&levels)
                    .filter(|(r, _)| r.is_some_and(|r| r < min))
                    .map(|(_, l)| l.to_string())
                    .collect();
                if below.is_empty() {
                    "**holds** (every level)".into()
                } else {
                    format!(
                        "**holds at {top_level} only** (missed at {})",
                        below.join(", ")
                    )
                }
            }
        }
    };
    let all = |v: &[Option<f64>], min: f64| -> String {
        v.iter()
            .zip(&levels)
            .map(|(r, l)| format!("{l}: {}", r.map_or("—".into(), |r| format!("{r:.2}"))))
            .collect::<Vec<_>>()
            .join(", ")
            + &format!(" (need ≥ {min})")
    };
    writeln!(
        md,
        "\n### Targets (judged at {top_level} in flight; every level shown)\n"
    )?;
    writeln!(md, "| target | measured | verdict |\n|---|---|---|")?;
    let jwt_p99 = get(JWT_E.0, JWT_E.1, top_level).and_then(|v| v["p99_us"].as_f64());
    writeln!(
        md,
        "| ValidateToken(JWT EdDSA, distinct) ≥ 35 % of Health/Check | {} | {} |",
        all(&r_jwt_health, 0.35),
        ratio_verdict(&r_jwt_health, 0.35)
    )?;
    writeln!(
        md,
        "| ValidateToken(JWT EdDSA) p99 < 2 ms at 64 | {} | {} |",
        jwt_p99.map_or("—".into(), |p| format!("{:.2} ms", p / 1000.0)),
        verdict(jwt_p99.map(|p| p < 2000.0))
    )?;
    writeln!(
        md,
        "| ValidateToken(JWT EdDSA, repeated, verified cache) ≥ 70 % of Health/Check | {} | {} |",
        all(&r_jwt_cached, 0.7),
        ratio_verdict(&r_jwt_cached, 0.7)
    )?;
    writeln!(
        md,
        "| ValidateToken(session, distinct) ≥ 50 % of pgbench | {} | {} |",
        all(&r_sess_pgb, 0.5),
        ratio_verdict(&r_sess_pgb, 0.5)
    )?;
    writeln!(
        md,
        "| ValidateToken(session) ≥ 30× Better Auth get-session | {} | {} |",
        all(&r_sess_ba, 30.0),
        ratio_verdict(&r_sess_ba, 30.0)
    )?;
    writeln!(
        md,
        "| ValidateToken(session, repeated, session cache) ≥ 60 % of Health/Check | {} | {} |",
        all(&r_sess_cached, 0.6),
        ratio_verdict(&r_sess_cached, 0.6)
    )?;
    writeln!(
        md,
        "| GetSession ≥ 20× get-session | {} | {} |",
        all(&r_gs_ba, 20.0),
        ratio_verdict(&r_gs_ba, 20.0)
    )?;
    writeln!(
        md,
        "| IssueToken(EdDSA) ≥ 20× /token | {} | {} |",
        all(&r_iss_ba, 20.0),
        ratio_verdict(&r_iss_ba, 20.0)
    )?;
    let idle = startups
        .iter()
        .filter(|s| s["backend"] == "sqlite")
        .filter_map(|s| s["idle_rss_kib"].as_array()?.first()?.as_u64())
        .next()
        .or_else(|| {
            rss.iter()
                .find(|(l, _)| l.contains("idle"))
                .map(|(_, k)| *k)
        });
    writeln!(
        md,
        "| RSS < 20 MiB idle | {} | {} |",
        idle.map_or("—".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
        verdict(idle.map(|k| k < 20 * 1024))
    )?;
    let stress_peak = stress
        .iter()
        .filter(|v| v["level"].as_u64().is_some_and(|l| l >= 10_000))
        .filter_map(|v| v["rss_peak_kib"].as_u64())
        .max();
    writeln!(
        md,
        "| RSS < 100 MiB with 10 000 requests in flight | {} | {} |",
        stress_peak.map_or("—".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
        verdict(stress_peak.map(|k| k < 100 * 1024))
    )?;
    let start = startups
        .iter()
        .find(|s| s["backend"] == "sqlite")
        .and_then(|s| s["median_ms"].as_f64());
    writeln!(
        md,
        "| start to SERVING < 200 ms on SQLite | {} | {} |",
        start.map_or("—".into(), |m| format!("{m} ms")),
        verdict(start.map(|m| m < 200.0))
    )?;

    writeln!(md, "\n### Exact commands of every row\n")?;
    writeln!(md, "```")?;
    for ((scenario, backend), r) in &rows {
        if let Some((_, v)) = r.by_level.iter().next() {
            writeln!(md, "# {scenario} ({backend}); likewise for every level")?;
            writeln!(md, "{}", v["cmd"].as_str().unwrap_or(""))?;
        }
    }
    for v in &stress {
        writeln!(md, "# {} (memory)", v["scenario"].as_str().unwrap_or(""))?;
        writeln!(md, "{}", v["cmd"].as_str().unwrap_or(""))?;
    }
    for s in &startups {
        writeln!(
            md,
            "# start-up ({})\n{}",
            s["backend"].as_str().unwrap_or(""),
            s["cmd"].as_str().unwrap_or("")
        )?;
    }
    writeln!(md, "```")?;

    print!("{md}");
    if let Some(out) = out {
        fs::write(&out, &md)?;
    }
    Ok(())
}
