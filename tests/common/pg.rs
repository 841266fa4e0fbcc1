//! A real PostgreSQL for the integration tests.
//!
//! * [`fresh_database`] returns the URL of a brand-new, empty database. The database lives on
//!   one PostgreSQL cluster shared by every test process of this checkout (`cargo test` runs
//!   one process per test binary, `cargo nextest run` one per test). The first process that
//!   needs it starts it; it is left running afterwards so the next run starts instantly;
//!   `scripts/test-pg-stop` stops it. When `DATABASE_URL` holds a `postgres://` URL, the
//!   database is created on that server instead and no cluster is started.
//! * [`PrivateCluster`] is a cluster of its own, for tests in which the database goes away
//!   ([`PrivateCluster::stop`]) and comes back ([`PrivateCluster::start_again`]).
//!   [`PrivateCluster::start_with`] starts one with extra settings, files in its data directory
//!   and its own `pg_hba.conf` (e.g. TLS: tests/pg_tls.rs).
//!
//! The server binaries (`initdb`, `pg_ctl`) are looked up on `PATH`, then in
//! `pg_config --bindir`, then in `/usr/lib/postgresql/<version>/bin`. They refuse to run as
//! root, so when the tests run as root they are run as the `postgres` OS user (`runuser`).
//!
//! Files, under `<target>/tmp/pg-shared` (`env!("CARGO_TARGET_TMPDIR")/pg-shared`):
//!
//! ```text
//! lock              flock(2)ed while a process sets up or starts a cluster
//! port              TCP port of the shared cluster (127.0.0.1)
//! root              the directory holding the postgres-owned directories below: normally
//!                   this directory, a /tmp directory if the postgres user cannot reach it
//! <root>/template   pristine initdb output; every cluster is a copy of it (initdb runs once)
//! <root>/data       the shared cluster; its server log is data/server.log
//! <root>/private-*  PrivateCluster directories (removed on drop)
//! ```
#![allow(dead_code)] // every test binary that declares `mod common` compiles all of this

use std::fs::{self, File};
use std::hash::{BuildHasher, RandomState};
use std::io::ErrorKind;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use sqlx::{Connection, PgConnection};

/// Prefix of every database made by [`fresh_database`]; leftovers with this prefix are dropped
/// when the shared cluster is (re)started.
const DB_PREFIX: &str = "bag_test_";

const MISSING_BINARIES: &str = "PostgreSQL server binaries not found: install postgresql \
     (apt-get install postgresql) or set DATABASE_URL";

/// URL of a brand-new, empty database with a unique name.
///
/// On the server named by `DATABASE_URL` if that is a `postgres://`/`postgresql://` URL
/// (created through that server's `postgres` maintenance database), otherwise on the shared
/// test cluster, which is started first if needed.
pub async fn fresh_database() -> String {
    if let Some(server) = external_server_url() {
        return create_database(&server).await;
    }
    let port = shared_cluster_port().await;
    create_database(&local_url(port, "postgres")).await
}

/// What [`PrivateCluster::start_with`] adds to a copy of the template before starting it.
#[derive(Default)]
pub struct ClusterSetup {
    /// Lines appended to `postgresql.conf` (`name = 'value'`); relative paths in them are
    /// relative to the data directory.
    pub settings: Vec<(String, String)>,
    /// Files written into the data directory, owned by the server's user with mode 0600 (what
    /// PostgreSQL demands of `ssl_key_file`).
    pub files: Vec<(String, Vec<u8>)>,
    /// The whole `pg_hba.conf`, replacing initdb's (which trusts every local connection).
    pub hba: Option<String>,
}

/// A PostgreSQL cluster owned by one test: its own data directory and port.
///
/// Stopped (`pg_ctl stop -m immediate`) and its directory removed on drop.
pub struct PrivateCluster {
    dir: Option<tempfile::TempDir>,
    data: PathBuf,
    port: u16,
    running: AtomicBool,
}

impl PrivateCluster {
    /// Creates a new cluster (a copy of the shared initdb template) and starts it on a free port.
    pub async fn start() -> Self {
        Self::start_with(ClusterSetup::default()).await
    }

    /// Like [`PrivateCluster::start`], with `setup` applied to the data directory first.
    pub async fn start_with(setup: ClusterSetup) -> Self {
        blocking(move || Self::start_blocking(&setup)).await
    }

