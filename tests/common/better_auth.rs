//! Drives REAL Better Auth (npm `better-auth`, pinned in `tests/betterauth/package.json`) from Rust
//! integration tests.
//!
//! [`BetterAuth::start`] spawns `node tests/betterauth/server.mjs` with the configuration of a
//! [`BetterAuthOptions`] (passed as environment variables, see the header of `server.mjs`), waits for
//! its `{"ready":true,"port":N}` line and then talks HTTP to it on `127.0.0.1:N`:
//! sign-up / sign-in / get-session / sign-out / token / jwks, plus the harness' `/test/*` routes
//! that verify JWTs with Better Auth's own `verifyJWT` and with `jose` against the JWKS.
//!
//! Cookies are handled explicitly (no cookie store): every call takes the `Cookie` header value to
//! send, and responses hand back the `Set-Cookie` headers.
//!
//! The node process is killed when the [`BetterAuth`] value is dropped; it also exits on its own
//! when the test process dies (it watches its stdin pipe, `BA_EXIT_WITH_STDIN=1`).
//!
//! Requires `node` and `npm` on `PATH` (override node with the `BETTER_AUTH_NODE` env var); the
//! first start installs the pinned packages by itself (see `better_auth_install.rs`).
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, ORIGIN};
use serde_json::Value;

use super::better_auth_install::{ensure_installed, NEED_NODE};

/// Secret used by [`BetterAuthOptions::new`] (≥ 32 chars so Better Auth does not warn).
pub const DEFAULT_SECRET: &str = "better-auth-grpc-test-secret-0123456789abcdef";
/// Base URL used by [`BetterAuthOptions::new`]; it only decides JWT `iss`/`aud`, the trusted origin
/// and cookie naming — the server really listens on its own free port.
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:3000";
/// How long [`BetterAuth::start`] / [`BetterAuth::migrate_only`] wait for node.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

const STDERR_TAIL_LINES: usize = 200;

/// Environment variables of the parent that would silently change Better Auth's configuration;
/// they are removed from the child's environment (set what you need through the options).
const SCRUBBED_ENV: &[&str] = &[
    "BETTER_AUTH_SECRET",
    "BETTER_AUTH_SECRETS",
    "AUTH_SECRET",
    "BETTER_AUTH_URL",
    "NEXT_PUBLIC_BETTER_AUTH_URL",
    "PUBLIC_BETTER_AUTH_URL",
    "NUXT_PUBLIC_BETTER_AUTH_URL",
    "NUXT_PUBLIC_AUTH_URL",
    "BASE_URL",
    "NODE_ENV",
];

/// Configuration of one Better Auth server process (becomes `server.mjs`'s environment).
#[derive(Debug, Clone)]
pub struct BetterAuthOptions {
    /// `BA_DATABASE`: `postgres://…` (pg Pool) or a SQLite file path (better-sqlite3).
    pub database: String,
    /// `BETTER_AUTH_SECRET`; not set when empty (e.g. when `BETTER_AUTH_SECRETS` is given in `extra_env`).
    pub secret: String,
    /// `BETTER_AUTH_URL` (also `baseURL` and the only trusted origin); not set when empty.
    /// Only decides JWT `iss`/`aud`, cookie naming (`https://` → `__Secure-`) and the `Origin`
    /// header sent on POSTs; a path in it becomes Better Auth's route prefix instead of `/api/auth`.
    pub base_url: String,
    /// `BA_PLUGINS`: any of `jwt`, `bearer`, `admin`, `organization`.
    pub plugins: Vec<&'static str>,
    /// `BA_JWT_ALG`: `EdDSA` (Better Auth's default when `None`), `ES256`, `ES512`, `RS256`, `PS256`.
    pub jwt_alg: Option<String>,
    /// `BA_EXPIRES_IN`: `session.expiresIn` in seconds (`None` = Better Auth's 7 days).
    pub expires_in: Option<u64>,
    /// `BA_UPDATE_AGE`: `session.updateAge` in seconds (`None` = Better Auth's 1 day).
    pub update_age: Option<u64>,
    /// `BA_MIGRATE`: create/upgrade the schema with Better Auth's `getMigrations()` before serving.
    pub migrate: bool,
    /// Anything else, set last (so it can override the above): `BA_JWT_ROTATION`, `BA_JWT_GRACE`,
    /// `BA_JWT_DISABLE_ENCRYPTION`, `BETTER_AUTH_SECRETS`, `NODE_ENV`, `BA_LOG_LEVEL`, `BA_PORT`, …
    pub extra_env: Vec<(String, String)>,
}