    fn start_blocking(setup: &ClusterSetup) -> Self {
        let started = Instant::now();
        let state = state_dir();
        let root = {
            let _lock = lock_state(&state);
            let root = cluster_root(&state);
            ensure_template(&root);
            root
        };
        let dir = tempfile::Builder::new()
            .prefix("private-")
            .tempdir_in(&root)
            .unwrap_or_else(|e| panic!("cannot create a directory in {}: {e}", root.display()));
        chown_to_postgres(dir.path());
        let data = dir.path().join("data");
        copy_template(&root, &data);
        apply_setup(&data, setup);
        let port = start_on_some_port(&data, None)
            .unwrap_or_else(|e| panic!("cannot start a private PostgreSQL cluster: {e}"));
        eprintln!(
            "pg: private cluster on port {port} ready in {:?} ({})",
            started.elapsed(),
            data.display()
        );
        PrivateCluster {
            dir: Some(dir),
            data,
            port,
            running: AtomicBool::new(true),
        }
    }

    /// The TCP port the cluster listens on (127.0.0.1); it stays the same across restarts.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// URL of database `db` on this cluster (user `postgres`, trust authentication).
    pub fn url(&self, db: &str) -> String {
        local_url(self.port, db)
    }

    /// What the server has logged so far (its `server.log`).
    pub fn server_log(&self) -> String {
        fs::read_to_string(self.data.join("server.log")).unwrap_or_default()
    }

    /// URL of a brand-new, empty database on this cluster.
    pub async fn fresh_database(&self) -> String {
        create_database(&self.url("postgres")).await
    }

    /// Kills the server abruptly (`pg_ctl stop -m immediate`): connections are cut, new ones
    /// are refused. Committed data survives. Does nothing if it is already stopped.
    pub async fn stop(&self) {
        if !self.running.swap(false, Ordering::SeqCst) {
            return;
        }
        let data = self.data.clone();
        blocking(move || {
            if let Err(e) = pg_ctl_stop(&data, "immediate") {
                panic!("cannot stop the private PostgreSQL cluster: {e}");
            }
        })
        .await;
    }

    /// Starts the server again on the same port with the same data. Does nothing if it runs.
    pub async fn start_again(&self) {
        if self.running.load(Ordering::SeqCst) {
            return;
        }
        let (data, port) = (self.data.clone(), self.port);
        blocking(move || {
            // The port was ours a moment ago; if something grabbed it meanwhile, wait a little.
            let mut last_error = String::new();
            for _ in 0..10 {
                match pg_ctl_start(&data, port) {
                    Ok(()) => return,
                    Err(e) => last_error = e,
                }
                std::thread::sleep(Duration::from_millis(300));
            }
            panic!("cannot restart the private PostgreSQL cluster on port {port}: {last_error}");
        })
        .await;
        self.running.store(true, Ordering::SeqCst);
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        if self.running.swap(false, Ordering::SeqCst) {
            if let Err(e) = pg_ctl_stop(&self.data, "immediate") {
                eprintln!("pg: could not stop the private cluster: {e}");
            }
        }
        if let Some(dir) = self.dir.take() {
            let _ = dir.close();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Shared cluster

/// Port of the shared cluster, started (once per process, and once across processes) if needed.
async fn shared_cluster_port() -> u16 {
    // futures' Mutex, not std's: it is held across awaits, by tests on different runtimes.
    static PORT: futures::lock::Mutex<Option<u16>> = futures::lock::Mutex::new(None);
    let mut port = PORT.lock().await;
    if let Some(port) = *port {
        return port;
    }
    let (lock, found, started) = blocking(ensure_shared_cluster).await;
    if started {
        // Nobody can be using databases left over from before the (re)start: drop them, while
        // still holding the lock so no other process creates one in the meantime.
        drop_leftover_databases(found).await;
    }
    drop(lock);
    *port = Some(found);
    found
}

/// Makes sure the shared cluster runs. Returns the held lock, the port, and whether it was
/// started by this call.
fn ensure_shared_cluster() -> (File, u16, bool) {
    let began = Instant::now();
    let state = state_dir();
    let lock = lock_state(&state);
    let root = cluster_root(&state);
    let data = root.join("data");
    let port_file = state.join("port");
    let recorded_port = fs::read_to_string(&port_file)
        .ok()
        .and_then(|s| s.trim().parse::<u16>().ok());

    if data.join("PG_VERSION").is_file() {
        if pg_ctl_running(&data) {
            if let Some(port) = recorded_port.filter(|&p| accepts_connections(p)) {
                return (lock, port, false);
            }
            // Not where the port file says: restart it on a known port.
            let _ = pg_ctl_stop(&data, "fast");
        }
    } else {
        ensure_template(&root);
        install_copy_of_template(&root, &data);
    }

    let write_port = |port: u16| {
        fs::write(&port_file, format!("{port}\n"))
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", port_file.display()));
    };
    let port = match start_on_some_port_with(&data, recorded_port, write_port) {
        Ok(port) => port,
        Err(first_error) => {
            // A data directory broken by a crash (fsync is off) is not worth keeping: start over.
            eprintln!("pg: shared cluster would not start ({first_error}); recreating it");
            let _ = pg_ctl_stop(&data, "immediate");
            ensure_template(&root);
            install_copy_of_template(&root, &data);
            start_on_some_port_with(&data, None, write_port)
                .unwrap_or_else(|e| panic!("cannot start the shared PostgreSQL cluster: {e}"))
        }
    };
    eprintln!(
        "pg: shared cluster on port {port} started in {:?} ({})",
        began.elapsed(),
        data.display()
    );
    (lock, port, true)
}

async fn drop_leftover_databases(port: u16) {
    let result: Result<(), sqlx::Error> = async {
        let mut conn = PgConnection::connect(&local_url(port, "postgres")).await?;
        let names: Vec<String> =
            sqlx::query_scalar("SELECT datname FROM pg_database WHERE starts_with(datname, $1)")
                .bind(DB_PREFIX)
                .fetch_all(&mut conn)
                .await?;
        for name in names {
            sqlx::raw_sql(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_ident(&name)
            ))
            .execute(&mut conn)
            .await?;
        }
        conn.close().await
    }
    .await;
    if let Err(e) = result {
        eprintln!("pg: could not drop leftover test databases: {e}");
    }
}

// ---------------------------------------------------------------------------------------------
// Databases

fn external_server_url() -> Option<String> {
    let url = std::env::var("DATABASE_URL").ok()?;
    let url = url.trim();
    (url.starts_with("postgres://") || url.starts_with("postgresql://")).then(|| url.to_owned())
}

fn local_url(port: u16, db: &str) -> String {
    format!("postgres://postgres@127.0.0.1:{port}/{db}")
}

/// Creates a uniquely named database on the server of `server_url` and returns its URL.
async fn create_database(server_url: &str) -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        "{DB_PREFIX}{}_{}_{:08x}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed),
        random_u64() as u32
    );
    let mut conn = connect_maintenance(server_url).await;
    sqlx::raw_sql(&format!("CREATE DATABASE {}", quote_ident(&name)))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "cannot create database {name} on {}: {e}",
                redact(server_url)
            )
        });
    let _ = conn.close().await;
    with_database(server_url, &name)
}

async fn connect_maintenance(server_url: &str) -> PgConnection {
    let mut errors = Vec::new();
    for db in ["postgres", "template1"] {
        match PgConnection::connect(&with_database(server_url, db)).await {
            Ok(conn) => return conn,
            Err(e) => errors.push(format!("{db}: {e}")),
        }
    }
    panic!(
        "cannot connect to PostgreSQL at {}: {}",
        redact(server_url),
        errors.join("; ")
    );
}

/// `url` with its database (path) replaced by `db`, query string kept.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url.split_at(url.find('?').unwrap_or(url.len()));
    let authority = base.find("://").map_or(0, |i| i + 3);
    let end = base[authority..]
        .find('/')
        .map_or(base.len(), |i| authority + i);
    format!("{}/{db}{query}", &base[..end])
}

/// `url` without its password, for messages.
fn redact(url: &str) -> String {
    let authority = url.find("://").map_or(0, |i| i + 3);
    let end = url[authority..]
        .find(['/', '?'])
        .map_or(url.len(), |i| authority + i);
    match url[authority..end].rfind('@') {
        Some(at) => {
            let userinfo = &url[authority..authority + at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}:***{}",
                    &url[..authority + colon],
                    &url[authority + at..]
                ),
                None => url.to_owned(),
            }
        }
        None => url.to_owned(),
    }
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