impl BetterAuthOptions {
    /// Defaults: [`DEFAULT_SECRET`], [`DEFAULT_BASE_URL`], plugins `jwt` + `bearer`, EdDSA,
    /// Better Auth's session lifetimes, `migrate: true` (a no-op on an up-to-date schema).
    pub fn new(database: impl Into<String>) -> Self {
        Self {
            database: database.into(),
            secret: DEFAULT_SECRET.to_owned(),
            base_url: DEFAULT_BASE_URL.to_owned(),
            plugins: vec!["jwt", "bearer"],
            jwt_alg: None,
            expires_in: None,
            update_age: None,
            migrate: true,
            extra_env: Vec::new(),
        }
    }

    /// [`BetterAuthOptions::new`] for a SQLite file (created by Better Auth if missing).
    pub fn sqlite(path: impl AsRef<Path>) -> Self {
        Self::new(path.as_ref().to_str().expect("SQLite path must be UTF-8"))
    }

    /// Adds one `extra_env` entry (builder style).
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra_env.push((key.into(), value.into()));
        self
    }

    /// The `Origin` header value matching `base_url` (`None` when `base_url` is empty).
    pub fn origin(&self) -> Option<String> {
        if self.base_url.is_empty() {
            return None;
        }
        let url = reqwest::Url::parse(&self.base_url)
            .unwrap_or_else(|e| panic!("base_url {:?} is not a URL: {e}", self.base_url));
        Some(url.origin().ascii_serialization())
    }

    /// Better Auth's route prefix: the path of `base_url`, or `/api/auth` when it has none.
    pub fn auth_path(&self) -> String {
        let path = reqwest::Url::parse(&self.base_url)
            .map(|u| u.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        if path.is_empty() {
            "/api/auth".to_owned()
        } else {
            path
        }
    }

    fn command(&self) -> Command {
        let dir = harness_dir();
        let node = std::env::var("BETTER_AUTH_NODE").unwrap_or_else(|_| "node".to_owned());
        let mut cmd = Command::new(node);
        cmd.arg(dir.join("server.mjs")).current_dir(&dir);
        for key in SCRUBBED_ENV {
            cmd.env_remove(key);
        }
        for (key, _) in std::env::vars_os() {
            if key.to_str().is_some_and(|k| k.starts_with("BA_")) {
                cmd.env_remove(key);
            }
        }
        cmd.env("BA_DATABASE", &self.database)
            .env("BA_PLUGINS", self.plugins.join(","))
            .env("BA_EXIT_WITH_STDIN", "1");
        if !self.secret.is_empty() {
            cmd.env("BETTER_AUTH_SECRET", &self.secret);
        }
        if !self.base_url.is_empty() {
            cmd.env("BETTER_AUTH_URL", &self.base_url);
        }
        if let Some(alg) = &self.jwt_alg {
            cmd.env("BA_JWT_ALG", alg);
        }
        if let Some(s) = self.expires_in {
            cmd.env("BA_EXPIRES_IN", s.to_string());
        }
        if let Some(s) = self.update_age {
            cmd.env("BA_UPDATE_AGE", s.to_string());
        }
        if self.migrate {
            cmd.env("BA_MIGRATE", "1");
        }
        for (key, value) in &self.extra_env {
            cmd.env(key, value);
        }
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }
}

/// `tests/betterauth` of this crate.
pub fn harness_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("betterauth")
}