// ---------------------------------------------------------------------------------------------
// Directories, lock, template

/// `<target>/tmp/pg-shared`, created if needed.
fn state_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pg-shared");
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// Exclusive lock on `<state>/lock`. Blocks: call it off the async runtime's threads.
fn lock_state(state: &Path) -> File {
    super::files::exclusive_lock(&state.join("lock"))
}

/// The directory holding the postgres-owned directories (see the module docs). Call with the
/// lock held.
fn cluster_root(state: &Path) -> PathBuf {
    let record = state.join("root");
    if let Ok(recorded) = fs::read_to_string(&record) {
        let recorded = PathBuf::from(recorded.trim_end_matches('\n'));
        if recorded.is_dir() {
            return recorded;
        }
    }
    let root = if postgres_can_write_in(state) {
        state.to_owned()
    } else {
        // Some directory above the target dir is closed to the postgres user.
        let dir = tempfile::Builder::new()
            .prefix("better-auth-grpc-pg-")
            .permissions(fs::Permissions::from_mode(0o755))
            .tempdir_in("/tmp")
            .unwrap_or_else(|e| panic!("cannot create a directory in /tmp: {e}"))
            .keep();
        assert!(
            postgres_can_write_in(&dir),
            "the postgres user can use neither {} nor {}",
            state.display(),
            dir.display()
        );
        dir
    };
    fs::write(&record, format!("{}\n", root.display()))
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", record.display()));
    root
}

/// Whether the postgres user can create files in a postgres-owned directory made in `dir`.
fn postgres_can_write_in(dir: &Path) -> bool {
    if !is_root() {
        return true;
    }
    let probe = dir.join("probe.tmp");
    remove_dir_if_exists(&probe);
    fs::create_dir(&probe).unwrap_or_else(|e| panic!("cannot create {}: {e}", probe.display()));
    chown_to_postgres(&probe);
    let ok = as_postgres(Path::new("test"))
        .arg("-w")
        .arg(&probe)
        .status()
        .is_ok_and(|s| s.success());
    remove_dir_if_exists(&probe);
    ok
}

/// Runs initdb into `<root>/template` unless it is there. Call with the lock held.
fn ensure_template(root: &Path) {
    let template = root.join("template");
    if template.join("PG_VERSION").is_file() {
        return;
    }
    let began = Instant::now();
    remove_dir_if_exists(&template);
    let scratch = root.join("template.tmp");
    let mut failures = Vec::new();
    // C.UTF-8 gives Unicode-aware upper()/lower(); plain C exists everywhere.
    for locale in ["C.UTF-8", "C"] {
        remove_dir_if_exists(&scratch);
        fs::create_dir(&scratch)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", scratch.display()));
        chown_to_postgres(&scratch);
        let out = output(
            as_postgres(&pg_bins().initdb)
                .arg("-D")
                .arg(&scratch)
                .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
                .arg(format!("--locale={locale}")),
        );
        if out.status.success() {
            fs::rename(&scratch, &template).unwrap_or_else(|e| {
                panic!(
                    "cannot rename {} to {}: {e}",
                    scratch.display(),
                    template.display()
                )
            });
            eprintln!("pg: initdb took {:?}", began.elapsed());
            return;
        }
        failures.push(format!("--locale={locale}: {}", describe(&out)));
    }
    remove_dir_if_exists(&scratch);
    panic!("initdb failed: {}", failures.join("\n"));
}

/// Writes `setup`'s files, settings and `pg_hba.conf` into the stopped cluster in `data`.
fn apply_setup(data: &Path, setup: &ClusterSetup) {
    for (name, contents) in &setup.files {
        write_private(&data.join(name), contents);
    }
    if let Some(hba) = &setup.hba {
        write_private(&data.join("pg_hba.conf"), hba.as_bytes());
    }
    if setup.settings.is_empty() {
        return;
    }
    let conf = data.join("postgresql.conf");
    let mut text =
        fs::read_to_string(&conf).unwrap_or_else(|e| panic!("cannot read {}: {e}", conf.display()));
    for (name, value) in &setup.settings {
        text.push_str(&format!("\n{name} = '{}'", value.replace('\'', "''")));
    }
    text.push('\n');
    write_private(&conf, text.as_bytes());
}

/// Writes `path` readable by the server's user only (mode 0600, owner postgres when root).
fn write_private(path: &Path, contents: &[u8]) {
    fs::write(path, contents).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))
        .unwrap_or_else(|e| panic!("cannot chmod {}: {e}", path.display()));
    chown_to_postgres(path);
}

/// Copies the template to `dest` (which must not exist).
fn copy_template(root: &Path, dest: &Path) {
    // cp -a keeps the owner (postgres) and the 0700 mode PostgreSQL insists on.
    let out = output(
        Command::new("cp")
            .arg("-a")
            .arg(root.join("template"))
            .arg(dest),
    );
    assert!(
        out.status.success(),
        "cannot copy the PostgreSQL template to {}: {}",
        dest.display(),
        describe(&out)
    );
}

/// Copies the template to `dest` atomically (through a scratch directory and a rename).
fn install_copy_of_template(root: &Path, dest: &Path) {
    let scratch = dest.with_extension("tmp");
    remove_dir_if_exists(&scratch);
    remove_dir_if_exists(dest);
    copy_template(root, &scratch);
    fs::rename(&scratch, dest).unwrap_or_else(|e| {
        panic!(
            "cannot rename {} to {}: {e}",
            scratch.display(),
            dest.display()
        )
    });
}

fn remove_dir_if_exists(dir: &Path) {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != ErrorKind::NotFound => {
            panic!("cannot remove {}: {e}", dir.display())
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// pg_ctl

/// Starts the cluster in `data` on `preferred` if it is free, else on some free port, retrying
/// with other ports if one turns out to be taken. Returns the port.
fn start_on_some_port(data: &Path, preferred: Option<u16>) -> Result<u16, String> {
    start_on_some_port_with(data, preferred, |_| {})
}

fn start_on_some_port_with(
    data: &Path,
    preferred: Option<u16>,
    before_start: impl Fn(u16),
) -> Result<u16, String> {
    let mut errors = Vec::new();
    let mut candidate = preferred.filter(|&p| port_is_free(p));
    for _ in 0..4 {
        let port = candidate.take().unwrap_or_else(pick_free_port);
        before_start(port);
        match pg_ctl_start(data, port) {
            Ok(()) => return Ok(port),
            Err(e) => errors.push(format!("port {port}: {e}")),
        }
    }
    Err(errors.join("\n"))
}

fn pg_ctl_start(data: &Path, port: u16) -> Result<(), String> {
    forget_dead_postmaster(data);
    let log = data.join("server.log");
    let options = format!(
        "-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} \
         -c fsync=off -c max_connections=300",
        socket_dir(data, port)
    );
    let out = output(
        as_postgres(&pg_bins().pg_ctl)
            .arg("start")
            .arg("-D")
            .arg(data)
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "60", "-o", &options]),
    );
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "{}\n--- last lines of {} ---\n{}",
        describe(&out),
        log.display(),
        tail(&log, 15)
    ))
}

fn pg_ctl_stop(data: &Path, mode: &str) -> Result<(), String> {
    let out = output(
        as_postgres(&pg_bins().pg_ctl)
            .arg("stop")
            .arg("-D")
            .arg(data)
            .args(["-m", mode, "-w", "-t", "60"]),
    );
    if out.status.success() {
        Ok(())
    } else {
        Err(describe(&out))
    }
}

fn pg_ctl_running(data: &Path) -> bool {
    forget_dead_postmaster(data);
    // Exit status 0: running; 3: not running; 4: no usable data directory.
    output(
        as_postgres(&pg_bins().pg_ctl)
            .arg("status")
            .arg("-D")
            .arg(data),
    )
    .status
    .success()
}

/// Removes `postmaster.pid` if its postmaster is a zombie: killed but not yet reaped (the init
/// of some containers reaps late). Its pid still exists, which makes `pg_ctl status` report it
/// running, and a new postmaster refuse to start.
fn forget_dead_postmaster(data: &Path) {
    let pid_file = data.join("postmaster.pid");
    let Some(pid) = fs::read_to_string(&pid_file)
        .ok()
        .and_then(|s| s.lines().next()?.trim().parse::<u32>().ok())
    else {
        return;
    };
    // /proc/<pid>/stat is "<pid> (<name>) <state> ..."; the name may contain spaces and ')'.
    let zombie = fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
    });
    if zombie {
        let _ = fs::remove_file(&pid_file);
    }
}