/// Result of a successful sign-up or sign-in.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// `body.token`: the raw session token, as stored in `session.token`.
    pub token: String,
    /// Value part of the session cookie's `Set-Cookie`, URL-encoded exactly as sent
    /// (`<token>.<sig with %2B %2F %3D>`).
    pub cookie_value: String,
    /// `<cookie name>=<cookie_value>`, ready to be used as a `Cookie` header.
    pub cookie_header: String,
    /// The bearer plugin's `set-auth-token` header (`<token>.<sig>`, not URL-encoded), if present.
    pub set_auth_token: Option<String>,
    /// `body.user.id`.
    pub user_id: String,
    /// The whole JSON body.
    pub body: Value,
    /// All `Set-Cookie` headers of the response.
    pub set_cookies: Vec<String>,
}

/// A plain HTTP answer from the server.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: HeaderMap,
    /// Parsed JSON; `Value::Null` for an empty body, `Value::String` for a non-JSON body.
    pub body: Value,
}

impl HttpResponse {
    /// All `Set-Cookie` header values.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect()
    }

    /// One header as a string (first value).
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    }
}

/// Finds the session cookie (name ending in `session_token`) among `Set-Cookie` headers and returns
/// `(name, value)`; the value is returned as sent (URL-encoded). A clearing cookie has an empty value.
pub fn find_session_cookie(set_cookies: &[String]) -> Option<(String, String)> {
    set_cookies.iter().find_map(|h| {
        let pair = h.split(';').next()?.trim();
        let (name, value) = pair.split_once('=')?;
        name.ends_with("session_token")
            .then(|| (name.to_owned(), value.to_owned()))
    })
}

/// The `Cookie` header a browser would send after these `Set-Cookie` headers: every cookie with
/// a value, in order (a later copy of a name replaces the earlier one; cleared cookies dropped).
pub fn cookie_header(set_cookies: &[String]) -> String {
    let mut jar: Vec<(String, String)> = Vec::new();
    for h in set_cookies {
        let Some((name, value)) = h.split(';').next().and_then(|p| p.trim().split_once('=')) else {
            continue;
        };
        jar.retain(|(n, _)| n != name);
        if !value.is_empty() {
            jar.push((name.to_owned(), value.to_owned()));
        }
    }
    let pairs: Vec<String> = jar.iter().map(|(n, v)| format!("{n}={v}")).collect();
    pairs.join("; ")
}

/// A running Better Auth server (node child process). Killed on drop.
pub struct BetterAuth {
    child: Child,
    /// Held open so the server exits when this process dies (`BA_EXIT_WITH_STDIN`).
    _stdin: Option<ChildStdin>,
    port: u16,
    opts: BetterAuthOptions,
    origin: Option<String>,
    auth_path: String,
    client: reqwest::Client,
    stderr: Arc<Mutex<VecDeque<String>>>,
}

impl std::fmt::Debug for BetterAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BetterAuth")
            .field("port", &self.port)
            .field("pid", &self.child.id())
            .field("opts", &self.opts)
            .finish()
    }
}

/// Collects the child's stderr: keeps the last lines and echoes them through `eprintln!`
/// (captured by the test harness, shown for failing tests).
fn spawn_stderr_reader(
    stderr: impl Read + Send + 'static,
    pid: u32,
) -> Arc<Mutex<VecDeque<String>>> {
    let tail = Arc::new(Mutex::new(VecDeque::new()));
    let sink = Arc::clone(&tail);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            eprintln!("[better-auth {pid}] {line}");
            let mut tail = sink.lock().unwrap_or_else(|e| e.into_inner());
            if tail.len() == STDERR_TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    });
    tail
}

fn tail_text(tail: &Mutex<VecDeque<String>>) -> String {
    let tail = tail.lock().unwrap_or_else(|e| e.into_inner());
    tail.iter().cloned().collect::<Vec<_>>().join("\n")
}