fn accepts_connections(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(2))
        .is_ok()
}

/// The data directory when the socket path fits (108 bytes) and needs no quoting in pg_ctl's
/// `-o` (it goes through a shell), else /tmp. Clients here use TCP; the socket is for psql.
fn socket_dir(data: &Path, port: u16) -> String {
    let dir = data.to_string_lossy();
    let plain = dir
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c));
    if plain && dir.len() + format!("/.s.PGSQL.{port}").len() < 100 {
        dir.into_owned()
    } else {
        "/tmp".to_owned()
    }
}

/// A port free on 127.0.0.1, preferably below Linux's ephemeral range (32768+) so that no
/// outgoing connection takes it while a cluster is down between `stop` and `start_again`.
fn pick_free_port() -> u16 {
    for _ in 0..50 {
        let port = 16384 + (random_u64() % 16384) as u16;
        if port_is_free(port) {
            return port;
        }
    }
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("cannot find a free TCP port: {e}"))
}

fn port_is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

// ---------------------------------------------------------------------------------------------
// Processes

struct PgBins {
    initdb: PathBuf,
    pg_ctl: PathBuf,
}

fn pg_bins() -> &'static PgBins {
    static BINS: OnceLock<Option<PgBins>> = OnceLock::new();
    BINS.get_or_init(find_pg_bins)
        .as_ref()
        .unwrap_or_else(|| panic!("{MISSING_BINARIES}"))
}

fn find_pg_bins() -> Option<PgBins> {
    let in_dir = |dir: &Path| {
        let (initdb, pg_ctl) = (dir.join("initdb"), dir.join("pg_ctl"));
        (is_executable(&initdb) && is_executable(&pg_ctl)).then_some(PgBins { initdb, pg_ctl })
    };
    // 1. PATH
    let path = std::env::var_os("PATH").unwrap_or_default();
    let on_path = |name: &str| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| is_executable(p))
    };
    if let (Some(initdb), Some(pg_ctl)) = (on_path("initdb"), on_path("pg_ctl")) {
        return Some(PgBins { initdb, pg_ctl });
    }
    // 2. pg_config --bindir
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        if out.status.success() {
            let dir = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            if let Some(bins) = in_dir(Path::new(&dir)) {
                return Some(bins);
            }
        }
    }
    // 3. Debian/Ubuntu layout, newest version first.
    let mut versions: Vec<(Vec<u32>, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let version = name.split('.').map(|n| n.parse().unwrap_or(0)).collect();
            (version, entry.path().join("bin"))
        })
        .collect();
    versions.sort();
    versions.iter().rev().find_map(|(_, dir)| in_dir(dir))
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn is_root() -> bool {
    static ROOT: OnceLock<bool> = OnceLock::new();
    *ROOT.get_or_init(|| {
        Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
    })
}

/// `program` run as the postgres OS user when we are root (initdb and pg_ctl refuse root),
/// as ourselves otherwise.
fn as_postgres(program: &Path) -> Command {
    let mut command = if is_root() {
        assert!(
            Command::new("id")
                .args(["-u", "postgres"])
                .output()
                .is_ok_and(|out| out.status.success()),
            "running as root, PostgreSQL must run as the `postgres` OS user, which does not \
             exist: install postgresql (apt-get install postgresql), create the user, or set \
             DATABASE_URL"
        );
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    };
    // The postgres user may not be able to enter our working directory.
    command.current_dir("/");
    command
}

fn chown_to_postgres(path: &Path) {
    if !is_root() {
        return;
    }
    let out = output(Command::new("chown").arg("postgres:").arg(path));
    assert!(
        out.status.success(),
        "cannot chown {} to postgres: {}",
        path.display(),
        describe(&out)
    );
}

fn output(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"))
}

fn describe(out: &Output) -> String {
    format!(
        "{}: {} {}",
        out.status,
        String::from_utf8_lossy(&out.stdout).trim(),
        String::from_utf8_lossy(&out.stderr).trim()
    )
}

fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn random_u64() -> u64 {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    RandomState::new().hash_one((
        SystemTime::now(),
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed),
    ))
}

/// Runs blocking work (processes, the file lock) off the async runtime's threads.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(work).await {
        Ok(value) => value,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}