/// Reads stdout lines and forwards each one parsed as JSON (non-JSON lines are ignored).
fn spawn_stdout_reader(
    stdout: impl Read + Send + 'static,
) -> tokio::sync::mpsc::UnboundedReceiver<Value> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            match serde_json::from_str::<Value>(&line) {
                Ok(v) => {
                    let _ = tx.send(v);
                }
                Err(_) => eprintln!("[better-auth stdout] {line}"),
            }
        }
    });
    rx
}

/// Installs Better Auth if needed, on a blocking thread: `npm ci` takes a while and waits on a lock.
async fn install() {
    match tokio::task::spawn_blocking(|| ensure_installed(&harness_dir())).await {
        Ok(()) => {}
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("installing Better Auth was cancelled: {e}"),
    }
}

async fn spawn(opts: &BetterAuthOptions, what: &str) -> (Child, Arc<Mutex<VecDeque<String>>>) {
    install().await;
    let mut cmd = opts.command();
    let mut child = cmd.spawn().unwrap_or_else(|e| {
        panic!("cannot spawn node for Better Auth ({what}): {e}; {NEED_NODE} (or set BETTER_AUTH_NODE)")
    });
    let stderr = spawn_stderr_reader(child.stderr.take().expect("piped stderr"), child.id());
    (child, stderr)
}

fn exit_text(child: &mut Child) -> String {
    match child.try_wait() {
        Ok(Some(status)) => format!("exited with {status}"),
        Ok(None) => "still running (killed)".to_owned(),
        Err(e) => format!("unknown state: {e}"),
    }
}

/// Waits for the child to exit, up to `timeout`.
async fn wait_exit(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl BetterAuth {
    /// Spawns Better Auth and waits (≤ [`STARTUP_TIMEOUT`]) until it listens.
    ///
    /// Installs the pinned Better Auth first if `tests/betterauth/node_modules` is missing or stale.
    /// Panics — with the tail of node's stderr — when node dies or does not become ready in time,
    /// and naming what to install when node or npm is missing.
    pub async fn start(opts: BetterAuthOptions) -> BetterAuth {
        let (mut child, stderr) = spawn(&opts, "start").await;
        let mut stdout = spawn_stdout_reader(child.stdout.take().expect("piped stdout"));
        let stdin = child.stdin.take();

        let ready = tokio::time::timeout(STARTUP_TIMEOUT, async {
            while let Some(v) = stdout.recv().await {
                if v.get("ready").and_then(Value::as_bool) == Some(true) {
                    return v.get("port").and_then(Value::as_u64);
                }
            }
            None
        })
        .await;

        let port = match ready {
            Ok(Some(port)) => u16::try_from(port).expect("port out of range"),
            Ok(None) => {
                // stdout closed: node died. Give it a moment to be reaped and stderr to drain.
                let status = wait_exit(&mut child, Duration::from_secs(5)).await;
                let _ = child.kill();
                let _ = child.wait();
                tokio::time::sleep(Duration::from_millis(100)).await;
                panic!(
                    "Better Auth server died before becoming ready ({}; options {opts:?}).\n--- node stderr (tail) ---\n{}",
                    status.map_or_else(|| "did not exit".to_owned(), |s| format!("exit {s}")),
                    tail_text(&stderr)
                );
            }
            Err(_) => {
                let state = exit_text(&mut child);
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "Better Auth server not ready after {STARTUP_TIMEOUT:?} ({state}; options {opts:?}).\n--- node stderr (tail) ---\n{}",
                    tail_text(&stderr)
                );
            }
        };

        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("reqwest client");
        BetterAuth {
            child,
            _stdin: stdin,
            port,
            origin: opts.origin(),
            auth_path: opts.auth_path(),
            opts,
            client,
            stderr,
        }
    }

    /// Runs Better Auth's `getMigrations()` on `opts.database` (`BA_MIGRATE_ONLY=1`) and waits for
    /// it to finish (≤ [`STARTUP_TIMEOUT`]). Panics with node's stderr if it fails.
    pub async fn migrate_only(opts: BetterAuthOptions) {
        let opts = opts.env("BA_MIGRATE_ONLY", "1");
        let (mut child, stderr) = spawn(&opts, "migrate").await;
        let mut stdout = spawn_stdout_reader(child.stdout.take().expect("piped stdout"));
        let status = wait_exit(&mut child, STARTUP_TIMEOUT).await;
        let Some(status) = status else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "Better Auth migration did not finish within {STARTUP_TIMEOUT:?} (options {opts:?}).\n--- node stderr (tail) ---\n{}",
                tail_text(&stderr)
            );
        };
        // Let the reader threads drain.
        let migrated = tokio::time::timeout(Duration::from_secs(5), async {
            while let Some(v) = stdout.recv().await {
                if v.get("migrated").and_then(Value::as_bool) == Some(true) {
                    return true;
                }
            }
            false
        })
        .await
        .unwrap_or(false);
        if !status.success() || !migrated {
            tokio::time::sleep(Duration::from_millis(100)).await;
            panic!(
                "Better Auth migration failed (exit {status}, migrated line seen: {migrated}; options {opts:?}).\n--- node stderr (tail) ---\n{}",
                tail_text(&stderr)
            );
        }
    }

    /// The port the server really listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:<port><auth path><path>`, e.g. `auth_url("/get-session")`.
    pub fn auth_url(&self, path: &str) -> String {
        format!("{}{}{}", self.url(), self.auth_path, path)
    }

    /// The options this server was started with.
    pub fn options(&self) -> &BetterAuthOptions {
        &self.opts
    }

    /// The HTTP client used (no cookie store, no redirects).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The node process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The last lines node wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        tail_text(&self.stderr)
    }

    /// Kills the server now (also done on drop) and reaps it.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    async fn read_response(
        &self,
        what: &str,
        resp: reqwest::Result<reqwest::Response>,
    ) -> HttpResponse {
        let resp = resp.unwrap_or_else(|e| {
            panic!(
                "{what}: request to Better Auth failed: {e}\n--- node stderr (tail) ---\n{}",
                self.stderr_tail()
            )
        });
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp
            .text()
            .await
            .unwrap_or_else(|e| panic!("{what}: reading body failed: {e}"));
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        HttpResponse {
            status,
            headers,
            body,
        }
    }

    /// `GET <auth path><path>` with extra headers (e.g. `[("cookie", …)]`, `[("authorization", …)]`).
    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
        let mut req = self.client.get(self.auth_url(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.read_response(&format!("GET {path}"), req.send().await)
            .await
    }

    /// `POST <auth path><path>` with a JSON body, the `Origin` header of `base_url`, and extra headers.
    pub async fn post_json(
        &self,
        path: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> HttpResponse {
        let mut req = self.client.post(self.auth_url(path)).json(body);
        if let Some(origin) = &self.origin {
            req = req.header(ORIGIN, origin);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.read_response(&format!("POST {path}"), req.send().await)
            .await
    }

    fn signed_in(&self, what: &str, resp: HttpResponse) -> SignedIn {
        assert_eq!(
            resp.status,
            200,
            "{what} failed: HTTP {} {}\n--- node stderr (tail) ---\n{}",
            resp.status,
            resp.body,
            self.stderr_tail()
        );
        let set_cookies = resp.set_cookies();
        let (name, cookie_value) = find_session_cookie(&set_cookies)
            .filter(|(_, v)| !v.is_empty())
            .unwrap_or_else(|| panic!("{what}: no session cookie in Set-Cookie {set_cookies:?}"));
        let token = resp.body["token"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: no token in body {}", resp.body))
            .to_owned();
        let user_id = resp.body["user"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: no user.id in body {}", resp.body))
            .to_owned();
        SignedIn {
            token,
            cookie_header: format!("{name}={cookie_value}"),
            cookie_value,
            set_auth_token: resp.header("set-auth-token"),
            user_id,
            body: resp.body,
            set_cookies,
        }
    }

    /// `POST /sign-up/email`; panics unless it answers 200 with a session cookie.
    pub async fn sign_up(&self, email: &str, password: &str, name: &str) -> SignedIn {
        let body = serde_json::json!({ "email": email, "password": password, "name": name });
        let resp = self.post_json("/sign-up/email", &body, &[]).await;
        self.signed_in("sign-up", resp)
    }

    /// `POST /sign-in/email`; panics unless it answers 200 with a session cookie.
    pub async fn sign_in(&self, email: &str, password: &str) -> SignedIn {
        let body = serde_json::json!({ "email": email, "password": password });
        let resp = self.post_json("/sign-in/email", &body, &[]).await;
        self.signed_in("sign-in", resp)
    }

    /// `POST /sign-in/email` with `rememberMe` (false → 1-day session, `dont_remember` cookie).
    pub async fn sign_in_remember_me(
        &self,
        email: &str,
        password: &str,
        remember_me: bool,
    ) -> SignedIn {
        let body =
            serde_json::json!({ "email": email, "password": password, "rememberMe": remember_me });
        let resp = self.post_json("/sign-in/email", &body, &[]).await;
        self.signed_in("sign-in", resp)
    }

    /// `GET /get-session` with `Cookie: <cookie_header>` → (status, body, Set-Cookie headers).
    /// The body is `Value::Null` when there is no valid session.
    pub async fn get_session_cookie(&self, cookie_header: &str) -> (u16, Value, Vec<String>) {
        let r = self.get("/get-session", &[("cookie", cookie_header)]).await;
        (r.status, r.body.clone(), r.set_cookies())
    }

    /// `GET /get-session` with `Authorization: Bearer <bearer_value>` → (status, body, Set-Cookie headers).
    pub async fn get_session_bearer(&self, bearer_value: &str) -> (u16, Value, Vec<String>) {
        let auth = format!("Bearer {bearer_value}");
        let r = self.get("/get-session", &[("authorization", &auth)]).await;
        (r.status, r.body.clone(), r.set_cookies())
    }

    /// `POST /sign-out` with the cookie (and the trusted `Origin`) → status.
    pub async fn sign_out(&self, cookie_header: &str) -> u16 {
        self.post_json(
            "/sign-out",
            &serde_json::json!({}),
            &[("cookie", cookie_header)],
        )
        .await
        .status
    }

    /// `GET /token` (jwt plugin) with the cookie → (status, `body.token`).
    pub async fn token(&self, cookie_header: &str) -> (u16, Option<String>) {
        let r = self.get("/token", &[("cookie", cookie_header)]).await;
        (r.status, r.body["token"].as_str().map(str::to_owned))
    }

    /// `GET /jwks` (jwt plugin); panics unless 200.
    pub async fn jwks(&self) -> Value {
        let r = self.get("/jwks", &[]).await;
        assert_eq!(r.status, 200, "GET /jwks failed: {}", r.body);
        r.body
    }

    async fn test_route(&self, route: &str, jwt: &str) -> Value {
        let url = format!("{}/test/{route}", self.url());
        let resp = self.client.get(url).query(&[("token", jwt)]).send().await;
        let r = self.read_response(route, resp).await;
        assert_eq!(r.status, 200, "/test/{route} failed: {}", r.body);
        r.body
    }

    /// Better Auth's own `auth.api.verifyJWT` → the payload, or `None` when it rejects the token.
    pub async fn verify_jwt_native(&self, jwt: &str) -> Option<Value> {
        let body = self.test_route("verify-jwt", jwt).await;
        match body.get("payload") {
            None | Some(Value::Null) => None,
            Some(p) => Some(p.clone()),
        }
    }

    /// `jose.jwtVerify` against this server's `/jwks` with issuer = audience = the base URL origin →
    /// `{"ok":true,"payload":…,"header":…}` or `{"ok":false,"error":"…"}`.
    pub async fn jose_verify(&self, jwt: &str) -> Value {
        self.test_route("jose-verify", jwt).await
    }
}

impl Drop for BetterAuth {
    fn drop(&mut self) {
        self.stop();
    }
}
